package org.advmia.defense;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.advmia.attack.AttackLoss;
import org.advmia.attack.AttackMetrics;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.attack.AutoAttack;
import org.advmia.attack.SanityFlags;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.optim.Adam;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Defensive distillation at T = 100 on DefensesTest's 2-class task: the deployed student must show
 * the known gradient masking (saturated softmax, CE-PGD "robust") and a scale-invariant attack
 * (CW-margin PGD, AutoAttack) must see through it.
 */
class DefensiveDistillationTest {
    static final double T = DefensiveDistillation.DEFAULT_TEMPERATURE;
    static Model nat, teacher, student;

    /**
     * Adam, not SGD, as advmia train and the benchmark use for distillation: the logits must grow
     * about T-fold, which Adam's normalised steps reach within a test's budget (student accuracy 1.0
     * after 160 steps); plain SGD at lr 0.05 reached 0.09 (measured before the objectives were
     * scaled by T, which Adam is insensitive to).
     */
    static Model train(Defense d) {
        DefensesTest.Net net = new DefensesTest.Net(Init.seeded(1));
        try (Adam adam = new Adam(net.namedParameters(), 0.01, 0.9, 0.999, 1e-8, 0, false)) {
            for (int epoch = 0; epoch < 40; epoch++) {
                for (int b = 0; b < 4; b++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        Tensor[] batch = DefensesTest.data(40, 1000L * epoch + b);
                        double loss = d.step(net, adam, batch[0], batch[1], epoch);
                        assertTrue(Double.isFinite(loss), d.name() + ": loss " + loss);
                    }
                }
            }
        }
        net.eval();
        return net;
    }

    @BeforeAll
    static void trainAll() {
        DefenseConfig cfg = DefenseConfig.survey(0).withSeed(7);
        nat = train(new NaturalTraining(cfg));
        teacher = train(DefensiveDistillation.teacherObjective(cfg, T));
        student = train(Defenses.create("distillation", cfg, teacher, false, new Defenses.Extra(T, 1)));
    }

    @AfterAll
    static void free() {
        nat.close();
        teacher.close();
        student.close();
    }

    static double robust(Model m, AttackLoss loss) {
        double eps = DefensesTest.EPS;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] d = DefensesTest.data(200, 77);
            try (AttackResult r = Attacks.create("pgd", m, eps, new Attacks.Overrides(20, eps / 8, true, null, 3L, null,
                    null, loss)).run(d[0], d[1], null)) {
                AttackMetrics am = AttackMetrics.of(m, d[0], r.adversarial(), d[1], r);
                assertTrue(am.cleanAccuracy() >= 0.95, m.name() + " clean accuracy " + am.cleanAccuracy());
                return am.robustAccuracy();
            }
        }
    }

    @Test
    void studentMatchesTheTeachersSoftLabelsAtT() {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor x = DefensesTest.data(200, 77)[0];
            float[] zt = Backends.toFloatArray(teacher.logits(Variable.constant(x)).value());
            float[] zs = Backends.toFloatArray(student.logits(Variable.constant(x)).value());
            double diff = 0, scale = 0;
            for (int i = 0; i < 200; i++) {
                double pt = 1 / (1 + Math.exp((zt[2 * i] - zt[2 * i + 1]) / T));   // softmax(z / T) of class 1
                double ps = 1 / (1 + Math.exp((zs[2 * i] - zs[2 * i + 1]) / T));
                diff += Math.abs(pt - ps) / 200;
                scale += Math.abs(zs[2 * i] - zs[2 * i + 1]) / 200;
            }
            // Distillation fits the teacher's T-softened probabilities: a mean gap of 0.05 is a close fit
            // (an untrained student is ~0.5 off); and deployed at T = 1 its margins are far beyond the
            // ~5-20 of a natural model: the scaled-up logits that saturate the softmax.
            assertTrue(diff < 0.05, "student vs teacher soft labels at T: mean |p_s - p_t| = " + diff);
            assertTrue(scale > SanityFlags.saturationMargin(org.advmia.tensor.DType.FLOAT32),
                    "mean |logit margin| " + scale);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void saturationFlagFiresOnTheDistilledModelOnly() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] d = DefensesTest.data(200, 77);
            List<String> distilled = SanityFlags.checkSaturatedSoftmax(student, d[0]);
            assertEquals(1, distilled.size(), "no saturation flag on the distilled student");
            assertTrue(distilled.get(0).contains("saturated softmax"), distilled.get(0));
            // The same flag stays silent on the naturally trained model (margins of a few units).
            assertEquals(List.of(), SanityFlags.checkSaturatedSoftmax(nat, d[0]));
            // And the existing zero-gradient flag agrees: CE gradients are exactly zero on most samples.
            assertEquals(1, SanityFlags.checkZeroGradients(student, d[0], d[1]).size());
            assertEquals(List.of(), SanityFlags.checkZeroGradients(nat, d[0], d[1]));
        }
    }

    @Test
    void gradientMaskingShowsUpUnderCeAndIsSeenThroughByScaleInvariantAttacks() {
        double natRobust = robust(nat, AttackLoss.CE);
        double ce = robust(student, AttackLoss.CE), cw = robust(student, AttackLoss.CW);
        // 200 points, binomial SE <= 0.035. Masking shows up: under CE-PGD the student looks far more
        // robust than NAT (by >= 0.2, ~6 SE), and the scale-invariant CW loss on the same model and
        // budget finds >= 0.5 more adversarial examples than CE does. Seen through: under CW it is no
        // more robust than NAT (within 0.1, ~3 SE), the known result that distillation adds none.
        // Measured: NAT 0.19 (Adam-trained, as the student); student 0.905 under CE-PGD, 0.015 under CW.
        assertTrue(ce > natRobust + 0.2, "CE-PGD should be fooled by the masking: student " + ce + " vs NAT " + natRobust);
        assertTrue(cw < ce - 0.5, "CW-PGD should see through the masking: " + cw + " vs CE-PGD " + ce);
        assertTrue(cw <= natRobust + 0.1, "CW-PGD: student " + cw + " vs NAT " + natRobust);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] d = DefensesTest.data(200, 77);
            AutoAttack aa = AutoAttack.withBudget(student, DefensesTest.EPS, new AutoAttack.Budget(20, 1, 10, 200), 3);
            try (AttackResult r = aa.run(d[0], d[1], null)) {
                double acc = AttackMetrics.of(student, d[0], r.adversarial(), d[1], r).robustAccuracy();
                // AutoAttack's DLR stages are scale-invariant: it must not be fooled either (measured 0.015).
                assertTrue(acc <= natRobust + 0.1 && acc < ce - 0.5, "AutoAttack robust accuracy " + acc);
            }
        }
    }

    @Test
    void badSettingsAreRefused() {
        DefenseConfig cfg = DefenseConfig.survey(0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Defenses.create("distillation", cfg, null, false));
        assertTrue(e.getMessage().contains("teacher"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Defenses.create("distillation", cfg, nat, false, new Defenses.Extra(0.5, 1)));
        assertTrue(e.getMessage().contains("--temperature"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DefensiveDistillation.teacherObjective(cfg, Double.NaN));
    }
}
