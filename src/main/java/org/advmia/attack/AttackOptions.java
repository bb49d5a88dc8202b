package org.advmia.attack;

/**
 * The knobs shared by attacks (each attack documents which it uses and its defaults).
 *
 * @param loss the objective to ascend
 * @param targeted descend towards target classes instead of away from the labels
 * @param steps iterations
 * @param stepSize step size alpha (L-inf: per-pixel; L2: per-sample norm)
 * @param randomStart start from a random point of the threat ball
 * @param restarts independent runs; each sample keeps the first that succeeds
 * @param kappa CW confidence
 * @param earlyStop stop stepping a sample once it is adversarial
 * @param seed random start and stochastic choices
 */
public record AttackOptions(AttackLoss loss, boolean targeted, int steps, double stepSize, boolean randomStart,
                            int restarts, double kappa, boolean earlyStop, long seed) {
    public AttackOptions {
        if (loss == null) throw new IllegalArgumentException("attack loss is missing");
        if (steps < 0) throw new IllegalArgumentException("--steps must be >= 0, got " + steps);
        if (!(stepSize >= 0) || Double.isInfinite(stepSize)) {
            throw new IllegalArgumentException("--step-size must be a finite number >= 0, got " + stepSize);
        }
        if (restarts < 1) throw new IllegalArgumentException("restarts must be >= 1, got " + restarts);
        if (!(kappa >= 0)) throw new IllegalArgumentException("CW confidence kappa must be >= 0, got " + kappa);
    }

    public static AttackOptions defaults() {
        return new AttackOptions(AttackLoss.CE, false, 10, 2 / 255.0, true, 1, 0, false, 0);
    }

    public AttackOptions withLoss(AttackLoss l) {
        return new AttackOptions(l, targeted, steps, stepSize, randomStart, restarts, kappa, earlyStop, seed);
    }

    public AttackOptions withSteps(int s) {
        return new AttackOptions(loss, targeted, s, stepSize, randomStart, restarts, kappa, earlyStop, seed);
    }

    public AttackOptions withStepSize(double a) {
        return new AttackOptions(loss, targeted, steps, a, randomStart, restarts, kappa, earlyStop, seed);
    }

    public AttackOptions withRandomStart(boolean r) {
        return new AttackOptions(loss, targeted, steps, stepSize, r, restarts, kappa, earlyStop, seed);
    }

    public AttackOptions withRestarts(int r) {
        return new AttackOptions(loss, targeted, steps, stepSize, randomStart, r, kappa, earlyStop, seed);
    }

    public AttackOptions withKappa(double k) {
        return new AttackOptions(loss, targeted, steps, stepSize, randomStart, restarts, k, earlyStop, seed);
    }

    public AttackOptions withTargeted(boolean t) {
        return new AttackOptions(loss, t, steps, stepSize, randomStart, restarts, kappa, earlyStop, seed);
    }

    public AttackOptions withEarlyStop(boolean e) {
        return new AttackOptions(loss, targeted, steps, stepSize, randomStart, restarts, kappa, e, seed);
    }

    public AttackOptions withSeed(long s) {
        return new AttackOptions(loss, targeted, steps, stepSize, randomStart, restarts, kappa, earlyStop, s);
    }
}
