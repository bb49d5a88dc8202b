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
 * Pre-activation ResNet-18 (He et al. 2016; the network of Rice et al.'s robust-overfitting and
 * fast-AT baselines): 3x3 stride-1 conv1, four stages of two PreActBlocks, then BN-ReLU, global
 * average pool and a linear layer. Names: conv1, layer1..layer4 (blocks bn1/conv1/bn2/conv2 and
 * shortcut.0), bn, linear. Widths are width * {1, 2, 4, 8} (64 is the standard network).
 */
public final class PreActResNet18 extends Model implements FeatureMaps {
    private final Conv2d conv1;
    private final Sequential[] layers = new Sequential[4];
    private final BatchNorm2d bn;
    private final Pool2d pool = Pool2d.adaptiveAvg(1, 1);
    private final Linear linear;

    public PreActResNet18(int inChannels, int classes, int width, Init init) {
        super("preact-resnet18", inChannels, classes, Task.CLASSIFICATION);
        if (width <= 0) throw new IllegalArgumentException("preact-resnet18: width must be positive, got " + width);
        conv1 = register("conv1", new Conv2d(inChannels, width, 3, 1, 1, 1, 1, false, init));
        int in = width;
        for (int l = 0; l < 4; l++) {
            int out = width << l, stride = l == 0 ? 1 : 2;
            layers[l] = register("layer" + (l + 1),
                    new Sequential(new PreActBlock(in, out, stride, init), new PreActBlock(out, out, 1, init)));
            in = out;
        }
        bn = register("bn", new BatchNorm2d(in, init));
        linear = register("linear", new Linear(in, classes, init));
    }

    public PreActResNet18(int inChannels, int classes, Init init) {
        this(inChannels, classes, 64, init);
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    /**
     * The final BN-ReLU of layer4's output: pre-activation blocks end in a raw residual sum, and
     * this activation is what the pool and the classifier actually see.
     */
    @Override
    public Variable features(Variable x) {
        Variable h = conv1.forward(x);
        for (Sequential layer : layers) h = layer.forward(h);
        return bn.forward(h, UnaryOp.RELU);
    }

    @Override
    public Variable head(Variable featureMap) {
        return linear.forward(pool.forward(featureMap));
    }

    /**
     * BN-ReLU-conv twice. The projection shortcut reads the pre-activated input, the identity
     * shortcut the raw one, as in the reference implementation.
     */
    static final class PreActBlock extends Module {
        private final BatchNorm2d bn1, bn2;
        private final Conv2d conv1, conv2;
        private final Sequential shortcut;

        PreActBlock(int in, int out, int stride, Init init) {
            bn1 = register("bn1", new BatchNorm2d(in, init));
            conv1 = register("conv1", new Conv2d(in, out, 3, stride, 1, 1, 1, false, init));
            bn2 = register("bn2", new BatchNorm2d(out, init));
            conv2 = register("conv2", new Conv2d(out, out, 3, 1, 1, 1, 1, false, init));
            shortcut = stride != 1 || in != out
                    ? register("shortcut", new Sequential(new Conv2d(in, out, 1, stride, 0, 1, 1, false, init)))
                    : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable a = bn1.forward(x, UnaryOp.RELU);
            Variable skip = shortcut == null ? x : shortcut.forward(a);
            Variable h = conv2.forward(bn2.forward(conv1.forward(a), UnaryOp.RELU));
            return Ops.add(h, skip);
        }
    }
}
