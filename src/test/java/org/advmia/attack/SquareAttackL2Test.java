package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** Square Attack L2: the published pattern and proposal, strength against noise, targeting, batch independence. */
class SquareAttackL2Test {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Tensor x = TrainedTinyNet.Shared.X, y = TrainedTinyNet.Shared.Y;
    static final int N = 120;

    static Attacks.Overrides queries(int q) {
        return SquareAttackTest.queries(q);
    }

    /**
     * The paper's pattern built the way its description reads: start from zeros and, for k = 0, 1,
     * ..., add 1/(k+1)^2 on the centred rectangle grown by k in every direction (clipped), then
     * normalise. The attack computes the same values from the Chebyshev distance; they must agree
     * to float64 rounding (1e-12: both sum the same few terms in a different order).
     */
    @Test
    void rectanglePatternMatchesTheIncrementalConstruction() {
        for (int[] rc : new int[][]{{1, 3}, {2, 5}, {3, 7}, {4, 9}, {6, 13}, {5, 5}, {12, 25}}) {
            int rows = rc[0], cols = rc[1];
            double[] want = new double[rows * cols];
            int r0 = rows / 2, c0 = cols / 2;
            for (int k = 0; k <= Math.max(r0, c0); k++) {
                for (int i = Math.max(0, r0 - k); i <= Math.min(rows - 1, r0 + k); i++) {
                    for (int j = Math.max(0, c0 - k); j <= Math.min(cols - 1, c0 + k); j++) {
                        want[i * cols + j] += 1.0 / ((k + 1) * (k + 1));
                    }
                }
            }
            double n = 0;
            for (double v : want) n += v * v;
            for (int i = 0; i < want.length; i++) want[i] /= Math.sqrt(n);
            assertArrayEquals(want, SquareAttackL2.rectangles(rows, cols), 1e-12, rows + "x" + cols);
        }
    }

    @Test
    void metaPatternIsAUnitNormDipoleAndTransposes() {
        for (int s : new int[]{3, 5, 9, 25}) {
            double[] p = SquareAttackL2.metaPattern(s, false), t = SquareAttackL2.metaPattern(s, true);
            double norm = 0;
            for (double v : p) norm += v * v;
            assertEquals(1.0, norm, 1e-12, "norm of the side-" + s + " pattern");
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) {
                    double v = p[i * s + j];
                    assertTrue(i < s / 2 ? v > 0 : v < 0, "side " + s + " (" + i + "," + j + ") = " + v);
                    assertEquals(v, t[j * s + i], 0.0, "transpose");
                }
            }
        }
    }

    @Test
    void windowSideIsOddAtLeastThreeAndFits() {
        assertEquals(25, SquareAttackL2.side(0.8, 28, 28));   // round(sqrt(627.2)) = 25
        assertEquals(27, SquareAttackL2.side(0.95, 28, 28));  // round(27.3) = 27
        assertEquals(3, SquareAttackL2.side(0.001, 28, 28));  // at least 3
        assertEquals(11, SquareAttackL2.side(1.0, 12, 12));   // 12 is even: the largest odd side that fits
        assertEquals(15, SquareAttackL2.side(0.25, 28, 28));  // 14 is even: next odd
    }

    @Test
    void proposalMovesMassIntoWindowOneAndEmptiesTheRestOfWindowTwo() {
        int c = 2, h = 10, w = 10;
        SplittableRandom r = new SplittableRandom(3);
        double[] delta = new double[c * h * w];
        SquareAttackL2.initialPerturbation(delta, c, h, w, new SplittableRandom(1));
        double[] before = delta.clone();
        SquareAttackL2.propose(delta, c, h, w, 3, 1.0, r);
        int changed = 0;
        for (int k = 0; k < delta.length; k++) if (delta[k] != before[k]) changed++;
        // Two 3x3 windows in 2 channels: at most 36 entries can change, and some must.
        assertTrue(changed > 0 && changed <= 36, "changed entries " + changed);
    }

    @Test
    void staysInTheL2BallAndQueriesStayWithinBudget() {
        int q = 100;
        double eps = 1.0;
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create("square-l2", net, eps, queries(q)).run(x, y, null)) {
            float[] a = Backends.toFloatArray(x), b = Backends.toFloatArray(r.adversarial());
            int d = a.length / N;
            for (int i = 0; i < N; i++) {
                double sq = 0;
                for (int k = i * d; k < (i + 1) * d; k++) {
                    assertTrue(b[k] >= 0 && b[k] <= 1 && Float.isFinite(b[k]), "box");
                    sq += (b[k] - a[k]) * (double) (b[k] - a[k]);
                }
                assertTrue(Math.sqrt(sq) <= eps + 1e-6, "sample " + i + ": L2 " + Math.sqrt(sq));
            }
            assertEquals(0, r.gradientEvaluations());
            assertTrue(r.queries() <= (long) N * (q + 1), "queries " + r.queries());
        }
    }

    /**
     * Against Gaussian noise rescaled to the same L2 norm (the natural "random search without
     * search" baseline), 200 queries must leave clearly fewer samples robust. Margin 0.2: measured
     * noise leaves almost every sample robust at this eps; a working search fools most of them.
     */
    @Test
    void beatsRandomNoiseOfTheSameNorm() {
        double eps = 2.0;
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create("square-l2", net, eps, queries(200)).run(x, y, null)) {
            double square = AttackMetrics.of(net, x, r.adversarial(), y, r).robustAccuracy();
            double noise = AttackMetrics.of(net, x, l2Noise(x, eps, 7), y, null).robustAccuracy();
            System.out.printf("square-l2 eps %.1f, 200 queries: robust accuracy %.3f; random L2 noise: %.3f%n", eps,
                    square, noise);
            assertTrue(square < noise - 0.2, "square-l2 " + square + " vs random noise " + noise);
        }
    }

    @Test
    void targetedReachesTheTargets() {
        int hit = SquareAttackTest.targetedHits("square-l2", 4.0, 300);
        assertTrue(hit >= 0.8 * N, "targeted success " + hit + "/" + N);
    }

    @Test
    void aSampleGetsTheSameResultAloneAsInABatch() {
        SquareAttackTest.assertBatchIndependent("square-l2", 1.5, 80, 12);
    }

    @Test
    void refusesAnLinfThreatModel() {
        assertThrows(IllegalArgumentException.class,
                () -> new SquareAttackL2(net, ThreatModel.linf(0.1), AttackOptions.defaults(), 0.8));
    }

    /** x plus Gaussian noise rescaled to L2 norm eps per sample, clipped to [0, 1]. */
    static Tensor l2Noise(Tensor x, double eps, long seed) {
        Tensor g = Backends.defaultBackend().empty(x.dtype(), x.shape());
        new Generator(seed).normal(g, 0, 1);
        float[] a = Backends.toFloatArray(x), r = Backends.toFloatArray(g);
        int d = a.length / (int) x.dim(0);
        for (int i = 0; i < x.dim(0); i++) {
            double n = 0;
            for (int k = i * d; k < (i + 1) * d; k++) n += r[k] * (double) r[k];
            double sc = eps / Math.sqrt(n);
            for (int k = i * d; k < (i + 1) * d; k++) a[k] = (float) Math.min(1, Math.max(0, a[k] + sc * r[k]));
        }
        return Backends.tensor(a, x.shape().toArray());
    }
}
