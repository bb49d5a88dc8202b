package org.advmia.attack;

/**
 * Segmentation quality from a confusion matrix accumulated over all pixels of a batch: mean Dice
 * and mean IoU over the classes that occur in the prediction or the labels (the survey's Dice
 * and mIoU), plus pixel accuracy.
 */
public record SegmentationMetrics(double dice, double meanIou, double pixelAccuracy, long[][] confusion) {

    /** Adds a batch's pixels to a running confusion matrix [classes][classes] (rows: label). */
    public static void accumulate(long[][] confusion, float[] predicted, float[] labels) {
        int classes = confusion.length;
        if (predicted.length != labels.length) {
            throw new IllegalArgumentException("segmentation metrics: " + predicted.length + " predicted pixels vs "
                    + labels.length + " labelled");
        }
        for (int i = 0; i < labels.length; i++) {
            int y = (int) labels[i], p = (int) predicted[i];
            if (y < 0 || y >= classes || p < 0 || p >= classes) {
                throw new IllegalArgumentException("segmentation metrics: pixel " + i + " has class " + y + "/" + p
                        + " outside [0, " + classes + ")");
            }
            confusion[y][p]++;
        }
    }

    /** Dice, mIoU and pixel accuracy of an accumulated confusion matrix. */
    public static SegmentationMetrics fromConfusion(long[][] cm) {
        int classes = cm.length;
        long correct = 0, total = 0;
        double dice = 0, iou = 0;
        int present = 0;
        for (int c = 0; c < classes; c++) {
            long tp = cm[c][c], fn = 0, fp = 0;
            for (int k = 0; k < classes; k++) {
                total += cm[c][k];
                if (k != c) {
                    fn += cm[c][k];
                    fp += cm[k][c];
                }
            }
            correct += tp;
            if (tp + fn + fp == 0) continue;
            present++;
            dice += 2.0 * tp / (2.0 * tp + fn + fp);
            iou += (double) tp / (tp + fn + fp);
        }
        return new SegmentationMetrics(present == 0 ? 1 : dice / present, present == 0 ? 1 : iou / present,
                total == 0 ? 1 : (double) correct / total, cm);
    }

    public static SegmentationMetrics of(float[] predicted, float[] labels, int classes) {
        if (predicted.length != labels.length) {
            throw new IllegalArgumentException("segmentation metrics: " + predicted.length + " predicted pixels vs "
                    + labels.length + " labelled");
        }
        long[][] cm = new long[classes][classes];
        long correct = 0;
        for (int i = 0; i < labels.length; i++) {
            int y = (int) labels[i], p = (int) predicted[i];
            if (y < 0 || y >= classes || p < 0 || p >= classes) {
                throw new IllegalArgumentException("segmentation metrics: pixel " + i + " has class " + y + "/" + p
                        + " outside [0, " + classes + ")");
            }
            cm[y][p]++;
            if (y == p) correct++;
        }
        double dice = 0, iou = 0;
        int present = 0;
        for (int c = 0; c < classes; c++) {
            long tp = cm[c][c], fn = 0, fp = 0;
            for (int k = 0; k < classes; k++) {
                if (k != c) {
                    fn += cm[c][k];
                    fp += cm[k][c];
                }
            }
            if (tp + fn + fp == 0) continue;
            present++;
            dice += 2.0 * tp / (2.0 * tp + fn + fp);
            iou += (double) tp / (tp + fn + fp);
        }
        return new SegmentationMetrics(present == 0 ? 1 : dice / present, present == 0 ? 1 : iou / present,
                labels.length == 0 ? 1 : (double) correct / labels.length, cm);
    }
}
