package org.advmia.defense.preprocess;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Randomisation defense after Xie et al., "Mitigating Adversarial Effects Through Randomization",
 * ICLR 2018: resize the batch to a random size in [minScale, 1] of the original (bilinear), then
 * zero-pad it back at a random offset. Differentiable but random: evaluated with EOT.
 */
public final class RandomResizePadding implements InputTransform {
    private final double minScale;

    public RandomResizePadding(double minScale) {
        if (!(minScale > 0 && minScale <= 1)) throw new IllegalArgumentException("min scale must be in (0, 1], got " + minScale);
        this.minScale = minScale;
    }

    @Override
    public String name() {
        return "random-resize-pad-" + minScale;
    }

    @Override
    public boolean differentiable() {
        return true;
    }

    @Override
    public boolean random() {
        return true;
    }

    @Override
    public Variable apply(Variable x, Generator gen) {
        Backend b = Backends.of(x.value());
        long h = x.shape().dim(2), w = x.shape().dim(3);
        Tensor u = b.empty(DType.FLOAT64, Shape.of(3));
        gen.uniform(u, 0, 1);
        double[] r = Backends.toDoubleArray(u);
        long nh = Math.max(1, Math.round(h * (minScale + (1 - minScale) * r[0])));
        long nw = Math.max(1, Math.round(w * (minScale + (1 - minScale) * r[0])));
        long top = (long) Math.floor(r[1] * (h - nh + 1)), left = (long) Math.floor(r[2] * (w - nw + 1));
        Variable small = NnOps.upsample(x, nh, nw, true, false);
        // Zero-pad by concatenating zero blocks: rows, then columns.
        Variable rows = padAxis(small, 2, top, h - nh - top, b);
        return padAxis(rows, 3, left, w - nw - left, b);
    }

    private static Variable padAxis(Variable v, int axis, long before, long after, Backend b) {
        if (before == 0 && after == 0) return v;
        java.util.List<Variable> parts = new java.util.ArrayList<>();
        if (before > 0) parts.add(zeros(v, axis, before, b));
        parts.add(v);
        if (after > 0) parts.add(zeros(v, axis, after, b));
        return Ops.cat(axis, parts.toArray(new Variable[0]));
    }

    private static Variable zeros(Variable like, int axis, long extent, Backend b) {
        Tensor t = b.empty(like.dtype(), like.shape().withDim(axis, extent));
        b.fill(t, 0);
        return Variable.constant(t);
    }
}
