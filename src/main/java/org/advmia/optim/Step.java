package org.advmia.optim;

/**
 * torch.optim.lr_scheduler.StepLR: {@code base_lr * gamma^floor(t / step_size)}, the rate
 * multiplied by gamma every step_size steps (PyTorch multiplies the previous rate; this closed
 * form agrees up to rounding).
 */
public final class Step implements LrSchedule {
    private final double baseLr, gamma;
    private final long stepSize;

    public Step(double baseLr, long stepSize, double gamma) {
        ScheduleChecks.rate("Step", "base_lr", baseLr);
        ScheduleChecks.rate("Step", "gamma", gamma);
        if (stepSize <= 0) throw new IllegalArgumentException("Step: step_size must be > 0, got " + stepSize);
        this.baseLr = baseLr;
        this.stepSize = stepSize;
        this.gamma = gamma;
    }

    @Override
    public double lr(long step) {
        ScheduleChecks.step("Step", step);
        return baseLr * Math.pow(gamma, (double) (step / stepSize));
    }

    @Override
    public String toString() {
        return "Step(base_lr=" + baseLr + ", step_size=" + stepSize + ", gamma=" + gamma + ")";
    }
}
