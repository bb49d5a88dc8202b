package org.advmia.defense.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DetectionMetricsTest {
    // AUROC is a ratio of small integers (counts of pairs, ties as halves), exact in double up to
    // the last bit of one division; 1e-12 allows only that rounding.
    private static final double EXACT = 1e-12;

    @Test
    void aurocOfAHandCheckableCase() {
        // Pairs (adv, clean): 2>1, 2=2 (1/2), 2<3, 4>1, 4>2, 4>3: (1 + 0.5 + 0 + 3) / 6 = 0.75.
        assertEquals(0.75, DetectionMetrics.auroc(new double[] {1, 2, 3}, new double[] {2, 4}), EXACT);
        assertEquals(1.0, DetectionMetrics.auroc(new double[] {0, 1}, new double[] {2, 3}), EXACT);
        assertEquals(0.0, DetectionMetrics.auroc(new double[] {2, 3}, new double[] {0, 1}), EXACT);
        assertEquals(0.5, DetectionMetrics.auroc(new double[] {5, 5, 5}, new double[] {5}), EXACT);
    }

    @Test
    void aurocEqualsTheBruteForcePairwiseCount() {
        Random r = new Random(7);
        for (int trial = 0; trial < 50; trial++) {
            double[] clean = new double[1 + r.nextInt(40)], adv = new double[1 + r.nextInt(40)];
            // Small integers, so ties are frequent and the tie rule is exercised.
            for (int i = 0; i < clean.length; i++) clean[i] = r.nextInt(8);
            for (int i = 0; i < adv.length; i++) adv[i] = r.nextInt(8) + 1;
            double pairs = 0;
            for (double a : adv) for (double c : clean) pairs += a > c ? 1 : a == c ? 0.5 : 0;
            assertEquals(pairs / (clean.length * adv.length), DetectionMetrics.auroc(clean, adv), EXACT);
        }
    }

    @Test
    void tprAtFprUsesTheDocumentedThresholdAndTieRule() {
        double[] clean = new double[20];
        for (int i = 0; i < 20; i++) clean[i] = i;               // 0..19: one may be flagged at 5 %
        // Threshold = 2nd largest clean = 18; flagged iff score > 18, so 18 is not flagged, 18.5, 19, 30 are.
        assertEquals(0.75, DetectionMetrics.tprAtFpr(clean, new double[] {18, 18.5, 19, 30}, 0.05), EXACT);
        // Fewer than 20 clean inputs: no false positive is allowed, the threshold is the largest clean score.
        assertEquals(0.5, DetectionMetrics.tprAtFpr(new double[] {1, 2, 3}, new double[] {3, 4}, 0.05), EXACT);
        // All clean scores tied: none may be flagged, so adversarial scores tied with them are not either.
        double[] tied = new double[40];
        java.util.Arrays.fill(tied, 2.0);
        assertEquals(0.0, DetectionMetrics.tprAtFpr(tied, new double[] {2, 2, 2}, 0.05), EXACT);
        assertEquals(1.0, DetectionMetrics.tprAtFpr(tied, new double[] {2.5, 3}, 0.05), EXACT);
        // FPR budget 1: everything flagged.
        assertEquals(1.0, DetectionMetrics.tprAtFpr(new double[] {5}, new double[] {-10}, 1.0), EXACT);
    }

    @Test
    void tprAtFprIsTheBestRateWithinTheFalsePositiveBudget() {
        Random r = new Random(11);
        for (int trial = 0; trial < 50; trial++) {
            double[] clean = new double[20 + r.nextInt(60)], adv = new double[1 + r.nextInt(30)];
            for (int i = 0; i < clean.length; i++) clean[i] = r.nextInt(12);
            for (int i = 0; i < adv.length; i++) adv[i] = r.nextInt(15);
            // Brute force over every threshold t (flag iff score > t) among all scores and -infinity.
            double best = 0;
            double[] candidates = new double[clean.length + adv.length + 1];
            System.arraycopy(clean, 0, candidates, 0, clean.length);
            System.arraycopy(adv, 0, candidates, clean.length, adv.length);
            candidates[candidates.length - 1] = Double.NEGATIVE_INFINITY;
            for (double t : candidates) {
                int fp = 0, tp = 0;
                for (double c : clean) if (c > t) fp++;
                for (double a : adv) if (a > t) tp++;
                if (fp <= Math.floor(0.05 * clean.length + 1e-9)) best = Math.max(best, tp / (double) adv.length);
            }
            assertEquals(best, DetectionMetrics.tprAtFpr(clean, adv, 0.05), EXACT);
        }
    }

    @Test
    void badScoresAreRejectedWithTheirName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DetectionMetrics.auroc(new double[0], new double[] {1}));
        assertTrue(e.getMessage().contains("no clean scores"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DetectionMetrics.tprAtFpr(new double[] {1}, new double[] {Double.NaN}, 0.05));
        assertTrue(e.getMessage().contains("adversarial score 0 is NaN"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> DetectionMetrics.tprAtFpr(new double[] {1}, new double[] {2}, 1.5));
        assertTrue(e.getMessage().contains("false-positive rate"), e.getMessage());
    }

    @Test
    void logisticRegressionLearnsTheDirectionAndIsDeterministic() {
        Random r = new Random(3);
        double[][] neg = new double[60][], pos = new double[40][];
        for (int i = 0; i < neg.length; i++) neg[i] = new double[] {r.nextGaussian(), 5 + r.nextGaussian()};
        for (int i = 0; i < pos.length; i++) pos[i] = new double[] {2 + r.nextGaussian(), 5 + r.nextGaussian()};
        LogisticRegression a = LogisticRegression.fit(neg, pos), b = LogisticRegression.fit(neg, pos);
        assertTrue(a.weights()[0] > 1, "feature 0 separates the classes: weight " + a.weights()[0]);
        assertTrue(Math.abs(a.weights()[1]) < Math.abs(a.weights()[0]) / 4, "feature 1 is noise: " + a.weights()[1]);
        assertEquals(a.decision(new double[] {1, 5}), b.decision(new double[] {1, 5}), 0.0);
        // The classes are balanced by weight, so the boundary sits midway between the means (1 +- noise).
        double boundary = -(a.bias() + a.weights()[1] * 5) / a.weights()[0];
        assertEquals(1.0, boundary, 0.3);
    }
}
