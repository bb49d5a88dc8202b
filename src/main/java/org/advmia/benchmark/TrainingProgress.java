package org.advmia.benchmark;

import java.io.PrintStream;
import org.advmia.defense.Trainer;
import org.advmia.util.Progress;

/** Training progress: a bar per epoch with loss, learning rate and ETA, and a line per epoch with the val metric. */
public final class TrainingProgress implements Trainer.Listener {
    private final PrintStream err;
    private final String label;
    private final int epochs;
    private final boolean quiet;
    private Progress bar;
    private double lossSum;
    private int lossCount;

    public TrainingProgress(PrintStream err, String label, int epochs, boolean quiet) {
        this.err = err;
        this.label = label;
        this.epochs = epochs;
        this.quiet = quiet;
    }

    @Override
    public void batch(int epoch, int index, int batches, double loss, double lr) {
        if (bar == null) {
            bar = new Progress(err, label + " epoch " + (epoch + 1) + "/" + epochs, batches, quiet);
            lossSum = 0;
            lossCount = 0;
        }
        lossSum += loss;
        lossCount++;
        bar.status(String.format("loss %.4f lr %.2e", lossSum / lossCount, lr));
        bar.tick();
    }

    @Override
    public void epoch(int epoch, double valMetric, boolean improved, double seconds) {
        if (bar != null) bar.done();
        bar = null;
        if (!quiet) {
            err.printf("%s epoch %d/%d: train loss %.4f, val %.4f%s, %.1f s%n", label, epoch + 1, epochs,
                    lossCount == 0 ? Double.NaN : lossSum / lossCount, valMetric, improved ? " (best, saved)" : "",
                    seconds);
        }
    }
}
