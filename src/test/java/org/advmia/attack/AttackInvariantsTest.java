package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The invariants every attack must keep, on an accurate undefended model. */
class AttackInvariantsTest {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;



    static List<String> attackNames() {
        return new ArrayList<>(Attacks.namesFor(org.advmia.nn.Model.Task.CLASSIFICATION));
    }

    /**
     * Evaluation budgets (APGD's and FAB-T's 100 iterations, CW-L2's 9 x 100 Adam steps, Square's
     * 5000 queries) are for real evaluations; the invariants hold at any budget, so tests use 20
     * steps (FAB-T: 10 per target class; CW-L2: 20 Adam steps per binary-search step with a larger
     * learning rate, 0.05, so that 20 steps still reach the boundary at a large eps; Square: 300
     * queries, which leave it 0.025 robust accuracy at eps 0.3; Square-L2 moves mass between windows
     * instead of flipping signs and needs more: 300 queries left 0.075 at L2 eps 3.6, so it gets 1000; AutoAttack: 20 per stage). SimBA
     * keeps its default, capped at the 144 basis directions of a 12 x 12 image anyway. DeepFool
     * stops by itself once a sample is fooled.
     */
    static Attacks.Overrides budget(String name) {
        if (name.equals("cw-l2")) return new Attacks.Overrides(20, 0.05, null, null, null, null, null, null);
        if (name.equals("fab-t")) return new Attacks.Overrides(10, null, null, null, null, null, null, null);
        if (name.equals("square")) return new Attacks.Overrides(300, null, null, null, null, null, null, null);
        if (name.equals("square-l2")) return new Attacks.Overrides(1000, null, null, null, null, null, null, null);
        boolean reduced = name.startsWith("apgd") || name.equals("autoattack");
        return reduced ? new Attacks.Overrides(20, null, null, null, null, null, null, null) : null;
    }

    static double eps(String name, double linf) {
        return Attacks.normOf(name) == Norm.L2 ? linf * 12 : linf;  // ~ the L2 norm of an L-inf box on 144 pixels
    }

    @Test
    void modelIsAccurate() {
        AttackMetrics m = AttackMetrics.of(net, x, x, y, null);
        assertTrue(m.cleanAccuracy() >= 0.9, "clean accuracy " + m.cleanAccuracy());
    }

    @ParameterizedTest
    @MethodSource("attackNames")
    void perturbationStaysInTheBallAndBox(String name) {
        double eps = eps(name, 8 / 255.0);
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create(name, net, eps, budget(name)).run(x, y, null)) {
            float[] a = Backends.toFloatArray(x), b = Backends.toFloatArray(r.adversarial());
            int d = a.length / 120;
            for (int i = 0; i < 120; i++) {
                double sq = 0, mx = 0;
                for (int k = i * d; k < (i + 1) * d; k++) {
                    assertTrue(Float.isFinite(b[k]), name + ": NaN or Inf in the adversarial batch");
                    assertTrue(b[k] >= 0 && b[k] <= 1, name + ": outside the [0, 1] box: " + b[k]);
                    double diff = b[k] - a[k];
                    sq += diff * diff;
                    mx = Math.max(mx, Math.abs(diff));
                }
                double size = Attacks.normOf(name) == Norm.L2 ? Math.sqrt(sq) : mx;
                assertTrue(size <= eps + 1e-6, name + ": sample " + i + " perturbation " + size + " > eps " + eps);
            }
            if (Attacks.isScoreBased(name)) {
                assertEquals(0, r.gradientEvaluations(), name + " is score-based but took gradients");
                assertTrue(r.queries() > 0, name + " counted no queries");
            } else {
                assertTrue(r.gradientEvaluations() > 0, name + " counted no gradient evaluations");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("attackNames")
    void zeroEpsChangesNothing(String name) {
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create(name, net, 0, budget(name)).run(x, y, null)) {
            assertArrayEquals(Backends.toFloatArray(x), Backends.toFloatArray(r.adversarial()), name);
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            assertEquals(m.cleanAccuracy(), m.robustAccuracy(), name);
        }
    }

    @ParameterizedTest
    @MethodSource("attackNames")
    void largeEpsBreaksTheUndefendedModel(String name) {
        double eps = eps(name, 0.3);
        // The survey's CW uses a fixed step (0.003 x 30 steps reaches only 0.09), so at a large eps
        // it gets a step that scales with eps; every other attack runs with its defaults.
        Attacks.Overrides o = name.equals("cw") ? new Attacks.Overrides(null, eps / 10, null, null, null, null, null, null)
                : budget(name);
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create(name, net, eps, o).run(x, y, null)) {
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            // One FGSM step is weaker than the iterative attacks. SimBA tries each of the 144 DCT
            // directions of a 12 x 12 image once with a fixed step (one pass, as in the paper), so
            // it cannot search the whole ball; it lands near 0.15 here, far below clean accuracy 1.0.
            // A universal perturbation is one delta for all 120 images of 4 balanced classes: sending
            // every image to one class leaves that class's quarter correct, so it may keep up to 0.25
            // (+0.05 slack).
            double limit = name.equals("fgsm") ? 0.35 : name.equals("simba") ? 0.3 : Attacks.isUniversal(name) ? 0.3 : 0.05;
            assertTrue(m.robustAccuracy() <= limit, name + " robust accuracy " + m.robustAccuracy() + " at eps " + eps);
        }
    }

    @ParameterizedTest
    @MethodSource("attackNames")
    void sameSeedSameResult(String name) {
        try (MemoryScope s = MemoryScope.open();
             AttackResult a = Attacks.create(name, net, eps(name, 4 / 255.0), budget(name)).run(x, y, null);
             AttackResult b = Attacks.create(name, net, eps(name, 4 / 255.0), budget(name)).run(x, y, null)) {
            assertArrayEquals(Backends.toFloatArray(a.adversarial()), Backends.toFloatArray(b.adversarial()), name);
        }
    }

    @Test
    void strongerAttacksReportNoHigherRobustAccuracy() {
        double eps = 0.15;
        // By construction: restart 0 of a 3-restart run is the 1-restart run (same seed), and each
        // sample keeps its first success, so more restarts can only lower robust accuracy.
        Attacks.Overrides one = new Attacks.Overrides(5, null, null, 1, 11L, null, null, null);
        Attacks.Overrides three = new Attacks.Overrides(5, null, null, 3, 11L, null, null, null);
        try (MemoryScope s = MemoryScope.open();
             AttackResult fgsm = Attacks.create("fgsm", net, eps, null).run(x, y, null);
             AttackResult r1 = Attacks.create("pgd", net, eps, one).run(x, y, null);
             AttackResult r3 = Attacks.create("pgd", net, eps, three).run(x, y, null);
             AttackResult pgd40 = Attacks.create("pgd", net, eps, over(40)).run(x, y, null)) {
            AttackMetrics m1 = AttackMetrics.of(net, x, r1.adversarial(), y, r1);
            AttackMetrics m3 = AttackMetrics.of(net, x, r3.adversarial(), y, r3);
            assertTrue(m3.robustAccuracy() <= m1.robustAccuracy(), "3 restarts " + m3.robustAccuracy() + " > 1 restart "
                    + m1.robustAccuracy());
            for (int i = 0; i < 120; i++) {
                assertTrue(m1.adversarialCorrect()[i] || !m3.adversarialCorrect()[i], "sample " + i + " un-fooled by restarts");
            }
            // Empirical strength: 40 PGD steps beat one FGSM step on this non-robust model.
            double rf = AttackMetrics.of(net, x, fgsm.adversarial(), y, fgsm).robustAccuracy();
            double r40 = AttackMetrics.of(net, x, pgd40.adversarial(), y, pgd40).robustAccuracy();
            assertTrue(r40 < rf, "PGD-40 should beat FGSM at eps " + eps + ": " + r40 + " vs " + rf);
        }
    }

    @Test
    void earlyStopFreezesSamplesOnceAdversarial() {
        Attacks.Overrides early = new Attacks.Overrides(40, 0.01, false, null, null, null, true, null);
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create("pgd", net, 0.3, early).run(x, y, null)) {
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            assertTrue(m.robustAccuracy() <= 0.05);
            // A frozen sample stops right after crossing the boundary, well inside the 0.3 ball.
            assertTrue(m.maxLinf() < 0.3 - 1e-3 || m.meanL2() < 0.3 * 12, "early stop did not stop early");
        }
    }

    @Test
    void targetedPgdReachesTheTargets() {
        float[] t = Backends.toFloatArray(y);
        for (int i = 0; i < t.length; i++) t[i] = (t[i] + 1) % TrainedTinyNet.CLASSES;
        Attacks.Overrides o = new Attacks.Overrides(40, 0.02, null, null, null, true, null, null);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor targets = Backends.tensor(t, t.length);
            try (AttackResult r = Attacks.create("pgd", net, 0.3, o).run(x, y, targets)) {
                float[] pred = AttackMetrics.argmax(net, r.adversarial());
                int hit = 0;
                for (int i = 0; i < t.length; i++) if (pred[i] == t[i]) hit++;
                assertTrue(hit >= 0.9 * t.length, "targeted success " + hit + "/" + t.length);
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attacks.create("pgd", net, 0.3, o).run(x, y, null));
            assertTrue(e.getMessage().contains("needs target classes"));
        }
    }

    @Test
    void unknownAttackListsValidNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Attacks.create("pgdd", net, 0.1, null));
        assertTrue(e.getMessage().contains("Valid attacks: fgsm, bim, pgd") && e.getMessage().contains("segpgd"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ThreatModel.parseEps("8/x", "--eps"));
        assertEquals(8 / 255.0, ThreatModel.parseEps("8/255", "--eps"), 1e-12);
    }

    private static Attacks.Overrides over(int steps) {
        return new Attacks.Overrides(steps, null, null, null, null, null, null, null);
    }
}
