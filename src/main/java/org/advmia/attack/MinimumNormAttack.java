package org.advmia.attack;

/**
 * An attack that searches for the smallest perturbation that changes the decision (DeepFool,
 * Carlini-Wagner L2, FAB), rather than the strongest one inside a fixed ball.
 *
 * <p>Within the threat-model API every attack's output must lie in the eps-ball, so these attacks
 * project what they found onto the ball before returning it (such a point may then no longer
 * fool the model: the run reports that honestly). What they found before that projection is
 * reported here.
 */
public interface MinimumNormAttack {
    /**
     * Per sample of the last {@link Attack#run} (the last restart), the size in the attack's norm of
     * the perturbation it found before projection onto the eps-ball: 0 where the clean input is
     * already misclassified, +infinity where no adversarial example was found.
     */
    float[] foundNorms();
}
