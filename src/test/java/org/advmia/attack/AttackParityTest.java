package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.nn.SafeTensors;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * FGSM, PGD (fixed start), the survey's CW-margin PGD and APGD-CE against PyTorch reference runs
 * (scripts/make_attack_fixtures.py) with the same weights and start, all in float64.
 *
 * <p>Tolerance 1e-9 per pixel: both sides compute in float64, so trajectories agree to rounding
 * (~1e-15 per op); a single step taken in a different direction would move a pixel by the step
 * size (>= 0.008), and any bookkeeping error in APGD by a full step, so the bound separates
 * "same algorithm" from "different algorithm" by many orders of magnitude.
 */
class AttackParityTest {
    @Test
    void matchesPyTorchReferenceRuns() throws Exception {
        Path file = Path.of("src/test/resources/fixtures/attacks.safetensors");
        try (SafeTensors.Contents fx = SafeTensors.read(file, DType.FLOAT64); MemoryScope s = MemoryScope.open();
             SmallCnn model = new SmallCnn(1, 10, 17, 16, new Init(0, DType.FLOAT64))) {
            Map<String, Tensor> weights = new LinkedHashMap<>();
            fx.tensors.forEach((k, v) -> {
                if (k.startsWith("weights.")) weights.put(k.substring(8), v);
            });
            model.loadStateDict(weights, file.toString());
            double eps = Double.parseDouble(fx.metadata.get("eps"));
            Tensor x = fx.get("input"), y = fx.get("labels");
            check("fgsm", Attacks.create("fgsm", model, eps, null), x, y, fx.get("fgsm"));
            check("pgd", Attacks.create("pgd", model, eps, fixedStart(10, eps / 4)), x, y, fx.get("pgd"));
            check("cw", Attacks.create("cw", model, eps, fixedStart(30, eps / 10)), x, y, fx.get("cw"));
            check("apgd-ce", Attacks.create("apgd-ce", model, eps, fixedStart(20, null)), x, y, fx.get("apgd_ce"));
        }
    }

    private static Attacks.Overrides fixedStart(int steps, Double stepSize) {
        return new Attacks.Overrides(steps, stepSize, false, null, null, null, null, null);
    }

    private static void check(String name, Attack attack, Tensor x, Tensor y, Tensor expected) {
        try (AttackResult r = attack.run(x, y, null)) {
            double[] a = Backends.toDoubleArray(r.adversarial()), e = Backends.toDoubleArray(expected);
            assertEquals(e.length, a.length);
            double worst = 0;
            int changed = 0;
            double[] x0 = Backends.toDoubleArray(x);
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - e[i]));
                if (Math.abs(e[i] - x0[i]) > 1e-6) changed++;
            }
            assertTrue(changed > a.length / 10, name + ": the reference barely moved; the fixture is not informative");
            assertTrue(worst <= 1e-9, name + ": max |ours - PyTorch| = " + worst);
        }
    }
}
