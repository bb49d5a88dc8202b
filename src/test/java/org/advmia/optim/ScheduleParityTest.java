package org.advmia.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each schedule against the rates torch.optim.lr_scheduler produced for the same settings
 * (scripts/make_optim_fixtures.py): rate t is the one PyTorch's optimizer holds for its t-th step.
 *
 * <p>Tolerance: max|ours - torch| / max|torch| <= 1e-12. CosineAnnealingLR and StepLR compute each
 * rate from the previous one, so their values drift from the closed form by a few ulps per step
 * (about 1e-15 relative over these 50 steps), and Java's Math.cos may differ from C's cos by an ulp;
 * a wrong formula, phase boundary or off-by-one step is off by more than 1e-4.
 */
class ScheduleParityTest {
    static final double TOLERANCE = 1e-12;

    static LrSchedule build(String kind, Map<String, Object> a) {
        return switch (kind) {
            case "onecycle" -> new OneCycle(Fixtures.num(a, "max_lr"), (long) Fixtures.num(a, "total_steps"),
                    Fixtures.num(a, "pct_start"), a.get("anneal_strategy").equals("cos") ? OneCycle.Anneal.COS
                    : OneCycle.Anneal.LINEAR, Fixtures.num(a, "div_factor"), Fixtures.num(a, "final_div_factor"),
                    (Boolean) a.get("three_phase"));
            case "cosine" -> new Cosine(Fixtures.num(a, "base_lr"), (long) Fixtures.num(a, "T_max"),
                    Fixtures.num(a, "eta_min"));
            case "step" -> new Step(Fixtures.num(a, "base_lr"), (long) Fixtures.num(a, "step_size"),
                    Fixtures.num(a, "gamma"));
            case "piecewise" -> new PiecewiseLinear(Fixtures.doubles(a.get("steps")), Fixtures.doubles(a.get("lrs")));
            default -> throw new IllegalArgumentException("unknown schedule kind in fixture: " + kind);
        };
    }

    @Test
    void ratesMatchPyTorch() throws Exception {
        List<Map<String, Object>> cases = Fixtures.list(Fixtures.load(), "schedules");
        assertFalse(cases.isEmpty());
        for (Map<String, Object> c : cases) {
            String name = (String) c.get("name");
            LrSchedule s = build((String) c.get("kind"), Fixtures.map(c, "args"));
            double[] expected = Fixtures.doubles(c.get("lrs"));
            double[] actual = new double[expected.length];
            for (int t = 0; t < actual.length; t++) actual[t] = s.lr(t);
            double err = Fixtures.relativeError(expected, actual);
            assertTrue(err <= TOLERANCE, name + " (" + s + "): relative error " + err);
            if (s instanceof OneCycle oc) {
                // OneCycleLR's default momentum cycling (0.95 -> 0.85 -> 0.95), read from SGD in torch.
                double[] momenta = Fixtures.doubles(c.get("momenta"));
                double[] ours = new double[momenta.length];
                for (int t = 0; t < ours.length; t++) ours[t] = oc.momentum(t);
                double merr = Fixtures.relativeError(momenta, ours);
                assertTrue(merr <= TOLERANCE, name + " momentum: relative error " + merr);
                Sgd sgd = new Sgd(Map.of(), 0.1, 0.9, 0);
                oc.apply(sgd, 3);
                assertEquals(momenta[3], sgd.momentum(), 0, "apply sets SGD's momentum");
            }
        }
    }

    @Test
    void applySetsTheOptimizersRate() {
        Sgd sgd = new Sgd(Map.of(), 1.0, 0, 0);
        LrSchedule s = new PiecewiseLinear(new double[] {0, 4, 10}, new double[] {0, 0.2, 0});
        assertEquals(0.1, s.apply(sgd, 2), 1e-15);
        assertEquals(0.1, sgd.lr(), 1e-15);
        assertEquals(0.0, s.apply(sgd, 10));
        assertEquals(0.0, s.apply(sgd, 1000), "held at the last knot's rate");
    }

    @Test
    void schedulesAreStatelessInTheStepIndex() {
        LrSchedule s = new OneCycle(0.3, 100);
        double late = s.lr(77);
        for (int t = 0; t < 100; t++) s.lr(t);
        assertEquals(late, s.lr(77));
        assertEquals(0.3, s.lr(29), 1e-15, "peak at pct_start * total_steps - 1");
        assertEquals(0.3 / 25 / 1e4, s.lr(99), 1e-15, "minimum at the last step");
    }
}
