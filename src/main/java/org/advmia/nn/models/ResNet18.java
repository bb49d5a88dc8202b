package org.advmia.nn.models;

import org.advmia.autograd.NnOps;
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
 * ResNet-18 with the CIFAR stem the survey's benchmark uses (3x3 stride-1 conv1, no max-pool),
 * torchvision naming: conv1, bn1, layer1..layer4 (BasicBlocks conv1/bn1/conv2/bn2 and
 * downsample.0/.1), fc. Widths are width * {1, 2, 4, 8} (64 is the standard network).
 */
public final class ResNet18 extends Model implements FeatureMaps {
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Sequential[] layers = new Sequential[4];
    private final Pool2d pool = Pool2d.adaptiveAvg(1, 1);
    private final Linear fc;

    public ResNet18(int inChannels, int classes, int width, Init init) {
        super("resnet18", inChannels, classes, Task.CLASSIFICATION);
        conv1 = register("conv1", new Conv2d(inChannels, width, 3, 1, 1, 1, 1, false, init));
        bn1 = register("bn1", new BatchNorm2d(width, init));
        int in = width;
        for (int l = 0; l < 4; l++) {
            int out = width << l, stride = l == 0 ? 1 : 2;
            layers[l] = register("layer" + (l + 1),
                    new Sequential(new BasicBlock(in, out, stride, init), new BasicBlock(out, out, 1, init)));
            in = out;
        }
        fc = register("fc", new Linear(in, classes, init));
    }

    public ResNet18(int inChannels, int classes, Init init) {
        this(inChannels, classes, 64, init);
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    /** layer4's output (its last block ends with the ReLU after the residual sum). */
    @Override
    public Variable features(Variable x) {
        Variable h = bn1.forward(conv1.forward(x), UnaryOp.RELU);
        for (Sequential layer : layers) h = layer.forward(h);
        return h;
    }

    @Override
    public Variable head(Variable featureMap) {
        return fc.forward(pool.forward(featureMap));
    }

    /** torchvision's BasicBlock: two 3x3 conv-BN pairs and an identity or 1x1 projection shortcut. */
    static final class BasicBlock extends Module {
        private final Conv2d conv1, conv2;
        private final BatchNorm2d bn1, bn2;
        private final Sequential downsample;

        BasicBlock(int in, int out, int stride, Init init) {
            conv1 = register("conv1", new Conv2d(in, out, 3, stride, 1, 1, 1, false, init));
            bn1 = register("bn1", new BatchNorm2d(out, init));
            conv2 = register("conv2", new Conv2d(out, out, 3, 1, 1, 1, 1, false, init));
            bn2 = register("bn2", new BatchNorm2d(out, init));
            downsample = stride != 1 || in != out
                    ? register("downsample", new Sequential(new Conv2d(in, out, 1, stride, 0, 1, 1, false, init),
                            new BatchNorm2d(out, init)))
                    : null;
        }

        @Override
        public Variable forward(Variable x) {
            Variable h = bn1.forward(conv1.forward(x), UnaryOp.RELU);
            h = bn2.forward(conv2.forward(h));
            Variable shortcut = downsample == null ? x : downsample.forward(x);
            return NnOps.addActivation(h, shortcut, UnaryOp.RELU);
        }
    }
}
