package org.advmia.optim;

/**
 * A learning rate as a pure function of the schedule's step index, the number of scheduler steps
 * taken before the current one (0 for the first). Because nothing else is remembered, resuming
 * only needs the index: {@code schedule.apply(optimizer, index)} before each optimizer step gives
 * the same rate an uninterrupted run would. Index t corresponds to PyTorch's {@code last_epoch}
 * after t calls of {@code scheduler.step()}, i.e. the rate the t-th optimizer step (0-based) uses
 * when the scheduler is stepped once per optimizer step.
 */
public interface LrSchedule {
    /** The learning rate at step index {@code step} (>= 0). */
    double lr(long step);

    /** Sets the optimizer's learning rate to {@link #lr}(step) and returns that rate. */
    default double apply(Optimizer optimizer, long step) {
        double rate = lr(step);
        optimizer.setLr(rate);
        return rate;
    }
}
