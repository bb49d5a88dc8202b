package org.advmia.nn.models;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.Sequential;

/**
 * SegNet (Badrinarayanan et al. 2017): a VGG16-BN encoder of five stages (2, 2, 3, 3, 3 units of
 * 3x3 conv with bias, BN, ReLU; widths base * {1, 2, 4, 8, 8}), each ending in a 2x2 max pool
 * whose argmax indices the mirrored decoder stage uses to max-unpool. The last decoder stage of
 * each level narrows to the next level's width; the very last unit is a bare conv to the class
 * count. Names: encS.J.{conv, bn} and decS.J.{conv, bn} (S = 1..5, J from 0), except the final
 * dec1.1.conv which has no bn. Registration (and state-dict) order: enc1..enc5, dec5..dec1.
 * Output [N, classes, H, W]; inputs must be at least 32x32 (five halvings).
 */
public final class SegNet extends Model {
    private static final int[] UNITS = {2, 2, 3, 3, 3};

    private final Sequential[] enc = new Sequential[5], dec = new Sequential[5];

    public SegNet(int inChannels, int classes, int base, Init init) {
        super("segnet", inChannels, classes, Task.SEGMENTATION);
        if (base <= 0) throw new IllegalArgumentException("segnet: base width must be positive, got " + base);
        int[] ch = {base, 2 * base, 4 * base, 8 * base, 8 * base};
        int prev = inChannels;
        for (int s = 0; s < 5; s++) {
            enc[s] = register("enc" + (s + 1), new Sequential());
            for (int j = 0; j < UNITS[s]; j++) {
                enc[s].add(new ConvUnit(prev, ch[s], true, init));
                prev = ch[s];
            }
        }
        for (int s = 4; s >= 0; s--) {
            dec[s] = register("dec" + (s + 1), new Sequential());
            for (int j = 0; j < UNITS[s]; j++) {
                boolean last = j == UNITS[s] - 1;
                if (!last) dec[s].add(new ConvUnit(ch[s], ch[s], true, init));
                else if (s > 0) dec[s].add(new ConvUnit(ch[s], ch[s - 1], true, init));
                else dec[s].add(new ConvUnit(ch[s], classes, false, init));
            }
        }
    }

    public SegNet(int inChannels, int classes, Init init) {
        this(inChannels, classes, 64, init);
    }

    @Override
    public Variable forward(Variable x) {
        if (x.shape().dim(2) < 32 || x.shape().dim(3) < 32) {
            throw new IllegalArgumentException("segnet: input " + x.shape()
                    + " is too small (five 2x2 poolings need >= 32x32)");
        }
        Variable[] indices = new Variable[5];
        long[][] sizes = new long[5][];
        Variable h = x;
        for (int s = 0; s < 5; s++) {
            h = enc[s].forward(h);
            // Unpooling restores the pre-pool size exactly, including the row/column an odd size loses.
            sizes[s] = new long[] {h.shape().dim(2), h.shape().dim(3)};
            Variable[] pooled = NnOps.maxPool2dWithIndices(h, 2, 2, 0, false);
            h = pooled[0];
            indices[s] = pooled[1];
        }
        for (int s = 4; s >= 0; s--) {
            h = NnOps.maxUnpool2d(h, indices[s], Math.toIntExact(sizes[s][0]), Math.toIntExact(sizes[s][1]));
            h = dec[s].forward(h);
        }
        return h;
    }

    /** conv 3x3 (padding 1, bias) then BN and ReLU; without `bn` just the conv (the classifier). */
    static final class ConvUnit extends Module {
        private final Conv2d conv;
        private final BatchNorm2d bn;

        ConvUnit(int in, int out, boolean bnRelu, Init init) {
            conv = register("conv", new Conv2d(in, out, 3, 1, 1, 1, 1, true, init));
            bn = bnRelu ? register("bn", new BatchNorm2d(out, init)) : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable h = conv.forward(x);
            return bn == null ? h : Ops.relu(bn.forward(h));
        }
    }
}
