package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;

/** torch.nn.Upsample with an integer scale factor, nearest or bilinear. */
public final class Upsample extends Module {
    public final int scale;
    public final boolean bilinear, alignCorners;

    public Upsample(int scale, boolean bilinear, boolean alignCorners) {
        if (scale <= 0) throw new IllegalArgumentException("Upsample: scale must be positive, got " + scale);
        this.scale = scale;
        this.bilinear = bilinear;
        this.alignCorners = alignCorners;
    }

    @Override
    public Variable forward(Variable x) {
        return NnOps.upsample(x, x.shape().dim(2) * scale, x.shape().dim(3) * scale, bilinear, alignCorners);
    }
}
