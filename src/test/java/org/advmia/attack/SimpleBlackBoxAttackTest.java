package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** SimBA-DCT: query accounting, strength against noise, batch independence, the DCT basis and order. */
class SimpleBlackBoxAttackTest {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;
    static final int N = 120;



    static Attacks.Overrides directions(int k) {
        return new Attacks.Overrides(k, null, null, null, null, null, null, null);
    }

    @Test
    void queriesAreCountedWithinTheBudgetAndNoGradientsAreTaken() {
        int k = 40;
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create("simba", net, 0.3, directions(k)).run(x, y, null)) {
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            assertEquals(0, r.gradientEvaluations());
            int robust = 0;
            for (boolean b : m.adversarialCorrect()) if (b) robust++;
            assertTrue(robust > 0 && robust < N, "40 directions should fool some samples and not others: " + robust);
            // Per sample: one query at the start, then one or two per direction until fooled; the
            // base adds one per sample for its final success check.
            assertTrue(r.queries() <= (long) N * (2 + 2 * k), "queries " + r.queries() + " over budget");
            assertTrue(r.queries() >= 2L * N + (long) robust * k, "robust samples must try every direction: " + r.queries());
        }
    }

    @Test
    void beatsRandomSignNoiseOfTheSameSize() {
        double eps = 0.3;
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create("simba", net, eps, null).run(x, y, null)) {
            double simba = AttackMetrics.of(net, x, r.adversarial(), y, r).robustAccuracy();
            double noise = AttackMetrics.of(net, x, SquareAttackTest.signNoise(x, eps, 5), y, null).robustAccuracy();
            System.out.printf("simba eps %.2f, defaults: robust accuracy %.3f; random +-eps signs: %.3f%n", eps, simba, noise);
            assertTrue(simba < noise - 0.3, "simba " + simba + " vs random signs " + noise);
        }
    }

    @Test
    void iterationsReuseThePooledMemory() {
        // At a tiny eps no sample is fooled, so every iteration has the same shapes: once a short
        // run has warmed the pool, a longer one must not ask the system for memory again.
        org.advmia.backend.Backend b = Backends.defaultBackend();
        try (MemoryScope s = MemoryScope.open()) {
            Attacks.create("simba", net, 0.001, directions(10)).run(x, y, null).close();
            long before = b.allocatorStats().systemAllocations();
            try (AttackResult r = Attacks.create("simba", net, 0.001, directions(60)).run(x, y, null)) {
                assertEquals(1.0, AttackMetrics.of(net, x, r.adversarial(), y, r).robustAccuracy());
            }
            assertEquals(before, b.allocatorStats().systemAllocations(), "pool misses during a longer run");
        }
    }

    @Test
    void aSampleGetsTheSameResultAloneAsInABatch() {
        int n = 16;
        Attacks.Overrides o = directions(60);
        try (MemoryScope s = MemoryScope.open();
             AttackResult batch = Attacks.create("simba", net, 0.3, o).run(x.narrow0(0, n), y.narrow0(0, n), null)) {
            float[] b = Backends.toFloatArray(batch.adversarial());
            int d = b.length / n;
            long singles = 0;
            for (int i = 0; i < n; i++) {
                try (AttackResult one = Attacks.create("simba", net, 0.3, o).run(x.narrow0(i, 1), y.narrow0(i, 1), null)) {
                    float[] row = java.util.Arrays.copyOfRange(b, i * d, (i + 1) * d);
                    assertArrayEquals(row, Backends.toFloatArray(one.adversarial()), "sample " + i);
                    singles += one.queries();
                }
            }
            assertEquals(batch.queries(), singles, "per-sample query counts");
        }
    }

    @Test
    void targetedSimbaRaisesTheTargetClass() {
        float[] t = Backends.toFloatArray(y);
        for (int i = 0; i < t.length; i++) t[i] = (t[i] + 1) % TrainedTinyNet.CLASSES;
        Attacks.Overrides o = new Attacks.Overrides(null, null, null, null, null, true, null, null);
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create("simba", net, 0.3, o).run(x, y, Backends.tensor(t, t.length))) {
            float[] pred = AttackMetrics.argmax(net, r.adversarial());
            int hit = 0;
            for (int i = 0; i < t.length; i++) if (pred[i] == t[i]) hit++;
            System.out.printf("targeted simba eps 0.30: %d/%d reach the target%n", hit, t.length);
            assertTrue(hit >= 0.5 * t.length, "targeted success " + hit + "/" + t.length);
        }
    }

    @Test
    void dctRowsAreOrthonormal() {
        for (int len : new int[] {1, 5, 12}) {
            try (MemoryScope s = MemoryScope.open()) {
                double[] d = Backends.toDoubleArray(SimpleBlackBoxAttack.dctMatrix(len, DType.FLOAT64));
                for (int a = 0; a < len; a++) {
                    for (int b = 0; b < len; b++) {
                        double dot = 0;
                        for (int i = 0; i < len; i++) dot += d[a * len + i] * d[b * len + i];
                        assertEquals(a == b ? 1 : 0, dot, 1e-12, "rows " + a + ", " + b + " of the " + len + "-point DCT");
                    }
                }
            }
        }
    }

    @Test
    void orderVisitsLowFrequenciesFirstThenBands() {
        int c = 3, h = 12, w = 10, freq = 3, stride = 2;
        float[] keys = new float[c * h * w];
        Random r = new Random(1);
        for (int i = 0; i < keys.length; i++) keys[i] = r.nextFloat();
        int[] order = SimpleBlackBoxAttack.directionOrder(c, h, w, freq, stride, keys, Integer.MAX_VALUE);
        assertEquals(c * h * w, order.length);
        Set<Integer> seen = new HashSet<>();
        int lastBand = 0;
        for (int i = 0; i < order.length; i++) {
            assertTrue(seen.add(order[i]), "direction " + order[i] + " repeated");
            int top = Math.max((order[i] / w) % h, order[i] % w);
            int band = top < freq ? 0 : 1 + (top - freq) / stride;
            assertTrue(band >= lastBand, "band order broken at " + i);
            if (i < c * freq * freq) assertEquals(0, band, "the first " + c * freq * freq + " are the low block");
            lastBand = band;
        }
        // Within the low block the order is random, and every channel takes part.
        Set<Integer> channels = new HashSet<>();
        for (int i = 0; i < c * freq * freq; i++) channels.add(order[i] / (h * w));
        assertEquals(c, channels.size());
        assertEquals(5, SimpleBlackBoxAttack.directionOrder(c, h, w, freq, stride, keys, 5).length);
    }
}
