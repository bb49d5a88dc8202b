package org.advmia.nn.models;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Activation;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Conv2d;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.Pool2d;

/**
 * DenseNet-BC (Huang et al. 2017) with torchvision naming; the defaults (growth 32, blocks
 * 6/12/24/16, 64 initial features, bottleneck 4 * growth) are DenseNet-121. Names:
 * features.{conv0, norm0} (stem), features.denseblockB.denselayerL.{norm1, conv1, norm2, conv2},
 * features.transitionB.{norm, conv} (halve channels, 2x2 average pool), features.norm5,
 * classifier. The ImageNet stem is a 7x7 stride-2 conv plus a 3x3 stride-2 max pool; the CIFAR
 * stem a single 3x3 stride-1 conv, for inputs too small to lose a factor 4 up front.
 */
public final class DenseNet121 extends Model implements FeatureMaps {
    public enum Stem { IMAGENET, CIFAR }

    private final Named features;
    private final Pool2d pool = Pool2d.adaptiveAvg(1, 1);
    private final Linear classifier;
    private final long minSize;

    public DenseNet121(int inChannels, int classes, int growth, int[] blocks, int initFeatures, int bnSize, Stem stem,
                       Init init) {
        super("densenet121", inChannels, classes, Task.CLASSIFICATION);
        if (growth <= 0 || initFeatures <= 0 || bnSize <= 0 || blocks.length == 0) {
            throw new IllegalArgumentException("densenet121: growth, init_features, bn_size and the block list must be"
                    + " positive/non-empty, got growth=" + growth + ", init_features=" + initFeatures + ", bn_size="
                    + bnSize + ", blocks=" + blocks.length);
        }
        Objects.requireNonNull(stem, "densenet121: stem");
        features = register("features", new Named());
        if (stem == Stem.IMAGENET) {
            features.add("conv0", new Conv2d(inChannels, initFeatures, 7, 2, 3, 1, 1, false, init));
            features.add("norm0", new BatchNorm2d(initFeatures, init));
            features.add("relu0", Activation.relu());
            features.add("pool0", Pool2d.max(3, 2, 1, false));
        } else {
            features.add("conv0", new Conv2d(inChannels, initFeatures, 3, 1, 1, 1, 1, false, init));
            features.add("norm0", new BatchNorm2d(initFeatures, init));
            features.add("relu0", Activation.relu());
        }
        int channels = initFeatures;
        for (int b = 0; b < blocks.length; b++) {
            if (blocks[b] <= 0) throw new IllegalArgumentException("densenet121: block " + (b + 1) + " has no layers");
            features.add("denseblock" + (b + 1), new DenseBlock(blocks[b], channels, bnSize, growth, init));
            channels += blocks[b] * growth;
            if (b != blocks.length - 1) {
                Named transition = new Named();
                transition.add("norm", new BatchNorm2d(channels, init));
                transition.add("relu", Activation.relu());
                transition.add("conv", new Conv2d(channels, channels / 2, 1, 1, 0, 1, 1, false, init));
                transition.add("pool", Pool2d.avg(2));
                features.add("transition" + (b + 1), transition);
                channels /= 2;
            }
        }
        features.add("norm5", new BatchNorm2d(channels, init));
        // Each transition floors the size by 2; the ImageNet stem takes ceil(h / 2) twice first.
        long transitions = 1L << (blocks.length - 1);
        minSize = stem == Stem.IMAGENET ? 4 * transitions - 3 : transitions;
        classifier = register("classifier", new Linear(channels, classes, init));
    }

    /** The standard DenseNet-121 widths with the given stem. */
    public DenseNet121(int inChannels, int classes, Stem stem, Init init) {
        this(inChannels, classes, 32, new int[] {6, 12, 24, 16}, 64, 4, stem, init);
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    /** norm5 and the ReLU after it: the map torchvision's classifier pools. */
    @Override
    public Variable features(Variable x) {
        if (x.shape().dim(2) < minSize || x.shape().dim(3) < minSize) {
            throw new IllegalArgumentException("densenet121: input " + x.shape() + " is too small (the stem and "
                    + "transitions need >= " + minSize + "x" + minSize + ")");
        }
        // features ends with norm5; the final ReLU is applied outside it, as in torchvision.
        return Ops.relu(features.forward(x));
    }

    @Override
    public Variable head(Variable featureMap) {
        return classifier.forward(pool.forward(featureMap));
    }

    /** An nn.Sequential built from an OrderedDict: children run in order under their own names. */
    static final class Named extends Module {
        private final List<Module> layers = new ArrayList<>();

        void add(String name, Module m) {
            layers.add(register(name, m));
        }

        @Override
        public Variable forward(Variable x) {
            Variable h = x;
            for (Module m : layers) h = m.forward(h);
            return h;
        }
    }

    /** Layers denselayer1..n; each sees the concatenation of the block input and all earlier outputs. */
    static final class DenseBlock extends Module {
        private final List<DenseLayer> layers = new ArrayList<>();

        DenseBlock(int n, int in, int bnSize, int growth, Init init) {
            for (int i = 0; i < n; i++) {
                layers.add(register("denselayer" + (i + 1), new DenseLayer(in + i * growth, growth, bnSize, init)));
            }
        }

        @Override
        public Variable forward(Variable x) {
            Variable[] feats = new Variable[layers.size() + 1];
            feats[0] = x;
            for (int i = 0; i < layers.size(); i++) {
                Variable in = i == 0 ? x : Ops.cat(1, Arrays.copyOf(feats, i + 1));
                feats[i + 1] = layers.get(i).forward(in);
            }
            return Ops.cat(1, feats);
        }
    }

    /** Bottleneck: BN-ReLU-conv1x1 to bnSize * growth channels, then BN-ReLU-conv3x3 to growth. */
    static final class DenseLayer extends Module {
        private final BatchNorm2d norm1, norm2;
        private final Conv2d conv1, conv2;

        DenseLayer(int in, int growth, int bnSize, Init init) {
            norm1 = register("norm1", new BatchNorm2d(in, init));
            conv1 = register("conv1", new Conv2d(in, bnSize * growth, 1, 1, 0, 1, 1, false, init));
            norm2 = register("norm2", new BatchNorm2d(bnSize * growth, init));
            conv2 = register("conv2", new Conv2d(bnSize * growth, growth, 3, 1, 1, 1, 1, false, init));
        }

        @Override
        public Variable forward(Variable x) {
            Variable h = conv1.forward(norm1.forward(x, UnaryOp.RELU));
            return conv2.forward(norm2.forward(h, UnaryOp.RELU));
        }
    }
}
