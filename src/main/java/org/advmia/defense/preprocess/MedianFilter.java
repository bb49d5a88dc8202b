package org.advmia.defense.preprocess;

import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.Tensor;

/**
 * Median filtering (spatial smoothing, Xu et al. NDSS 2018): a k x k median per channel with
 * reflect-101 borders. Non-differentiable almost everywhere: evaluated with BPDA.
 */
public final class MedianFilter implements InputTransform {
    private final int kernel;

    public MedianFilter(int kernel) {
        if (kernel < 1 || kernel % 2 == 0) throw new IllegalArgumentException("median filter size must be odd, got " + kernel);
        this.kernel = kernel;
    }

    @Override
    public String name() {
        return "median-" + kernel + "x" + kernel;
    }

    @Override
    public boolean differentiable() {
        return false;
    }

    @Override
    public boolean random() {
        return false;
    }

    @Override
    public Variable apply(Variable x, Generator gen) {
        Backend b = Backends.of(x.value());
        Tensor y = b.empty(x.dtype(), x.shape());
        b.medianFilter(x.value(), kernel, y);
        return Variable.constant(y);
    }
}
