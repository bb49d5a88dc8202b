package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Square Attack: query accounting, strength against noise, batch independence, the schedule. */
class SquareAttackTest {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;
    static final int N = 120;



    static Attacks.Overrides queries(int q) {
        return new Attacks.Overrides(q, null, null, null, null, null, null, null);
    }

    @Test
    void queriesAreCountedWithinTheBudgetAndNoGradientsAreTaken() {
        int q = 100;
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create("square", net, 0.06, queries(q)).run(x, y, null)) {
            AttackMetrics m = AttackMetrics.of(net, x, r.adversarial(), y, r);
            assertEquals(0, r.gradientEvaluations());
            // Per sample: the start plus one per iteration until it is fooled, at most q; the
            // base adds one query per sample for its final success check.
            int robust = 0;
            for (boolean b : m.adversarialCorrect()) if (b) robust++;
            assertTrue(robust > 0 && robust < N, "eps should fool some samples and not others: " + robust);
            assertTrue(r.queries() <= (long) N * (q + 1), "queries " + r.queries() + " over budget");
            assertTrue(r.queries() >= N + (long) robust * q + (N - robust), "robust samples must use the whole budget: "
                    + r.queries());
        }
    }

    @Test
    void beatsRandomSignNoiseOfTheSameSize() {
        double eps = 0.15;
        try (MemoryScope s = MemoryScope.open(); AttackResult r = Attacks.create("square", net, eps, queries(200)).run(x, y, null)) {
            double square = AttackMetrics.of(net, x, r.adversarial(), y, r).robustAccuracy();
            double noise = AttackMetrics.of(net, x, signNoise(x, eps, 5), y, null).robustAccuracy();
            System.out.printf("square eps %.2f, 200 queries: robust accuracy %.3f; random +-eps signs: %.3f%n", eps, square,
                    noise);
            assertTrue(square < noise - 0.2, "square " + square + " vs random signs " + noise);
        }
    }

    @Test
    void iterationsReuseThePooledMemory() {
        // At a tiny eps no sample is fooled, so every iteration has the same shapes: once a short
        // run has warmed the pool, a longer one must not ask the system for memory again.
        org.advmia.backend.Backend b = Backends.defaultBackend();
        try (MemoryScope s = MemoryScope.open()) {
            Attacks.create("square", net, 0.001, queries(10)).run(x, y, null).close();
            long before = b.allocatorStats().systemAllocations();
            try (AttackResult r = Attacks.create("square", net, 0.001, queries(60)).run(x, y, null)) {
                assertEquals(1.0, AttackMetrics.of(net, x, r.adversarial(), y, r).robustAccuracy());
            }
            assertEquals(before, b.allocatorStats().systemAllocations(), "pool misses during a longer run");
        }
    }

    @Test
    void aSampleGetsTheSameResultAloneAsInABatch() {
        assertBatchIndependent("square", 0.1, 150, 16);
    }

    /** Each of the first n samples attacked alone gives the batch's row bit for bit, and the same query count. */
    static void assertBatchIndependent(String attack, double eps, int queries, int n) {
        Attacks.Overrides o = queries(queries);
        try (MemoryScope s = MemoryScope.open();
             AttackResult batch = Attacks.create(attack, net, eps, o).run(x.narrow0(0, n), y.narrow0(0, n), null)) {
            float[] b = Backends.toFloatArray(batch.adversarial());
            int d = b.length / n;
            long singles = 0;
            for (int i = 0; i < n; i++) {
                try (AttackResult one = Attacks.create(attack, net, eps, o).run(x.narrow0(i, 1), y.narrow0(i, 1), null)) {
                    float[] row = java.util.Arrays.copyOfRange(b, i * d, (i + 1) * d);
                    assertArrayEquals(row, Backends.toFloatArray(one.adversarial()), attack + " sample " + i);
                    singles += one.queries();
                }
            }
            assertEquals(batch.queries(), singles, attack + ": per-sample query counts");
        }
    }

    @Test
    void targetedSquareReachesTheTargets() {
        int hit = targetedHits("square", 0.3, 300);
        assertTrue(hit >= 0.9 * N, "targeted success " + hit + "/" + N);
    }

    /** How many samples a targeted run towards (label + 1) mod K lands on its target. */
    static int targetedHits(String attack, double eps, int queries) {
        float[] t = Backends.toFloatArray(y);
        for (int i = 0; i < t.length; i++) t[i] = (t[i] + 1) % TrainedTinyNet.CLASSES;
        Attacks.Overrides o = new Attacks.Overrides(queries, null, null, null, null, true, null, null);
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create(attack, net, eps, o).run(x, y, Backends.tensor(t, t.length))) {
            float[] pred = AttackMetrics.argmax(net, r.adversarial());
            int hit = 0;
            for (int i = 0; i < t.length; i++) if (pred[i] == t[i]) hit++;
            return hit;
        }
    }

    @Test
    void scheduleFollowsThePaperRescaledToTheBudget() {
        assertEquals(0.8, SquareAttack.pSchedule(0.8, 0, 10000));
        assertEquals(0.8, SquareAttack.pSchedule(0.8, 10, 10000));
        assertEquals(0.4, SquareAttack.pSchedule(0.8, 11, 10000));
        assertEquals(0.2, SquareAttack.pSchedule(0.8, 51, 10000));
        assertEquals(0.8 / 256, SquareAttack.pSchedule(0.8, 8000, 10000));
        assertEquals(0.8 / 512, SquareAttack.pSchedule(0.8, 9999, 10000));
        assertEquals(0.8, SquareAttack.pSchedule(0.8, 5, 5000));      // 5 / 5000 of the run = 10 / 10000
        assertEquals(0.4, SquareAttack.pSchedule(0.8, 6, 5000));
        assertEquals(11, SquareAttack.side(0.8, 12, 12));                // round(sqrt(115.2)) = 11
        assertEquals(11, SquareAttack.side(1.0, 12, 12));                // at most H - 1
        assertEquals(1, SquareAttack.side(0.001, 12, 12));               // at least 1
        assertEquals(2, SquareAttack.side(6.25 / 144, 12, 12));          // 2.5 rounds half to even
    }

    /** x plus an independent uniformly random +-eps per pixel, clipped to [0, 1]. */
    static Tensor signNoise(Tensor x, double eps, long seed) {
        Tensor u = Backends.defaultBackend().empty(x.dtype(), x.shape());
        new Generator(seed).uniform(u, 0, 1);
        float[] a = Backends.toFloatArray(x), r = Backends.toFloatArray(u);
        for (int i = 0; i < a.length; i++) a[i] = (float) Math.min(1, Math.max(0, a[i] + (r[i] < 0.5 ? -eps : eps)));
        return Backends.tensor(a, x.shape().toArray());
    }
}
