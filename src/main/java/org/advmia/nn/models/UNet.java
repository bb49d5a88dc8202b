package org.advmia.nn.models;

import java.util.ArrayList;
import java.util.List;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Activation;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Conv2d;
import org.advmia.nn.ConvTranspose2d;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.Pool2d;
import org.advmia.nn.Sequential;
import org.advmia.tensor.Tensor;

/**
 * U-Net (Ronneberger et al. 2015) in the widely used milesial/Pytorch-UNet layout with transposed
 * convolutions (bilinear=False) and BN: widths base * {1, 2, 4, 8, 16}, four 2x2 max-pool levels,
 * padded 3x3 convolutions so the output has the input's size. Names: inc.double_conv.{0,1,3,4},
 * downK.maxpool_conv.1.double_conv.{0,1,3,4}, upK.up (ConvTranspose2d, kernel 2 stride 2, bias),
 * upK.conv.double_conv.{0,1,3,4}, outc.conv (1x1, bias). Output [N, classes, H, W]; sizes not
 * divisible by 16 work by zero-padding each up-sampled map to its skip connection.
 */
public final class UNet extends Model {
    private final DoubleConv inc;
    private final Down[] downs = new Down[4];
    private final Up[] ups = new Up[4];
    private final OutConv outc;

    public UNet(int inChannels, int classes, int base, Init init) {
        super("unet", inChannels, classes, Task.SEGMENTATION);
        if (base <= 0) throw new IllegalArgumentException("unet: base width must be positive, got " + base);
        inc = register("inc", new DoubleConv(inChannels, base, init));
        for (int k = 0; k < 4; k++) downs[k] = register("down" + (k + 1), new Down(base << k, base << (k + 1), init));
        for (int k = 0; k < 4; k++) ups[k] = register("up" + (k + 1), new Up(base << (4 - k), base << (3 - k), init));
        outc = register("outc", new OutConv(base, classes, init));
    }

    public UNet(int inChannels, int classes, Init init) {
        this(inChannels, classes, 64, init);
    }

    @Override
    public Variable forward(Variable x) {
        long h = x.shape().dim(2), w = x.shape().dim(3);
        if (h < 16 || w < 16) {
            throw new IllegalArgumentException("unet: input " + x.shape()
                    + " is too small (four 2x2 poolings need >= 16x16)");
        }
        Variable[] skips = new Variable[5];
        skips[0] = inc.forward(x);
        for (int k = 0; k < 4; k++) skips[k + 1] = downs[k].forward(skips[k]);
        Variable y = skips[4];
        for (int k = 0; k < 4; k++) y = ups[k].forward(y, skips[3 - k]);
        return outc.forward(y);
    }

    /** (3x3 conv without bias, BN, ReLU) twice, as `double_conv` indices 0..5. */
    static final class DoubleConv extends Module {
        private final Sequential doubleConv;

        DoubleConv(int in, int out, Init init) {
            doubleConv = register("double_conv", new Sequential(
                    new Conv2d(in, out, 3, 1, 1, 1, 1, false, init), new BatchNorm2d(out, init), Activation.relu(),
                    new Conv2d(out, out, 3, 1, 1, 1, 1, false, init), new BatchNorm2d(out, init), Activation.relu()));
        }

        @Override
        public Variable forward(Variable x) {
            return doubleConv.forward(x);
        }
    }

    /** `maxpool_conv`: 0 is a floor-mode 2x2 max pool, 1 a DoubleConv. */
    static final class Down extends Module {
        private final Sequential maxpoolConv;

        Down(int in, int out, Init init) {
            maxpoolConv = register("maxpool_conv", new Sequential(Pool2d.max(2), new DoubleConv(in, out, init)));
        }

        @Override
        public Variable forward(Variable x) {
            return maxpoolConv.forward(x);
        }
    }

    /** Up-sample to half the channels, pad to the skip's size, concatenate [skip, up], DoubleConv. */
    static final class Up extends Module {
        private final ConvTranspose2d up;
        private final DoubleConv conv;

        Up(int in, int out, Init init) {
            up = register("up", ConvTranspose2d.upsampleBy2(in, in / 2, init));
            conv = register("conv", new DoubleConv(in, out, init));
        }

        Variable forward(Variable x, Variable skip) {
            Variable u = up.forward(x);
            // Floor-mode pooling means the skip is at most one pixel larger per axis, never smaller.
            long dy = skip.shape().dim(2) - u.shape().dim(2), dx = skip.shape().dim(3) - u.shape().dim(3);
            if (dy != 0 || dx != 0) u = zeroPad(u, dy / 2, dy - dy / 2, dx / 2, dx - dx / 2);
            return conv.forward(Ops.cat(1, skip, u));
        }

        @Override
        public Variable forward(Variable x) {
            throw new UnsupportedOperationException("Up needs its skip connection: use forward(x, skip)");
        }
    }

    /** F.pad with zeros on H and W, as concatenation with constant zero blocks (gradient flows to x only). */
    static Variable zeroPad(Variable x, long top, long bottom, long left, long right) {
        return catWithZeros(catWithZeros(x, 3, left, right), 2, top, bottom);
    }

    private static Variable catWithZeros(Variable x, int axis, long before, long after) {
        if (before == 0 && after == 0) return x;
        List<Variable> parts = new ArrayList<>(3);
        if (before > 0) parts.add(zeros(x, axis, before));
        parts.add(x);
        if (after > 0) parts.add(zeros(x, axis, after));
        return Ops.cat(axis, parts.toArray(new Variable[0]));
    }

    private static Variable zeros(Variable like, int axis, long extent) {
        Backend be = Backends.of(like.value());
        Tensor t = be.empty(like.dtype(), like.shape().withDim(axis, extent));
        be.fill(t, 0);
        return Variable.constant(t);
    }

    /** `conv`: the 1x1 classifier with bias. */
    static final class OutConv extends Module {
        private final Conv2d conv;

        OutConv(int in, int classes, Init init) {
            conv = register("conv", new Conv2d(in, classes, 1, 1, 0, 1, 1, true, init));
        }

        @Override
        public Variable forward(Variable x) {
            return conv.forward(x);
        }
    }
}
