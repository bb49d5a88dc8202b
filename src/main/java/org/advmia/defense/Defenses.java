package org.advmia.defense;

import java.util.List;
import org.advmia.nn.Model;

/** The defense registry: command-line names to training objectives. */
public final class Defenses {
    private Defenses() {}

    public static final List<String> NAMES = List.of("nat", "pgd-at", "trades", "mart", "hat", "fast-at", "free-at", "awp",
            "distillation", "feature-pairing");

    /**
     * Settings that only some defenses read: distillation's temperature T, feature pairing's
     * weight lambda.
     */
    public record Extra(double temperature, double pairingWeight) {
        public static Extra defaults() {
            return new Extra(DefensiveDistillation.DEFAULT_TEMPERATURE, FeaturePairing.DEFAULT_WEIGHT);
        }
    }

    /**
     * Builds a defense. HAT needs a naturally trained helper model; AWP runs on top of PGD-AT
     * unless {@code awpOnTrades} is set.
     */
    public static Defense create(String name, DefenseConfig config, Model helper, boolean awpOnTrades) {
        return create(name, config, helper, awpOnTrades, Extra.defaults());
    }

    /**
     * As above; {@code helper} is also distillation's teacher (trained at extra.temperature, see
     * {@link DefensiveDistillation#teacherObjective}).
     */
    public static Defense create(String name, DefenseConfig config, Model helper, boolean awpOnTrades, Extra extra) {
        return switch (name.toLowerCase()) {
            case "nat" -> new NaturalTraining(config);
            case "pgd-at" -> new PgdAdversarialTraining(config);
            case "trades" -> new Trades(config);
            case "mart" -> new Mart(config);
            case "hat" -> new HelperAdversarialTraining(config, helper);
            case "fast-at" -> new FastAdversarialTraining(config);
            case "free-at" -> new FreeAdversarialTraining(config);
            case "awp" -> new AdversarialWeightPerturbation(config,
                    awpOnTrades ? new Trades(config) : new PgdAdversarialTraining(config));
            case "distillation" -> new DefensiveDistillation(config, helper, extra.temperature());
            case "feature-pairing" -> new FeaturePairing(config, extra.pairingWeight());
            default -> throw new IllegalArgumentException("unknown defense '" + name + "'. Valid defenses: "
                    + String.join(", ", NAMES));
        };
    }
}
