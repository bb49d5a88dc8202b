package org.advmia.attack;

import org.advmia.tensor.Tensor;

/**
 * An attack's output: the adversarial batch (owned by the caller, who closes it), the number
 * of per-sample gradient evaluations and model queries, and the wall time.
 */
public record AttackResult(Tensor adversarial, long gradientEvaluations, long queries, double seconds)
        implements AutoCloseable {
    @Override
    public void close() {
        adversarial.close();
    }
}
