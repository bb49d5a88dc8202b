package org.advmia.defense.detect;

/**
 * How well a detector separates clean test inputs from one set of adversarial versions of them.
 * The clean inputs are the test inputs the model classifies correctly (as in the papers); every
 * adversarial version of them counts in {@code auroc}/{@code tpr}, only the successful ones (the
 * model misclassifies them) in {@code aurocSuccessful}/{@code tprSuccessful}, which are NaN when
 * no attack succeeded. TPR is at {@link DetectionMetrics#REPORTED_FPR} FPR with the tie rule of
 * {@link DetectionMetrics#tprAtFpr}.
 */
public record DetectionQuality(int clean, int adversarial, int successful, double auroc, double tpr,
                               double aurocSuccessful, double tprSuccessful) {
    /** The JSON form (results.json, the results database, {@code advmia attack --json}). */
    public java.util.Map<String, Object> toMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("clean", clean);
        m.put("adversarial", adversarial);
        m.put("successful", successful);
        m.put("auroc", auroc);
        m.put("tpr_at_5_fpr", tpr);
        m.put("auroc_successful", aurocSuccessful);
        m.put("tpr_at_5_fpr_successful", tprSuccessful);
        return m;
    }

    static DetectionQuality of(double[] cleanScores, double[] advScores, boolean[] success) {
        int ok = 0;
        for (boolean s : success) if (s) ok++;
        double[] succ = new double[ok];
        for (int i = 0, j = 0; i < advScores.length; i++) if (success[i]) succ[j++] = advScores[i];
        double fpr = DetectionMetrics.REPORTED_FPR;
        return new DetectionQuality(cleanScores.length, advScores.length, ok,
                DetectionMetrics.auroc(cleanScores, advScores), DetectionMetrics.tprAtFpr(cleanScores, advScores, fpr),
                ok == 0 ? Double.NaN : DetectionMetrics.auroc(cleanScores, succ),
                ok == 0 ? Double.NaN : DetectionMetrics.tprAtFpr(cleanScores, succ, fpr));
    }
}
