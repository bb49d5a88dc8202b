package org.advmia.bench.jmh;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.Generator;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Shared helpers of the JMH kernel benchmarks. Shapes travel as JMH parameters of the form
 * {@code label:a:b:...} so that benchmarks/python/kernels_report.py can compute GFLOP/s and GB/s
 * from the same string the benchmark ran.
 */
final class KernelShapes {
    private KernelShapes() {}

    /** The numbers after the label: "resnet18.layer2.0.conv1:64:64:32:32:128:3:2:1:1" -> [64, 64, ...]. */
    static long[] dims(String param, int expected) {
        String[] parts = param.split(":");
        if (parts.length != expected + 1) {
            throw new IllegalArgumentException("benchmark parameter '" + param + "': expected a label and " + expected
                    + " numbers separated by ':'");
        }
        long[] d = new long[expected];
        for (int i = 0; i < expected; i++) d[i] = Long.parseLong(parts[i + 1]);
        return d;
    }

    /** "label:n:c:h:w:cout:k:stride:pad:groups" as a convolution geometry (square kernels, no dilation). */
    static ConvGeometry conv(String param) {
        long[] d = dims(param, 9);
        return new ConvGeometry(d[0], d[1], d[2], d[3], d[4], d[5], d[5], d[6], d[6], d[7], d[7], 1, 1, d[8]);
    }

    /** A kept float32 tensor of uniform values in [lo, hi); the caller closes it. */
    static Tensor uniform(long seed, double lo, double hi, long... shape) {
        Backend be = Backends.defaultBackend();
        Tensor t = be.empty(DType.FLOAT32, Shape.of(shape)).keep();
        new Generator(seed).uniform(t, lo, hi);
        return t;
    }

    /** A kept float32 tensor of class labels i mod classes. */
    static Tensor labels(long n, int classes) {
        Backend be = Backends.defaultBackend();
        float[] l = new float[(int) n];
        for (int i = 0; i < n; i++) l[i] = i % classes;
        Tensor t = be.empty(DType.FLOAT32, Shape.of(n)).keep();
        be.copyFromHost(l, t);
        return t;
    }

    static void close(Tensor... ts) {
        for (Tensor t : ts) if (t != null) t.close();
    }
}
