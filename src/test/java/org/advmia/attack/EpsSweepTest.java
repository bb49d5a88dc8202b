package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

class EpsSweepTest {
    @Test
    void sweepIsMonotoneAndAgreesWithSingleRunsAtTheSmallestEps() {
        try (MemoryScope s = MemoryScope.open(); TrainedTinyNet net = TrainedTinyNet.train(3)) {
            Tensor[] d = TrainedTinyNet.data(120, 5);
            double[] eps = {0.2, 0.0, 0.05, 0.1};
            List<EpsSweep.Point> sweep = EpsSweep.run("pgd", net, eps, null, d[0], d[1]);
            assertEquals(4, sweep.size());
            assertEquals(0.0, sweep.get(0).eps());
            double clean = AttackMetrics.of(net, d[0], d[0], d[1], null).cleanAccuracy();
            assertEquals(clean, sweep.get(0).robustAccuracy(), 1e-12, "eps 0 leaves clean accuracy");
            double[] es = new double[4], ra = new double[4];
            for (int i = 0; i < 4; i++) {
                es[i] = sweep.get(i).eps();
                ra[i] = sweep.get(i).robustAccuracy();
                if (i > 0) assertTrue(ra[i] <= ra[i - 1], "robust accuracy rose with eps: " + java.util.Arrays.toString(ra));
            }
            assertTrue(SanityFlags.checkMonotoneInEps(es, ra).isEmpty());
            assertTrue(ra[3] < ra[1], "eps 0.2 should break more than 0.05: " + java.util.Arrays.toString(ra));
            // The first attacked eps sees all clean-correct points, exactly as a single run does.
            try (AttackResult r = Attacks.create("pgd", net, 0.05, null).run(d[0], d[1], null)) {
                assertEquals(AttackMetrics.of(net, d[0], r.adversarial(), d[1], r).robustAccuracy(), ra[1], 1e-12);
            }
            assertEquals(1, SanityFlags.checkMonotoneInEps(new double[] {0.1, 0.2}, new double[] {0.3, 0.4}).size());
        }
    }
}
