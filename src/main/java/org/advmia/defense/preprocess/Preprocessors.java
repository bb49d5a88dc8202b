package org.advmia.defense.preprocess;

import java.util.List;
import org.advmia.nn.Model;

/**
 * The preprocessing-defense registry: names for the command line and benchmark configs.
 * A spec is NAME or NAME:PARAM; a comma-separated list chains transforms, applied left to right.
 *
 * <ul>
 *   <li>{@code jpeg[:QUALITY]} JPEG compression through OpenCV, quality 1..100 (default 75);</li>
 *   <li>{@code median[:K]} K x K median filter, K odd (default 3);</li>
 *   <li>{@code bit-depth[:BITS]} bit-depth reduction to 1..16 bits (default 4);</li>
 *   <li>{@code random-resize-pad[:MIN_SCALE]} random resize and padding (default 0.9).</li>
 * </ul>
 *
 * Wrapped models always use BPDA for the non-differentiable transforms; attacks on a model with a
 * random transform should average EOT over {@link #eotSamples} draws.
 */
public final class Preprocessors {
    private Preprocessors() {}

    public static final List<String> NAMES = List.of("jpeg", "median", "bit-depth", "random-resize-pad");

    /** One transform from NAME[:PARAM]; errors name the flag and the valid spellings. */
    public static InputTransform parse(String spec, String flag) {
        String s = spec.trim().toLowerCase();
        int colon = s.indexOf(':');
        String name = colon < 0 ? s : s.substring(0, colon), param = colon < 0 ? null : s.substring(colon + 1);
        try {
            return switch (name) {
                case "jpeg" -> new JpegCompression(param == null ? 75 : Integer.parseInt(param));
                case "median" -> new MedianFilter(param == null ? 3 : Integer.parseInt(param));
                case "bit-depth" -> new BitDepthReduction(param == null ? 4 : Integer.parseInt(param));
                case "random-resize-pad" -> new RandomResizePadding(param == null ? 0.9 : Double.parseDouble(param));
                default -> throw new IllegalArgumentException(flag + " '" + spec + "': unknown preprocessing defense '"
                        + name + "'. Valid: jpeg[:QUALITY], median[:K], bit-depth[:BITS], random-resize-pad[:MIN_SCALE]");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + spec + "': the parameter after ':' must be a number");
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(flag)) throw e;
            throw new IllegalArgumentException(flag + " '" + spec + "': " + e.getMessage());
        }
    }

    /** The model behind a chain of transforms, "jpeg:75,median:3" (BPDA for non-differentiable ones). */
    public static Model wrap(Model model, String chain, String flag, long seed) {
        if (chain == null || chain.isBlank()) throw new IllegalArgumentException(flag + ": empty preprocessing spec");
        Model m = model;
        int i = 0;
        for (String part : chain.split(",")) m = new PreprocessedModel(m, parse(part, flag), seed + i++);
        return m;
    }

    /** EOT samples an adaptive attack on this model needs: the largest any transform in the chain asks for. */
    public static int eotSamples(Model model) {
        int eot = 1;
        for (Model m = model; m instanceof PreprocessedModel p; m = p.inner()) eot = Math.max(eot, p.recommendedEotSamples());
        return eot;
    }

    /** How the chain is evaluated, outermost transform first, for reports. */
    public static String adaptiveEvaluation(Model model) {
        StringBuilder b = new StringBuilder();
        for (Model m = model; m instanceof PreprocessedModel p; m = p.inner()) {
            if (b.length() > 0) b.append("; ");
            b.append(p.adaptiveEvaluation());
        }
        return b.length() == 0 ? "none" : b.toString();
    }
}
