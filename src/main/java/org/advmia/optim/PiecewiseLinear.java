package org.advmia.optim;

import java.util.Arrays;

/**
 * A rate interpolated linearly through (step, lr) knots and held constant outside them, exactly
 * numpy.interp. This is the schedule of the TRADES / robust-overfitting training code, e.g.
 * knots {0, 0.4 E, E} with rates {0, max_lr, 0} for E total steps. That code evaluates the
 * schedule at the fractional epoch reached after the batch (epoch + (i + 1) / batches); here the
 * argument is the step index itself, so express knots in steps and shift them by one step if the
 * exact rates of that code are wanted.
 */
public final class PiecewiseLinear implements LrSchedule {
    private final double[] steps, lrs;

    public PiecewiseLinear(double[] steps, double[] lrs) {
        if (steps == null || lrs == null) throw new IllegalArgumentException("PiecewiseLinear: knots must not be null");
        if (steps.length == 0) throw new IllegalArgumentException("PiecewiseLinear: needs at least one knot");
        if (steps.length != lrs.length) {
            throw new IllegalArgumentException("PiecewiseLinear: " + steps.length + " knot steps but " + lrs.length
                    + " knot rates");
        }
        for (int k = 0; k < steps.length; k++) {
            if (!Double.isFinite(steps[k])) {
                throw new IllegalArgumentException("PiecewiseLinear: knot step " + k + " is " + steps[k]);
            }
            if (k > 0 && !(steps[k] > steps[k - 1])) {
                throw new IllegalArgumentException("PiecewiseLinear: knot steps must be strictly increasing, but step "
                        + k + " (" + steps[k] + ") follows " + steps[k - 1]);
            }
            ScheduleChecks.rate("PiecewiseLinear", "knot rate " + k, lrs[k]);
        }
        this.steps = steps.clone();
        this.lrs = lrs.clone();
    }

    @Override
    public double lr(long step) {
        ScheduleChecks.step("PiecewiseLinear", step);
        double x = step;
        int n = steps.length;
        if (x <= steps[0]) return lrs[0];
        if (x >= steps[n - 1]) return lrs[n - 1];
        // The knot j with steps[j] <= x < steps[j + 1].
        int j = Arrays.binarySearch(steps, x);
        if (j >= 0) return lrs[j];
        j = -j - 2;
        // numpy.interp's formula and operation order, so the rates match it bit for bit.
        double slope = (lrs[j + 1] - lrs[j]) / (steps[j + 1] - steps[j]);
        return slope * (x - steps[j]) + lrs[j];
    }

    @Override
    public String toString() {
        return "PiecewiseLinear(steps=" + Arrays.toString(steps) + ", lrs=" + Arrays.toString(lrs) + ")";
    }
}
