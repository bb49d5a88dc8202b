package org.advmia.nn.models;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.nn.Activation;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Dropout;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.Pool2d;
import org.advmia.nn.Sequential;

/**
 * MobileNetV2 (Sandler et al. 2018) with torchvision naming and CIFAR strides: the stem and the
 * second stage use stride 1 instead of 2, so 32x32 inputs reach a 4x4 final map. Names:
 * features.0 (stem conv/BN/ReLU6 as .0/.1/.2), features.1..17 (inverted residuals, `conv.*`),
 * features.18 (1x1 conv to last_channel), classifier.0 (Dropout 0.2), classifier.1 (Linear).
 * Channel counts are torchvision's make_divisible(c * widthMult, 8); last_channel is
 * make_divisible(1280 * max(1, widthMult), 8).
 */
public final class MobileNetV2 extends Model implements FeatureMaps {
    /** t (expansion), c (channels before widthMult), n (repeats), s (stride of the first repeat). */
    private static final int[][] SETTINGS = {
        {1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
    };

    private final Sequential features, classifier;
    private final Pool2d pool = Pool2d.adaptiveAvg(1, 1);

    public MobileNetV2(int inChannels, int classes, double widthMult, Init init) {
        super("mobilenetv2", inChannels, classes, Task.CLASSIFICATION);
        if (!(widthMult > 0) || Double.isInfinite(widthMult)) {
            throw new IllegalArgumentException("mobilenetv2: width_mult must be positive, got " + widthMult);
        }
        int input = makeDivisible(32 * widthMult, 8);
        int last = makeDivisible(1280 * Math.max(1.0, widthMult), 8);
        features = register("features", new Sequential());
        features.add(convBnRelu6(inChannels, input, 3, 1, 1, init));
        for (int[] row : SETTINGS) {
            int out = makeDivisible(row[1] * widthMult, 8);
            for (int i = 0; i < row[2]; i++) {
                features.add(new InvertedResidual(input, out, i == 0 ? row[3] : 1, row[0], init));
                input = out;
            }
        }
        features.add(convBnRelu6(input, last, 1, 1, 1, init));
        classifier = register("classifier", new Sequential(new Dropout(0.2, init), new Linear(last, classes, init)));
    }

    public MobileNetV2(int inChannels, int classes, Init init) {
        this(inChannels, classes, 1.0, init);
    }

    /**
     * torchvision's _make_divisible: nearest multiple of divisor (at least divisor), bumped up
     * one step if rounding lost more than 10%.
     */
    public static int makeDivisible(double v, int divisor) {
        int rounded = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * v ? rounded + divisor : rounded;
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    /** The output of features.18, the 1x1 conv to last_channel with its BN and ReLU6. */
    @Override
    public Variable features(Variable x) {
        return features.forward(x);
    }

    @Override
    public Variable head(Variable featureMap) {
        return classifier.forward(pool.forward(featureMap));
    }

    /** torchvision's ConvBNReLU: Sequential(0 conv without bias, padding (k-1)/2; 1 BN; 2 ReLU6). */
    static Sequential convBnRelu6(int in, int out, int kernel, int stride, int groups, Init init) {
        return new Sequential(new Conv2d(in, out, kernel, stride, (kernel - 1) / 2, 1, groups, false, init),
                new BatchNorm2d(out, init), Activation.relu6());
    }

    /**
     * Expand (1x1, skipped when t = 1), depthwise 3x3, linear 1x1 projection and BN, all in
     * `conv`; the residual is added only when stride is 1 and the width is unchanged.
     */
    static final class InvertedResidual extends Module {
        private final Sequential conv;
        private final boolean residual;

        InvertedResidual(int in, int out, int stride, int expand, Init init) {
            int hidden = in * expand;
            residual = stride == 1 && in == out;
            conv = register("conv", new Sequential());
            if (expand != 1) conv.add(convBnRelu6(in, hidden, 1, 1, 1, init));
            conv.add(convBnRelu6(hidden, hidden, 3, stride, hidden, init));
            conv.add(new Conv2d(hidden, out, 1, 1, 0, 1, 1, false, init));
            conv.add(new BatchNorm2d(out, init));
        }

        @Override
        public Variable forward(Variable x) {
            Variable h = conv.forward(x);
            return residual ? Ops.add(x, h) : h;
        }
    }
}
