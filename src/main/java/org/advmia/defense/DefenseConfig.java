package org.advmia.defense;

/**
 * Defense hyper-parameters as data. The survey's defaults: L-inf PGD-10 inner attack, eps in
 * {1, 2, 4, 8}/255 with step sizes 0.5, 0.5, 1 and 2 /255, beta = 6 for TRADES and MART.
 *
 * @param eps L-inf radius of the inner attack
 * @param steps inner attack iterations (PGD-AT, TRADES, MART, HAT)
 * @param stepSize inner attack step size
 * @param beta TRADES/MART/HAT robustness weight
 * @param helperScale HAT's h: helper examples are x + h (x' - x)
 * @param helperWeight HAT's gamma: weight of the helper loss
 * @param replays Free-AT's m: each minibatch is replayed m times
 * @param awpGamma AWP's relative weight-perturbation size
 * @param seed randomness of the inner attacks
 */
public record DefenseConfig(double eps, int steps, double stepSize, double beta, double helperScale, double helperWeight,
                            int replays, double awpGamma, long seed) {
    public DefenseConfig {
        if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("--eps must be >= 0, got " + eps);
        if (steps < 0) throw new IllegalArgumentException("inner attack steps must be >= 0, got " + steps);
        if (!(stepSize >= 0)) throw new IllegalArgumentException("inner step size must be >= 0, got " + stepSize);
        if (!(beta >= 0)) throw new IllegalArgumentException("--beta must be >= 0, got " + beta);
        if (replays < 1) throw new IllegalArgumentException("Free-AT replays must be >= 1, got " + replays);
        if (!(awpGamma >= 0)) throw new IllegalArgumentException("AWP gamma must be >= 0, got " + awpGamma);
    }

    /** The survey's settings for an eps: PGD-10 with its step-size table, beta 6. */
    public static DefenseConfig survey(double eps) {
        return new DefenseConfig(eps, 10, org.advmia.attack.Attacks.surveyStepSize(eps), 6.0, 2.0, 1.0, 8, 5e-3, 0);
    }

    public DefenseConfig withBeta(double b) {
        return new DefenseConfig(eps, steps, stepSize, b, helperScale, helperWeight, replays, awpGamma, seed);
    }

    public DefenseConfig withSeed(long s) {
        return new DefenseConfig(eps, steps, stepSize, beta, helperScale, helperWeight, replays, awpGamma, s);
    }

    public DefenseConfig withSteps(int s) {
        return new DefenseConfig(eps, s, stepSize, beta, helperScale, helperWeight, replays, awpGamma, seed);
    }
}
