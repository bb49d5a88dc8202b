package org.advmia.data;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The embedded default dataset: procedural skin lesions that need no download
 * ({@link LesionRenderer} draws them). Two tasks over the same images:
 * <ul>
 *   <li>{@code synthetic:lesions} classifies benign (0) vs malignant (1);</li>
 *   <li>{@code synthetic:lesion-seg} segments background (0) vs lesion (1).</li>
 * </ul>
 * Every sample is a pure function of (seed, split, index), so any sample can be regenerated on
 * its own, in any order, on any thread. The label is a fair coin; the latent severity is
 * N(0.35, 0.15) for benign and N(0.65, 0.15) for malignant lesions, so even an observer who
 * saw the severity itself would be right only about 84% of the time, and the image shows it only
 * through three noisy cues: the task is learnable but cannot be solved perfectly.
 *
 * <p>Keys: size (default 28), channels (1 or 3, default 3), n (training samples, default 5000),
 * val and test (default n / 5 each), seed (default 0).
 */
public final class SyntheticLesions implements Dataset {
    public static final List<String> NAMES = List.of("lesions", "lesion-seg");
    static final List<String> KEYS = List.of("size", "channels", "n", "val", "test", "seed");

    static final double BENIGN_MEAN = 0.35, MALIGNANT_MEAN = 0.65, SEVERITY_STD = 0.15;

    private final DatasetInfo info;
    private final int[] sizes = new int[3];
    private final long seed;

    public SyntheticLesions(boolean segmentation, int size, int channels, int n, int val, int test, long seed) {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("synthetic: channels must be 1 or 3, got " + channels);
        if (size < 8) throw new IllegalArgumentException("synthetic: size must be >= 8, got " + size);
        if (n < 1 || val < 0 || test < 0) throw new IllegalArgumentException("synthetic: need n >= 1, val >= 0, test >= 0");
        this.seed = seed;
        sizes[Split.TRAIN.ordinal()] = n;
        sizes[Split.VAL.ordinal()] = val;
        sizes[Split.TEST.ordinal()] = test;
        String name = (segmentation ? "lesion-seg" : "lesions") + "-" + size + "px-" + channels + "ch-seed" + seed;
        info = segmentation
                ? new DatasetInfo(name, Task.SEGMENTATION, channels, size, size, 2, List.of("background", "lesion"))
                : new DatasetInfo(name, Task.CLASSIFICATION, channels, size, size, 2, List.of("benign", "malignant"));
    }

    static SyntheticLesions open(String spec, String generator, SpecQuery q) {
        if (!NAMES.contains(generator)) {
            throw new IllegalArgumentException("data spec '" + spec + "': unknown synthetic generator '" + generator
                    + "'; valid: " + String.join(", ", NAMES));
        }
        int n = q.integer("n", 5000, 1, 10_000_000);
        return new SyntheticLesions(generator.equals("lesion-seg"), q.integer("size", 28, 8, 1024),
                q.integer("channels", 3, 1, 3), n, q.integer("val", Math.max(1, n / 5), 0, 10_000_000),
                q.integer("test", Math.max(1, n / 5), 0, 10_000_000), q.seed("seed", 0));
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public int size(Split split) {
        return sizes[split.ordinal()];
    }

    /** The class of a sample: a fair coin from its own stream, so labels are cheap. */
    private int cls(Split split, int index) {
        return new SplittableRandom(Splits.mix(seed, split.ordinal(), index, 1)).nextInt(2);
    }

    /** The latent severity behind a classification sample (for tests of the designed ambiguity). */
    double severity(Split split, int index) {
        SplittableRandom r = new SplittableRandom(Splits.mix(seed, split.ordinal(), index, 2));
        return (cls(split, index) == 1 ? MALIGNANT_MEAN : BENIGN_MEAN) + SEVERITY_STD * r.nextGaussian();
    }

    @Override
    public Sample get(Split split, int index) {
        checkIndex(split, index);
        int size = info.height();
        LesionRenderer.Params p = LesionRenderer.draw(severity(split, index),
                new SplittableRandom(Splits.mix(seed, split.ordinal(), index, 3)));
        float[] image = new float[info.imageSize()];
        float[] mask = info.task() == Task.SEGMENTATION ? new float[size * size] : null;
        LesionRenderer.render(p, size, info.channels(), image, mask);
        return new Sample(image, mask != null ? mask : new float[] {cls(split, index)});
    }

    @Override
    public float[] label(Split split, int index) {
        if (info.task() == Task.SEGMENTATION) return get(split, index).label();
        checkIndex(split, index);
        return new float[] {cls(split, index)};
    }
}
