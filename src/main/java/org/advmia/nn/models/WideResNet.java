package org.advmia.nn.models;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Conv2d;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.Pool2d;
import org.advmia.nn.Sequential;

/**
 * Wide ResNet WRN-depth-widen (Zagoruyko and Komodakis 2016) in the TRADES / MART naming that
 * published robust checkpoints use: conv1, block1..block3 (each `layer.i` with bn1, conv1, bn2,
 * conv2 and, where the width changes, convShortcut), bn1, fc. depth = 6n + 4 gives n pre-activation
 * blocks per stage; stage widths are 16 * widen * {1, 2, 4} with strides 1, 2, 2.
 */
public final class WideResNet extends Model implements FeatureMaps {
    private final Conv2d conv1;
    private final NetworkBlock block1, block2, block3;
    private final BatchNorm2d bn1;
    private final Pool2d pool = Pool2d.adaptiveAvg(1, 1);
    private final Linear fc;

    public WideResNet(int inChannels, int classes, int depth, int widen, Init init) {
        super("wrn-" + depth + "-" + widen, inChannels, classes, Task.CLASSIFICATION);
        if (depth < 10 || (depth - 4) % 6 != 0) {
            throw new IllegalArgumentException("wrn: depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 34, 40, ...),"
                    + " got " + depth);
        }
        if (widen <= 0) throw new IllegalArgumentException("wrn: widen factor must be positive, got " + widen);
        int n = (depth - 4) / 6;
        int c0 = 16, c1 = 16 * widen, c2 = 32 * widen, c3 = 64 * widen;
        conv1 = register("conv1", new Conv2d(inChannels, c0, 3, 1, 1, 1, 1, false, init));
        block1 = register("block1", new NetworkBlock(n, c0, c1, 1, init));
        block2 = register("block2", new NetworkBlock(n, c1, c2, 2, init));
        block3 = register("block3", new NetworkBlock(n, c2, c3, 2, init));
        bn1 = register("bn1", new BatchNorm2d(c3, init));
        fc = register("fc", new Linear(c3, classes, init));
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    /** The final BN-ReLU after block3 (its pre-activation blocks end in a raw residual sum). */
    @Override
    public Variable features(Variable x) {
        Variable h = block3.forward(block2.forward(block1.forward(conv1.forward(x))));
        return bn1.forward(h, UnaryOp.RELU);
    }

    @Override
    public Variable head(Variable featureMap) {
        return fc.forward(pool.forward(featureMap));
    }

    /** One stage: `layer` holds n BasicBlocks, the first of which changes width and stride. */
    static final class NetworkBlock extends Module {
        private final Sequential layer;

        NetworkBlock(int n, int in, int out, int stride, Init init) {
            layer = register("layer", new Sequential());
            for (int i = 0; i < n; i++) layer.add(new BasicBlock(i == 0 ? in : out, out, i == 0 ? stride : 1, init));
        }

        @Override
        public Variable forward(Variable x) {
            return layer.forward(x);
        }
    }

    /**
     * BN-ReLU-conv twice. Unlike PreActResNet, a block with equal widths adds the raw input, and
     * only a width-changing block projects (the pre-activated input) through convShortcut; the
     * TRADES code never pairs equal widths with stride 2, so a strided identity cannot occur.
     */
    static final class BasicBlock extends Module {
        private final BatchNorm2d bn1, bn2;
        private final Conv2d conv1, conv2, convShortcut;

        BasicBlock(int in, int out, int stride, Init init) {
            bn1 = register("bn1", new BatchNorm2d(in, init));
            conv1 = register("conv1", new Conv2d(in, out, 3, stride, 1, 1, 1, false, init));
            bn2 = register("bn2", new BatchNorm2d(out, init));
            conv2 = register("conv2", new Conv2d(out, out, 3, 1, 1, 1, 1, false, init));
            convShortcut = in != out ? register("convShortcut", new Conv2d(in, out, 1, stride, 0, 1, 1, false, init))
                    : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable a = bn1.forward(x, UnaryOp.RELU);
            Variable skip = convShortcut == null ? x : convShortcut.forward(a);
            Variable h = conv2.forward(bn2.forward(conv1.forward(a), UnaryOp.RELU));
            return Ops.add(skip, h);
        }
    }
}
