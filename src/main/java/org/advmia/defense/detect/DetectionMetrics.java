package org.advmia.defense.detect;

import java.util.Arrays;

/**
 * Detection quality from detector scores (higher = more adversarial): the clean inputs are the
 * negatives, the adversarial inputs the positives.
 */
public final class DetectionMetrics {
    /** The false-positive rate at which {@link #tprAtFpr} is reported in tables. */
    public static final double REPORTED_FPR = 0.05;

    private DetectionMetrics() {}

    /**
     * Area under the ROC curve, computed exactly as the Mann-Whitney statistic: the probability
     * that a random adversarial score exceeds a random clean score, a tie counting one half.
     * O((n + m) log(n + m)) by sorting and mid-ranks.
     */
    public static double auroc(double[] clean, double[] adversarial) {
        check(clean, "clean");
        check(adversarial, "adversarial");
        int n = clean.length, m = adversarial.length;
        double[] all = new double[n + m];
        System.arraycopy(clean, 0, all, 0, n);
        System.arraycopy(adversarial, 0, all, n, m);
        Integer[] order = new Integer[n + m];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(all[a], all[b]));
        double rankSumAdversarial = 0;
        for (int i = 0; i < order.length; ) {
            int j = i;
            while (j + 1 < order.length && all[order[j + 1]] == all[order[i]]) j++;
            double midRank = (i + j) / 2.0 + 1; // ranks are 1-based
            for (int k = i; k <= j; k++) if (order[k] >= n) rankSumAdversarial += midRank;
            i = j + 1;
        }
        double u = rankSumAdversarial - m * (m + 1) / 2.0;
        return u / ((double) n * m);
    }

    /**
     * True-positive rate at a false-positive rate of at most maxFpr. Tie rule: an input is flagged
     * when its score is strictly greater than the threshold t, where t is the (a+1)-th largest
     * clean score and a = floor(maxFpr * clean.length) is the number of clean inputs allowed to
     * be flagged. So at most a clean inputs are flagged; clean inputs tied at t are never flagged
     * (even if a budget is left) and neither are adversarial inputs tied with them, so the
     * achieved FPR can fall below maxFpr when scores tie but never exceeds it. When a >= n every
     * input is flagged (TPR 1).
     */
    public static double tprAtFpr(double[] clean, double[] adversarial, double maxFpr) {
        check(clean, "clean");
        check(adversarial, "adversarial");
        if (!(maxFpr >= 0 && maxFpr <= 1)) {
            throw new IllegalArgumentException("detection: false-positive rate must be in [0, 1], got " + maxFpr);
        }
        int allowed = (int) Math.floor(maxFpr * clean.length + 1e-9);
        if (allowed >= clean.length) return 1.0;
        double[] sorted = clean.clone();
        Arrays.sort(sorted);
        double threshold = sorted[clean.length - 1 - allowed];
        int flagged = 0;
        for (double s : adversarial) if (s > threshold) flagged++;
        return flagged / (double) adversarial.length;
    }

    private static void check(double[] scores, String what) {
        if (scores == null || scores.length == 0) {
            throw new IllegalArgumentException("detection: no " + what + " scores (need at least one "
                    + what + " input to measure detection)");
        }
        for (int i = 0; i < scores.length; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new IllegalArgumentException("detection: " + what + " score " + i + " is " + scores[i]
                        + "; scores must be finite");
            }
        }
    }
}
