package org.advmia.attack;

import java.util.SplittableRandom;

/**
 * How a targeted evaluation picks each sample's target class, as torchattacks' targeted modes
 * do: {@code random} (uniform over the classes other than the label), {@code least-likely} (the
 * class with the lowest clean logit), {@code next} ((label + 1) mod K), or one fixed class
 * index. For segmentation the choice is made per pixel ({@code random} is refused there: a
 * per-pixel random mask is noise, not a meaningful target).
 *
 * <p>Targets are chosen from the clean input and the labels only, once per batch, before the
 * attack runs; {@code random} is seeded by the run's seed and the batch index, so the same seed
 * gives the same targets on every backend.
 */
public final class TargetClasses {
    public enum Mode { RANDOM, LEAST_LIKELY, NEXT, FIXED }

    private final Mode mode;
    private final int fixedClass;
    private final long seed;

    private TargetClasses(Mode mode, int fixedClass, long seed) {
        this.mode = mode;
        this.fixedClass = fixedClass;
        this.seed = seed;
    }

    /** Parses a --targeted value: random, least-likely, next, or a class index; the error names the flag. */
    public static TargetClasses parse(String value, String flag, long seed) {
        String v = value.trim().toLowerCase();
        switch (v) {
            case "random":
                return new TargetClasses(Mode.RANDOM, -1, seed);
            case "least-likely":
                return new TargetClasses(Mode.LEAST_LIKELY, -1, seed);
            case "next":
                return new TargetClasses(Mode.NEXT, -1, seed);
            default:
                try {
                    int k = Integer.parseInt(v);
                    if (k < 0) throw new NumberFormatException();
                    return new TargetClasses(Mode.FIXED, k, seed);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(flag + " '" + value
                            + "': expected random, least-likely, next or a class index >= 0");
                }
        }
    }

    public Mode mode() {
        return mode;
    }

    /** The value as written on the command line. */
    public String describe() {
        return switch (mode) {
            case RANDOM -> "random";
            case LEAST_LIKELY -> "least-likely";
            case NEXT -> "next";
            case FIXED -> Integer.toString(fixedClass);
        };
    }

    /** Checks that the mode makes sense for a model with this many classes and this task. */
    public void requireApplicable(int classes, boolean segmentation, String flag) {
        if (classes < 2) throw new IllegalArgumentException(flag + ": a targeted attack needs at least 2 classes");
        if (mode == Mode.FIXED && fixedClass >= classes) {
            throw new IllegalArgumentException(flag + " " + fixedClass + ": the model has " + classes
                    + " classes, so the target must be in 0.." + (classes - 1));
        }
        if (mode == Mode.RANDOM && segmentation) {
            throw new IllegalArgumentException(flag + " random: not defined for segmentation (a per-pixel random"
                    + " mask is noise); use next, least-likely or a class index");
        }
    }

    /**
     * The targets for one batch. labels holds one class per sample (classification) or per pixel
     * (segmentation, [N*H*W] in N, H, W order); cleanLogits is [N, K] or [N, K, H, W] flattened
     * (only read for least-likely). Returns one target per label element.
     */
    public float[] choose(float[] labels, float[] cleanLogits, int classes, int pixelsPerSample, int batchIndex) {
        float[] t = new float[labels.length];
        SplittableRandom rnd = mode == Mode.RANDOM ? new SplittableRandom(seed * 0x9E3779B97F4A7C15L + batchIndex) : null;
        for (int e = 0; e < labels.length; e++) {
            int y = (int) labels[e];
            t[e] = switch (mode) {
                case RANDOM -> (y + 1 + rnd.nextInt(classes - 1)) % classes;
                case NEXT -> (y + 1) % classes;
                case FIXED -> fixedClass;
                case LEAST_LIKELY -> leastLikely(cleanLogits, e, classes, pixelsPerSample);
            };
        }
        return t;
    }

    /** argmin over classes of element e's logits; layout [N, K, P] with P pixels per sample (1 for classification). */
    private static int leastLikely(float[] z, int e, int classes, int pixels) {
        int n = e / pixels, p = e % pixels;
        int best = 0;
        float min = Float.POSITIVE_INFINITY;
        for (int k = 0; k < classes; k++) {
            float v = z[(n * classes + k) * pixels + p];
            if (v < min) {
                min = v;
                best = k;
            }
        }
        return best;
    }
}
