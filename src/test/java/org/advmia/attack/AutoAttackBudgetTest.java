package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.Backends;
import org.advmia.backend.RandomKind;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The reduced-budget AutoAttack the benchmark runs: the attack invariants, on 4 classes and on 2. */
class AutoAttackBudgetTest {
    private static final AutoAttack.Budget SMALL = new AutoAttack.Budget(5, 3, 5, 20);

    private static void assertInBallAndBox(Tensor x, Tensor adv, double eps) {
        float[] a = Backends.toFloatArray(x), b = Backends.toFloatArray(adv);
        for (int k = 0; k < a.length; k++) {
            assertTrue(Float.isFinite(b[k]) && b[k] >= 0 && b[k] <= 1, "outside the box or not finite: " + b[k]);
            assertTrue(Math.abs(b[k] - a[k]) <= eps + 1e-6, "outside the eps ball: " + Math.abs(b[k] - a[k]));
        }
    }

    @Test
    void fourClassesStayInTheBallAndBreakTheUndefendedModel() {
        TrainedTinyNet net = TrainedTinyNet.Shared.NET;
        Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;
        try (MemoryScope s = MemoryScope.open(); AttackResult r = AutoAttack.withBudget(net, 0.3, SMALL, 1).run(x, y, null)) {
            assertInBallAndBox(x, r.adversarial(), 0.3);
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            assertTrue(m.robustAccuracy() <= 0.05, "robust accuracy " + m.robustAccuracy() + " at eps 0.3");
        }
        try (MemoryScope s = MemoryScope.open(); AttackResult r = AutoAttack.withBudget(net, 0, SMALL, 1).run(x, y, null)) {
            assertArrayEquals(Backends.toFloatArray(x), Backends.toFloatArray(r.adversarial()), "eps 0 changes nothing");
        }
    }

    /** Targeted DLR needs 4 classes; on binary tasks APGD-T runs on the targeted CW margin instead of failing. */
    @Test
    void binaryModelsRunTheWholeCascade() {
        try (MemoryScope s = MemoryScope.open();
             Model m = Models.create("smallcnn", new Models.Spec(1, 2, 16, 16), Init.seeded(5))) {
            var b = Backends.defaultBackend();
            Tensor x = b.empty(DType.FLOAT32, Shape.of(8, 1, 16, 16));
            b.random(RandomKind.UNIFORM, x, 3, 0, 0, 1);
            float[] logits;
            try (AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
                m.eval();
                logits = Backends.toFloatArray(m.logits(org.advmia.autograd.Variable.constant(x)).value());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            float[] labels = new float[8];
            for (int i = 0; i < 8; i++) labels[i] = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;   // all correct at start
            Tensor y = Backends.tensor(labels, 8);
            AutoAttack aa = AutoAttack.withBudget(m, 8 / 255.0, SMALL, 2);
            try (AttackResult r = aa.run(x, y, null)) {
                assertInBallAndBox(x, r.adversarial(), 8 / 255.0);
                assertTrue(aa.robustAccuracyAfterStages().size() == 4, "all four stages ran");
            }
        }
    }
}
