package org.advmia.defense.preprocess;

import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.Tensor;

/**
 * Bit-depth reduction ("feature squeezing", Xu, Evans and Qi, NDSS 2018): quantise [0, 1] pixels
 * to 2^bits levels, round(x (2^b - 1)) / (2^b - 1). Non-differentiable: evaluated with BPDA.
 */
public final class BitDepthReduction implements InputTransform {
    private final int bits;

    public BitDepthReduction(int bits) {
        if (bits < 1 || bits > 16) throw new IllegalArgumentException("bit depth must be 1..16, got " + bits);
        this.bits = bits;
    }

    @Override
    public String name() {
        return "bit-depth-" + bits;
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
        double levels = (1 << bits) - 1;
        Tensor y = b.empty(x.dtype(), x.shape());
        b.unary(UnaryOp.AFFINE, x.value(), y, levels, 0);
        b.unary(UnaryOp.ROUND, y, y, 0, 0);
        b.unary(UnaryOp.AFFINE, y, y, 1 / levels, 0);
        b.unary(UnaryOp.CLAMP, y, y, 0, 1);
        return Variable.constant(y);
    }
}
