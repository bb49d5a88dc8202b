package org.advmia.nn;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Seeded parameter initialisation: the same seed gives the same weights. The distributions are
 * PyTorch's defaults (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * for conv and linear layers), so freshly built models train like their PyTorch twins.
 */
public final class Init {
    private final DType dtype;
    private final Generator generator;

    public Init(long seed, DType dtype) {
        this.dtype = dtype;
        this.generator = new Generator(seed);
    }

    public static Init seeded(long seed) {
        return new Init(seed, DType.FLOAT32);
    }

    public DType dtype() {
        return dtype;
    }

    public Generator generator() {
        return generator;
    }

    /** A new seed for a component (e.g. a Dropout layer's stream), drawn deterministically. */
    public long childSeed() {
        Backend b = Backends.defaultBackend();
        Tensor t = b.empty(DType.FLOAT64, Shape.of(1));
        generator.uniform(t, 0, 1);
        double u = Backends.toDoubleArray(t)[0];
        t.close();
        return (long) (u * (1L << 52));
    }

    public Tensor uniform(double bound, long... shape) {
        Tensor t = Backends.defaultBackend().empty(dtype, Shape.of(shape));
        generator.uniform(t, -bound, bound);
        return t;
    }

    public Tensor normal(double std, long... shape) {
        Tensor t = Backends.defaultBackend().empty(dtype, Shape.of(shape));
        generator.normal(t, 0, std);
        return t;
    }

    public Tensor constant(double value, long... shape) {
        Backend b = Backends.defaultBackend();
        Tensor t = b.empty(dtype, Shape.of(shape));
        b.fill(t, value);
        return t;
    }

    /** Kaiming-normal with fan-out and ReLU gain (torchvision's ResNet convolution init). */
    public Tensor kaimingNormalFanOut(long... shape) {
        long fanOut = shape[0];
        for (int i = 2; i < shape.length; i++) fanOut *= shape[i];
        return normal(Math.sqrt(2.0 / fanOut), shape);
    }
}
