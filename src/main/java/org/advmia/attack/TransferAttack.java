package org.advmia.attack;

import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * The transfer setting of the survey: craft adversarial examples with full access to a
 * surrogate model, then evaluate them on a target model that was never queried during crafting.
 */
public final class TransferAttack {
    private TransferAttack() {}

    /** Crafting result and its evaluation on both models. */
    public record Outcome(AttackMetrics onSurrogate, AttackMetrics onTarget) {}

    /** Crafts with `attack` (built on the surrogate) and evaluates on surrogate and target. */
    public static Outcome run(Attack attackOnSurrogate, Model target, Tensor x, Tensor labels) {
        Model surrogate = attackOnSurrogate.model;
        if (surrogate == target) {
            throw new IllegalArgumentException("transfer: surrogate and target are the same model object");
        }
        try (AttackResult r = attackOnSurrogate.run(x, labels, null)) {
            AttackMetrics s = AttackMetrics.of(surrogate, x, r.adversarial(), labels, r);
            AttackMetrics t = AttackMetrics.of(target, x, r.adversarial(), labels,
                    new AttackResult(r.adversarial(), 0, 0, r.seconds()));
            return new Outcome(s, t);
        }
    }
}
