package org.advmia.attack;

/**
 * Multi-label quality: mean ROC AUC over labels (the survey's ChestX-ray14 metric), each label's
 * AUC from the Mann-Whitney rank statistic with ties counted half. Labels whose targets are all
 * 0 or all 1 in the batch have no AUC and are left out of the mean (and counted).
 */
public record MultiLabelMetrics(double meanAuc, double[] perLabelAuc, int labelsWithoutAuc) {

    /** scores and targets are [n, labels] row-major; targets are 0/1. */
    public static MultiLabelMetrics of(float[] scores, float[] targets, int labels) {
        if (scores.length != targets.length || labels <= 0 || scores.length % labels != 0) {
            throw new IllegalArgumentException("multi-label metrics: " + scores.length + " scores, " + targets.length
                    + " targets, " + labels + " labels");
        }
        int n = scores.length / labels;
        double[] auc = new double[labels];
        double sum = 0;
        int counted = 0, missing = 0;
        for (int l = 0; l < labels; l++) {
            long pos = 0, neg = 0;
            double wins = 0;
            for (int i = 0; i < n; i++) {
                if (targets[i * labels + l] > 0.5f) pos++;
                else neg++;
            }
            if (pos == 0 || neg == 0) {
                auc[l] = Double.NaN;
                missing++;
                continue;
            }
            for (int i = 0; i < n; i++) {
                if (targets[i * labels + l] <= 0.5f) continue;
                float sp = scores[i * labels + l];
                for (int j = 0; j < n; j++) {
                    if (targets[j * labels + l] > 0.5f) continue;
                    float sn = scores[j * labels + l];
                    wins += sp > sn ? 1 : sp == sn ? 0.5 : 0;
                }
            }
            auc[l] = wins / ((double) pos * neg);
            sum += auc[l];
            counted++;
        }
        return new MultiLabelMetrics(counted == 0 ? Double.NaN : sum / counted, auc, missing);
    }
}
