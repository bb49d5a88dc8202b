package org.advmia.optim;

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR: {@code eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2}.
 * PyTorch computes it recursively from the previous rate; this is its closed form (the two agree
 * up to rounding), including the behaviour past T_max, where the rate rises again with period
 * 2 T_max as PyTorch's does (SGDR's cosine without restarts).
 */
public final class Cosine implements LrSchedule {
    private final double baseLr, etaMin;
    private final long tMax;

    public Cosine(double baseLr, long tMax, double etaMin) {
        ScheduleChecks.rate("Cosine", "base_lr", baseLr);
        ScheduleChecks.rate("Cosine", "eta_min", etaMin);
        if (tMax <= 0) throw new IllegalArgumentException("Cosine: T_max must be > 0, got " + tMax);
        this.baseLr = baseLr;
        this.tMax = tMax;
        this.etaMin = etaMin;
    }

    /** Anneals from baseLr to 0 over tMax steps. */
    public Cosine(double baseLr, long tMax) {
        this(baseLr, tMax, 0);
    }

    @Override
    public double lr(long step) {
        ScheduleChecks.step("Cosine", step);
        // Same operation order as PyTorch's _get_closed_form_lr.
        return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * step / tMax)) / 2;
    }

    @Override
    public String toString() {
        return "Cosine(base_lr=" + baseLr + ", T_max=" + tMax + ", eta_min=" + etaMin + ")";
    }
}
