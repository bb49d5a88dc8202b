package org.advmia.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Inverse-class-frequency sampling weights and draws with replacement. */
final class ClassBalance {
    private ClassBalance() {}

    /** The class a sample counts as: its label, or for multi-label its rarest positive class (none: classes). */
    static int[] groups(Dataset data, Split split, int[] counts) {
        DatasetInfo info = data.info();
        int n = data.size(split);
        float[][] labels = new float[n][];
        for (int i = 0; i < n; i++) labels[i] = data.label(split, i);
        int[] group = new int[n];
        if (info.task() == Task.CLASSIFICATION) {
            for (int i = 0; i < n; i++) group[i] = (int) labels[i][0];
        } else {
            int[] positives = new int[info.classes()];
            for (float[] l : labels) for (int c = 0; c < l.length; c++) if (l[c] > 0) positives[c]++;
            for (int i = 0; i < n; i++) {
                int g = info.classes();
                for (int c = 0; c < labels[i].length; c++) {
                    if (labels[i][c] > 0 && (g == info.classes() || positives[c] < positives[g])) g = c;
                }
                group[i] = g;
            }
        }
        for (int g : group) counts[g]++;
        return group;
    }

    static double[] cumulativeWeights(Dataset data, Split split) {
        DatasetInfo info = data.info();
        if (info.task() == Task.SEGMENTATION) {
            throw new IllegalArgumentException(info.name() + ": class-balanced sampling needs image-level labels, "
                    + "not segmentation masks");
        }
        int[] counts = new int[info.classes() + 1];
        int[] group = groups(data, split, counts);
        double[] cum = new double[group.length];
        double total = 0;
        for (int i = 0; i < group.length; i++) {
            total += 1.0 / counts[group[i]];
            cum[i] = total;
        }
        return cum;
    }

    /** n indices drawn with replacement, P(i) proportional to its weight. */
    static int[] draw(double[] cumulative, int n, SplittableRandom rng) {
        double total = cumulative[cumulative.length - 1];
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            int i = Arrays.binarySearch(cumulative, rng.nextDouble() * total);
            out[k] = Math.min(i >= 0 ? i + 1 : -i - 1, cumulative.length - 1);
        }
        return out;
    }
}
