package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** DeepFool is a minimum-norm attack: it fools as often as PGD-L2 with a much smaller perturbation. */
class DeepFoolTest {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;



    @Test
    void findsMuchSmallerL2PerturbationsThanPgdAtTheSameSuccess() {
        double eps = 3.6;  // generous: PGD-L2 fools every sample, and DeepFool's points fit unprojected
        try (MemoryScope s = MemoryScope.open()) {
            Attack df = Attacks.create("deepfool-l2", net, eps, null);
            try (AttackResult r = df.run(x, y, null);
                 AttackResult p = Attacks.create("pgd-l2", net, eps, null).run(x, y, null)) {
                AttackMetrics md = AttackMetrics.of(net, x, r.adversarial(), y, r);
                AttackMetrics mp = AttackMetrics.of(net, x, p.adversarial(), y, p);
                assertTrue(md.attackSuccessRate() >= mp.attackSuccessRate() - 0.02,
                        "deepfool success " + md.attackSuccessRate() + " vs pgd-l2 " + mp.attackSuccessRate());
                // Measured: mean L2 1.44 (DeepFool) vs 3.56 (PGD-L2), both fooling 100%.
                assertTrue(md.meanL2() < 0.5 * mp.meanL2(), "deepfool mean L2 " + md.meanL2() + " vs pgd-l2 " + mp.meanL2());
                // Here nothing was projected away, so the reported norms are the output's.
                float[] found = ((MinimumNormAttack) df).foundNorms();
                double sum = 0;
                for (float f : found) sum += f;
                assertEquals(md.meanL2(), sum / found.length, 1e-4);
            }
        }
    }

    @Test
    void projectsWhatItFoundOntoASmallBall() {
        double eps = 0.5;
        try (MemoryScope s = MemoryScope.open()) {
            Attack df = Attacks.create("deepfool-l2", net, eps, null);
            try (AttackResult r = df.run(x, y, null)) {
                AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
                int fits = 0;
                for (float f : ((MinimumNormAttack) df).foundNorms()) if (f <= eps) fits++;
                assertTrue(fits > 0 && fits < 120, "found norms within 0.5: " + fits);
                // Every sample whose found perturbation fits the ball is fooled; others may or may not be.
                assertTrue(1 - m.robustAccuracy() >= fits / 120.0 - 1e-9, "fooled " + (1 - m.robustAccuracy()));
            }
        }
    }
}
