package org.advmia.defense.detect;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.advmia.attack.Attacks;
import org.advmia.attack.AttackOptions;
import org.advmia.attack.ThreatModel;
import org.advmia.nn.Model;

/**
 * The detector registry (command-line and config names) and the adaptive attack that needs a
 * fitted detector. {@value AdaptiveDetectorAttack#NAME} is registered here and not in
 * {@link Attacks}: the attack layer cannot see detectors, and every attack in {@link Attacks}
 * must run on a bare model.
 */
public final class Detectors {
    public static final List<String> NAMES = List.of("lid", "mahalanobis", "kd-bu");

    private Detectors() {}

    public static Detector create(String name, long seed) {
        return switch (name.toLowerCase()) {
            case "lid" -> new LidDetector(seed);
            case "mahalanobis" -> new MahalanobisDetector(seed);
            case "kd-bu" -> new KernelDensityDetector(seed);
            default -> throw new IllegalArgumentException("unknown detector '" + name + "'. Valid detectors: "
                    + String.join(", ", NAMES));
        };
    }

    /**
     * Reads a detector written by {@link Detector#save} and attaches it to model, which must be the
     * model it was fitted on: same name, class count and input channels, the same feature widths
     * for the recorded input shape, and the same weights (a fingerprint of the state dict). The
     * loaded detector scores float for float like the fitted one. Every mismatch, a missing,
     * unknown or misshapen tensor, a truncated file or a file that is not a detector raises an
     * IllegalArgumentException naming the file and what was expected.
     */
    public static Detector load(Path file, Model model) throws IOException {
        return FeatureDetector.load(file, model);
    }

    /** Throws, naming who asks, unless detectors can read model's features (before any long run). */
    public static void requireSupported(Model model, String who) {
        FeatureLayers.requireSplit(model, who);
    }

    public static void requireKnown(String name) {
        if (!NAMES.contains(name.toLowerCase())) {
            throw new IllegalArgumentException("unknown detector '" + name + "'. Valid detectors: "
                    + String.join(", ", NAMES));
        }
    }

    public static boolean isAdaptiveAttack(String name) {
        return AdaptiveDetectorAttack.NAME.equalsIgnoreCase(name);
    }

    /**
     * The adaptive attack on a model and its fitted detector: L-inf eps, defaults of
     * {@link AdaptiveDetectorAttack} unless overridden (steps, step size, random start, restarts,
     * seed) and lambda, the weight of the detector term.
     */
    public static AdaptiveDetectorAttack adaptiveAttack(Model model, double eps, Attacks.Overrides o, Detector detector,
                                                        double lambda) {
        if (o == null) o = Attacks.Overrides.none();
        int steps = o.steps() != null ? o.steps() : AdaptiveDetectorAttack.DEFAULT_STEPS;
        AttackOptions opt = AttackOptions.defaults().withSteps(steps)
                .withStepSize(o.stepSize() != null ? o.stepSize() : 2.5 * eps / Math.max(1, steps))
                .withRandomStart(o.randomStart() == null || o.randomStart());
        if (o.restarts() != null) opt = opt.withRestarts(o.restarts());
        if (o.seed() != null) opt = opt.withSeed(o.seed());
        if (o.targeted() != null) opt = opt.withTargeted(o.targeted());
        return new AdaptiveDetectorAttack(model, ThreatModel.linf(eps), opt, detector, lambda);
    }
}
