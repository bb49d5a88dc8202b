package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.advmia.backend.Backends;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The AutoAttack cascade: stages run on still-robust points, robust accuracy never rises, honesty flags. */
class AutoAttackTest {
    @Test
    void cascadeIsAtLeastAsStrongAsItsFirstStageAndRecordsEachStage() {
        try (MemoryScope s = MemoryScope.open(); TrainedTinyNet net = TrainedTinyNet.train(3)) {
            Tensor[] d = TrainedTinyNet.data(80, 12);
            double eps = 0.1;
            // A reduced budget for speed; the cascade logic does not depend on it.
            Attacks.Overrides budget = new Attacks.Overrides(20, null, null, null, 1L, null, null, null);
            AutoAttack aa = (AutoAttack) Attacks.create("autoattack", net, eps, budget);
            try (AttackResult r = aa.run(d[0], d[1], null);
                 AttackResult first = Attacks.create("apgd-ce", net, eps, budget).run(d[0], d[1], null)) {
                double robust = AttackMetrics.of(net, d[0], r.adversarial(), d[1], r).robustAccuracy();
                double apgd = AttackMetrics.of(net, d[0], first.adversarial(), d[1], first).robustAccuracy();
                assertTrue(robust <= apgd, "autoattack " + robust + " vs its first stage " + apgd);
                List<double[]> stages = aa.robustAccuracyAfterStages();
                assertEquals(AutoAttack.standardStages().size(), stages.size());
                for (int i = 1; i < stages.size(); i++) assertTrue(stages.get(i)[1] <= stages.get(i - 1)[1]);
                assertEquals(robust, stages.get(stages.size() - 1)[1], 1e-12, "the last stage's accuracy is the result");
                float[] a = Backends.toFloatArray(d[0]), b = Backends.toFloatArray(r.adversarial());
                for (int k = 0; k < a.length; k++) assertTrue(Math.abs(a[k] - b[k]) <= eps + 1e-6 && b[k] >= 0 && b[k] <= 1);
                assertTrue(aa.warnings().isEmpty(), "no honesty warnings on a plain CNN: " + aa.warnings());
            }
        }
    }
}
