package org.advmia.defense.detect;

import org.advmia.autograd.Losses;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.attack.TrainedTinyNet;
import org.advmia.nn.Conv2d;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.optim.Sgd;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * A small undefended ResNet-shaped classifier (conv-ReLU-pool, conv-ReLU as the feature map,
 * global average pooling and a linear layer as the head) trained in about a second on the
 * procedural 4-class stripes/blob task of {@link TrainedTinyNet}: a real, accurate, non-robust
 * model whose features the detectors read through {@link FeatureMaps}.
 */
final class DetectTinyNet extends Model implements FeatureMaps {
    private final Conv2d conv1, conv2;
    private final Linear fc;

    DetectTinyNet(Init init) {
        super("detect-tinynet", 1, TrainedTinyNet.CLASSES, Task.CLASSIFICATION);
        conv1 = register("conv1", new Conv2d(1, 8, 3, 1, init));
        conv2 = register("conv2", new Conv2d(8, 16, 3, 1, init));
        fc = register("fc", new Linear(16, TrainedTinyNet.CLASSES, init));
    }

    @Override
    public Variable forward(Variable x) {
        return head(features(x));
    }

    @Override
    public Variable features(Variable x) {
        return Ops.relu(conv2.forward(NnOps.maxPool2d(Ops.relu(conv1.forward(x)), 2, 2, 0, false)));
    }

    @Override
    public Variable head(Variable map) {
        long n = map.shape().dim(0), c = map.shape().dim(1);
        return fc.forward(Ops.mean(Ops.reshape(map, n, c, -1), 2, false));
    }

    static DetectTinyNet train(long seed) {
        DetectTinyNet net = new DetectTinyNet(Init.seeded(seed));
        try (Sgd sgd = new Sgd(net.namedParameters(), 0.05, 0.9, 0)) {
            for (int epoch = 0; epoch < 60; epoch++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor[] batch = TrainedTinyNet.data(80, seed * 1000 + epoch);
                    net.zeroGrad();
                    Losses.crossEntropy(net.logits(Variable.constant(batch[0])), batch[1]).backward();
                    sgd.step();
                }
            }
        }
        net.eval();
        return net;
    }

    /** One trained net, a 240-input training split and a 160-input test split, built once per test JVM. */
    static final class Shared {
        static final DetectTinyNet NET = train(5);
        static final Tensor TRAIN_X, TRAIN_Y, TEST_X, TEST_Y;

        static {
            Tensor[] tr = TrainedTinyNet.data(240, 4242), te = TrainedTinyNet.data(160, 777);
            TRAIN_X = tr[0].keep();
            TRAIN_Y = tr[1].keep();
            TEST_X = te[0].keep();
            TEST_Y = te[1].keep();
        }

        private Shared() {}
    }
}
