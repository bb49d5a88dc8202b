package org.advmia.optim;

/**
 * torch.optim.lr_scheduler.OneCycleLR (the 1cycle policy): the rate warms up from
 * max_lr / div_factor to max_lr over the first pct_start of total_steps, then anneals to
 * max_lr / (div_factor * final_div_factor) by cosine or linear interpolation. With three_phase the
 * rate first returns symmetrically to max_lr / div_factor and only the last phase anneals to the
 * minimum. Phase boundaries, the interpolation formulas and their operation order follow PyTorch,
 * so the rates agree to rounding; like PyTorch, step indices up to total_steps are accepted and
 * later ones rejected.
 *
 * <p>Like PyTorch's default (cycle_momentum=True), {@link #apply} also moves SGD's momentum
 * (Adam's beta1) inversely to the rate, from 0.95 down to 0.85 and back (see
 * withMomentumCycling); withoutMomentumCycling keeps it fixed (PyTorch's cycle_momentum=False).
 */
public final class OneCycle implements LrSchedule {
    /** How a phase moves between its start and end rates. */
    public enum Anneal { COS, LINEAR }

    private final double maxLr, pctStart, divFactor, finalDivFactor;
    private final long totalSteps;
    private final Anneal anneal;
    private final boolean threePhase;
    /** Per phase: last step index (PyTorch's end_step, a float), start rate, end rate. */
    private final double[] phaseEnd, phaseStartLr, phaseEndLr;
    /** Per phase: start and end momentum (PyTorch's cycle_momentum: max -> base -> max). */
    private final double[] phaseStartMomentum, phaseEndMomentum;
    private boolean cycleMomentum = true;
    private double baseMomentum = 0.85, maxMomentum = 0.95;

    public OneCycle(double maxLr, long totalSteps, double pctStart, Anneal anneal, double divFactor,
                    double finalDivFactor, boolean threePhase) {
        ScheduleChecks.rate("OneCycle", "max_lr", maxLr);
        if (totalSteps <= 0) throw new IllegalArgumentException("OneCycle: total_steps must be > 0, got " + totalSteps);
        if (!(pctStart >= 0 && pctStart <= 1)) {
            throw new IllegalArgumentException("OneCycle: pct_start must be in [0, 1], got " + pctStart);
        }
        if (anneal == null) throw new IllegalArgumentException("OneCycle: anneal strategy must be COS or LINEAR, got null");
        if (!(divFactor > 0) || Double.isInfinite(divFactor)) {
            throw new IllegalArgumentException("OneCycle: div_factor must be finite and > 0, got " + divFactor);
        }
        if (!(finalDivFactor > 0) || Double.isInfinite(finalDivFactor)) {
            throw new IllegalArgumentException("OneCycle: final_div_factor must be finite and > 0, got " + finalDivFactor);
        }
        this.maxLr = maxLr;
        this.totalSteps = totalSteps;
        this.pctStart = pctStart;
        this.anneal = anneal;
        this.divFactor = divFactor;
        this.finalDivFactor = finalDivFactor;
        this.threePhase = threePhase;
        double initialLr = maxLr / divFactor, minLr = initialLr / finalDivFactor;
        if (threePhase) {
            phaseEnd = new double[] {pctStart * totalSteps - 1, 2 * pctStart * totalSteps - 2, totalSteps - 1};
            phaseStartLr = new double[] {initialLr, maxLr, initialLr};
            phaseEndLr = new double[] {maxLr, initialLr, minLr};
            phaseStartMomentum = new double[] {1, 0, 1};   // 1 = max momentum, 0 = base (resolved in momentum())
            phaseEndMomentum = new double[] {0, 1, 1};
        } else {
            phaseEnd = new double[] {pctStart * totalSteps - 1, totalSteps - 1};
            phaseStartLr = new double[] {initialLr, maxLr};
            phaseEndLr = new double[] {maxLr, minLr};
            phaseStartMomentum = new double[] {1, 0};
            phaseEndMomentum = new double[] {0, 1};
        }
        checkPhases();
    }

    /** PyTorch's defaults: pct_start 0.3, cosine annealing, div_factor 25, final_div_factor 1e4, two phases. */
    public OneCycle(double maxLr, long totalSteps) {
        this(maxLr, totalSteps, 0.3, Anneal.COS, 25, 1e4, false);
    }

    /**
     * A phase that some step index in [0, total_steps] falls into must have positive length:
     * PyTorch divides by it (ZeroDivisionError there, e.g. pct_start * total_steps = 1, or
     * pct_start = 1 without three phases); rejecting such settings up front beats failing mid-run.
     */
    private void checkPhases() {
        double below = Double.NEGATIVE_INFINITY;  // every earlier phase covers steps <= this
        for (int i = 0; i < phaseEnd.length; i++) {
            boolean last = i == phaseEnd.length - 1;
            double start = i == 0 ? 0 : phaseEnd[i - 1];
            long lo = i == 0 ? 0 : Math.max(0, (long) Math.floor(below) + 1);
            long hi = last ? totalSteps : Math.min(totalSteps, (long) Math.floor(phaseEnd[i]));
            if (lo <= hi && !(phaseEnd[i] - start > 0)) {
                throw new IllegalArgumentException("OneCycle: pct_start=" + pctStart + " with total_steps=" + totalSteps
                        + (threePhase ? " and three_phase" : "") + " leaves phase " + (i + 1) + " of " + phaseEnd.length
                        + " with length " + (phaseEnd[i] - start) + " (it must be > 0)");
            }
            below = Math.max(below, phaseEnd[i]);
        }
    }

    /**
     * PyTorch's momentum cycling (on by default, as in OneCycleLR): momentum falls from max to
     * base while the rate rises, then climbs back. Sets SGD's momentum or Adam's beta1.
     */
    public OneCycle withMomentumCycling(double base, double max) {
        if (!(base >= 0 && base <= max && max < 1)) {
            throw new IllegalArgumentException("OneCycle: need 0 <= base_momentum <= max_momentum < 1, got " + base + ", " + max);
        }
        this.cycleMomentum = true;
        this.baseMomentum = base;
        this.maxMomentum = max;
        return this;
    }

    /** Keeps the optimizer's momentum fixed (PyTorch's cycle_momentum=False). */
    public OneCycle withoutMomentumCycling() {
        this.cycleMomentum = false;
        return this;
    }

    public boolean cyclesMomentum() {
        return cycleMomentum;
    }

    /** The momentum at a step under momentum cycling. */
    public double momentum(long step) {
        ScheduleChecks.step("OneCycle", step);
        double start = 0;
        for (int i = 0; i < phaseEnd.length; i++) {
            if (step <= phaseEnd[i] || i == phaseEnd.length - 1) {
                double pct = (step - start) / (phaseEnd[i] - start);
                double from = level(phaseStartMomentum[i]), to = level(phaseEndMomentum[i]);
                return anneal == Anneal.COS ? annealCos(from, to, pct) : annealLinear(from, to, pct);
            }
            start = phaseEnd[i];
        }
        throw new AssertionError("unreachable: the last phase takes every remaining step");
    }

    private double level(double which) {
        return which == 1 ? maxMomentum : baseMomentum;
    }

    @Override
    public double apply(Optimizer optimizer, long step) {
        double rate = LrSchedule.super.apply(optimizer, step);
        if (cycleMomentum) optimizer.setMomentum(momentum(step));
        return rate;
    }

    @Override
    public double lr(long step) {
        ScheduleChecks.step("OneCycle", step);
        if (step > totalSteps) {
            throw new IllegalArgumentException("OneCycle: step " + step + " is past total_steps=" + totalSteps);
        }
        double start = 0;
        for (int i = 0; i < phaseEnd.length; i++) {
            if (step <= phaseEnd[i] || i == phaseEnd.length - 1) {
                double pct = (step - start) / (phaseEnd[i] - start);
                return anneal == Anneal.COS ? annealCos(phaseStartLr[i], phaseEndLr[i], pct)
                        : annealLinear(phaseStartLr[i], phaseEndLr[i], pct);
            }
            start = phaseEnd[i];
        }
        throw new AssertionError("unreachable: the last phase takes every remaining step");
    }

    // PyTorch's _annealing_cos and _annealing_linear, in the same operation order.
    private static double annealCos(double start, double end, double pct) {
        double cosOut = Math.cos(Math.PI * pct) + 1;
        return end + (start - end) / 2.0 * cosOut;
    }

    private static double annealLinear(double start, double end, double pct) {
        return (end - start) * pct + start;
    }

    public long totalSteps() {
        return totalSteps;
    }

    @Override
    public String toString() {
        return "OneCycle(max_lr=" + maxLr + ", total_steps=" + totalSteps + ", pct_start=" + pctStart + ", anneal="
                + anneal.name().toLowerCase() + ", div_factor=" + divFactor + ", final_div_factor=" + finalDivFactor
                + ", three_phase=" + threePhase + ")";
    }
}
