package org.advmia.optim;

/** Argument checks shared by the {@link LrSchedule} implementations, with messages naming the argument. */
final class ScheduleChecks {
    private ScheduleChecks() {}

    /** Rejects a negative step index. */
    static void step(String schedule, long step) {
        if (step < 0) throw new IllegalArgumentException(schedule + ": step must be >= 0, got " + step);
    }

    /** Rejects a negative, NaN or infinite rate-like argument. */
    static void rate(String schedule, String name, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(schedule + ": " + name + " must be finite and >= 0, got " + value);
        }
    }
}
