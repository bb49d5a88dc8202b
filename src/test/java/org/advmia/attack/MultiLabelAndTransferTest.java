package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.optim.Adam;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** PGD on BCE against a multi-label model (mean AUC falls), the AUC metric, and the transfer setting. */
class MultiLabelAndTransferTest {
    static final int SIZE = 12, LABELS = 3;

    /** Three independent findings per image: horizontal stripes, vertical stripes, a central blob. */
    static final class MultiLabelNet extends Model {
        final Conv2d conv;
        final Linear fc;

        MultiLabelNet(Init init) {
            super("mlnet", 1, LABELS, Task.CLASSIFICATION);
            conv = register("conv", new Conv2d(1, 8, 3, 1, 1, 1, 1, true, init));
            fc = register("fc", new Linear(8 * 6 * 6, LABELS, init));
        }

        @Override
        public Variable forward(Variable x) {
            return fc.forward(NnOps.maxPool2d(Ops.relu(conv.forward(x)), 2, 2, 0, false));
        }
    }

    static Tensor[] data(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n * SIZE * SIZE], y = new float[n * LABELS];
        for (int i = 0; i < n; i++) {
            boolean[] has = {r.nextBoolean(), r.nextBoolean(), r.nextBoolean()};
            for (int l = 0; l < LABELS; l++) y[i * LABELS + l] = has[l] ? 1 : 0;
            for (int h = 0; h < SIZE; h++) {
                for (int w = 0; w < SIZE; w++) {
                    double v = 0.2;
                    if (has[0] && h % 4 < 2) v += 0.25;
                    if (has[1] && w % 4 < 2) v += 0.25;
                    if (has[2]) v += 0.3 * Math.exp(-((h - 5.5) * (h - 5.5) + (w - 5.5) * (w - 5.5)) / 6);
                    x[i * SIZE * SIZE + h * SIZE + w] = (float) Math.min(1, Math.max(0, v + 0.05 * r.nextGaussian()));
                }
            }
        }
        return new Tensor[] {Backends.tensor(x, n, 1, SIZE, SIZE), Backends.tensor(y, n, LABELS)};
    }

    static float[] scores(Model m, Tensor x) throws Exception {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            return Backends.toFloatArray(m.logits(Variable.constant(x)).value());
        }
    }

    @Test
    void pgdOnBceLowersMeanAuc() throws Exception {
        try (MemoryScope s = MemoryScope.open(); MultiLabelNet net = new MultiLabelNet(Init.seeded(2))) {
            try (Adam opt = Adam.adam(net.namedParameters(), 0.02)) {
                for (int step = 0; step < 80; step++) {
                    try (MemoryScope st = MemoryScope.open()) {
                        Tensor[] b = data(32, 50 + step);
                        net.zeroGrad();
                        Losses.bceWithLogits(net.logits(Variable.constant(b[0])), b[1], null).backward();
                        opt.step();
                    }
                }
            }
            net.eval();
            Tensor[] d = data(120, 9);
            float[] y = Backends.toFloatArray(d[1]);
            double clean = MultiLabelMetrics.of(scores(net, d[0]), y, LABELS).meanAuc();
            assertTrue(clean > 0.95, "clean mean AUC " + clean);
            Attacks.Overrides bce = new Attacks.Overrides(20, null, null, null, null, null, null, AttackLoss.BCE);
            try (AttackResult r = Attacks.create("pgd", net, 0.1, bce).run(d[0], d[1], null)) {
                double attacked = MultiLabelMetrics.of(scores(net, r.adversarial()), y, LABELS).meanAuc();
                assertTrue(attacked < clean - 0.3, "mean AUC " + clean + " -> " + attacked);
                boolean[] flipped = Attacks.create("pgd", net, 0.1, bce).succeeded(r.adversarial(), d[1], null);
                int any = 0;
                for (boolean f : flipped) if (f) any++;
                assertTrue(any > 60, "label decisions flipped on only " + any + " of 120 samples");
            }
        }
    }

    @Test
    void aucMetricKnownValues() {
        // 3 samples x 4 labels (row-major). Label 0 ranks perfectly (AUC 1), label 1 in reverse (0),
        // label 2 is positive everywhere (no AUC), label 3 has a tie counted half: (0.5 + 1) / 2.
        float[] scores = {0.9f, 0.8f, 5, 0.5f, 0.2f, 0.1f, 5, 0.5f, 0.5f, 0.5f, 5, 0.3f};
        float[] targets = {1, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0};
        MultiLabelMetrics m = MultiLabelMetrics.of(scores, targets, 4);
        assertEquals(1.0, m.perLabelAuc()[0], 1e-12);
        assertEquals(0.0, m.perLabelAuc()[1], 1e-12);
        assertTrue(Double.isNaN(m.perLabelAuc()[2]));
        assertEquals(0.75, m.perLabelAuc()[3], 1e-12);
        assertEquals(1, m.labelsWithoutAuc());
        assertEquals((1 + 0 + 0.75) / 3, m.meanAuc(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> MultiLabelMetrics.of(new float[4], new float[3], 2));
    }

    @Test
    void transferFromSurrogateToTarget() {
        try (MemoryScope s = MemoryScope.open(); TrainedTinyNet surrogate = TrainedTinyNet.train(3);
             TrainedTinyNet target = TrainedTinyNet.train(4)) {
            Tensor[] d = TrainedTinyNet.data(120, 31);
            Attack pgd = Attacks.create("pgd", surrogate, 0.15, new Attacks.Overrides(20, null, null, null, null, null,
                    null, null));
            TransferAttack.Outcome o = TransferAttack.run(pgd, target, d[0], d[1]);
            assertTrue(o.onTarget().cleanAccuracy() > 0.9);
            // Transferred examples hurt the target, but less than white-box examples hurt the surrogate.
            assertTrue(o.onTarget().robustAccuracy() < o.onTarget().cleanAccuracy() - 0.1,
                    "transfer robust " + o.onTarget().robustAccuracy() + " vs clean " + o.onTarget().cleanAccuracy());
            assertTrue(o.onSurrogate().robustAccuracy() <= o.onTarget().robustAccuracy(),
                    "white-box " + o.onSurrogate().robustAccuracy() + " vs transfer " + o.onTarget().robustAccuracy());
            assertThrows(IllegalArgumentException.class, () -> TransferAttack.run(pgd, surrogate, d[0], d[1]));
        }
    }
}
