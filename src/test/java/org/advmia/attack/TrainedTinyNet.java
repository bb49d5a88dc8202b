package org.advmia.attack;

import java.util.Random;
import org.advmia.autograd.Losses;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.optim.Sgd;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * A small undefended CNN trained in about a second on a procedural 4-class task (horizontal,
 * vertical and diagonal stripes, a centred blob, each with noise and random contrast), so attack
 * tests run against a real, accurate, non-robust model. (Four classes with a diagonal-stripe
 * class, so DLR and targeted DLR, which need 3 and 4 classes, apply.)
 */
public final class TrainedTinyNet extends Model {
    public static final int SIZE = 12, CLASSES = 4;
    private final Conv2d conv;
    private final Linear fc;

    TrainedTinyNet(Init init) {
        super("tinynet", 1, CLASSES, Task.CLASSIFICATION);
        conv = register("conv", new Conv2d(1, 8, 3, 1, 1, 1, 1, true, init));
        fc = register("fc", new Linear(8 * 6 * 6, CLASSES, init));
    }

    @Override
    public Variable forward(Variable x) {
        return fc.forward(NnOps.maxPool2d(Ops.relu(conv.forward(x)), 2, 2, 0, false));
    }

    /** n images [n, 1, 12, 12] in [0, 1] and labels [n], deterministic in the seed. */
    public static Tensor[] data(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * SIZE * SIZE], y = new float[n];
        for (int i = 0; i < n; i++) {
            int c = i % CLASSES;
            y[i] = c;
            double contrast = 0.3 + 0.4 * r.nextDouble(), phase = r.nextInt(4);
            for (int h = 0; h < SIZE; h++) {
                for (int w = 0; w < SIZE; w++) {
                    double v = switch (c) {
                        case 0 -> ((h + phase) % 4 < 2) ? 1 : 0;
                        case 1 -> ((w + phase) % 4 < 2) ? 1 : 0;
                        case 2 -> ((h + w + phase) % 4 < 2) ? 1 : 0;
                        default -> Math.exp(-((h - 5.5) * (h - 5.5) + (w - 5.5) * (w - 5.5)) / 8);
                    };
                    double p = 0.5 + contrast * (v - 0.5) + 0.1 * r.nextGaussian();
                    x[i * SIZE * SIZE + h * SIZE + w] = (float) Math.min(1, Math.max(0, p));
                }
            }
        }
        return new Tensor[] {Backends.tensor(x, n, 1, SIZE, SIZE), Backends.tensor(y, n)};
    }

    static TrainedTinyNet train(long seed) {
        TrainedTinyNet net = new TrainedTinyNet(Init.seeded(seed));
        try (Sgd sgd = new Sgd(net.namedParameters(), 0.05, 0.9, 0)) {
            for (int epoch = 0; epoch < 30; epoch++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor[] batch = data(60, seed * 1000 + epoch);
                    net.zeroGrad();
                    Losses.crossEntropy(net.logits(Variable.constant(batch[0])), batch[1]).backward();
                    sgd.step();
                }
            }
        }
        net.eval();
        return net;
    }

    /**
     * One trained net (seed 3) and a 120-sample batch (seed 777), built once per test JVM and shared
     * by the attack tests; attacks restore the model's state, so sharing it is safe.
     */
    static final class Shared {
        static final TrainedTinyNet NET;
        static final Tensor X, Y;

        static {
            NET = train(3);
            Tensor[] d = data(120, 777);
            X = d[0].keep();
            Y = d[1].keep();
        }

        private Shared() {}
    }
}
