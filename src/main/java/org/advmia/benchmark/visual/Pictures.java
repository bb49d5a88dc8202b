package org.advmia.benchmark.visual;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.advmia.attack.SegmentationMetrics;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * The benchmark's pictures, written as PNG: grids of adversarial examples (with optional Grad-CAM
 * columns) and segmentation masks under attack.
 *
 * <p>Images are CHW float arrays in [0, 1] (grey or RGB, see {@link ImageShape}); values outside
 * [0, 1] are clipped for display and 0..1 maps to 0..255 with halves rounded up. Each image is
 * enlarged by one integer factor chosen so its longer side is at least 112 pixels, with
 * nearest-neighbour copying, so every input pixel is a uniform block of the picture. Text uses
 * OpenCV's Hershey font, which draws printable ASCII only (other characters appear as '?').
 * Each writer validates every array against the shape before drawing anything, and returns the
 * {@link GridLayout} of the picture it wrote.
 */
public final class Pictures {
    private static final int MARGIN = 10, GAP = 8;
    private static final int[] FRAME = {200, 200, 200};

    private Pictures() {}

    /**
     * One row of an adversarial grid: a clean image and its adversarial version (CHW, [0, 1]), the
     * true class, both predictions, and optionally the Grad-CAM heat maps (H * W values in [0, 1],
     * e.g. from {@link GradCam#compute}) of the clean and the adversarial image, both or neither.
     */
    public record AdversarialExample(float[] clean, float[] adversarial, int label, int cleanPrediction,
                                     int adversarialPrediction, float[] cleanCam, float[] adversarialCam) {
        /** A row without heat maps. */
        public AdversarialExample(float[] clean, float[] adversarial, int label, int cleanPrediction,
                                  int adversarialPrediction) {
            this(clean, adversarial, label, cleanPrediction, adversarialPrediction, null, null);
        }

        public boolean hasCams() {
            return cleanCam != null;
        }

        /** The attack changed the model's answer. */
        public boolean flipped() {
            return cleanPrediction != adversarialPrediction;
        }
    }

    /**
     * One row of a segmentation picture: the image, the true mask, the masks predicted on the
     * clean and on the adversarial image (H * W class indices), and optionally the adversarial
     * image itself (CHW, [0, 1]; null to leave its column out).
     */
    public record SegmentationExample(float[] image, int[] trueMask, int[] cleanMask, int[] adversarialMask,
                                      float[] adversarial) {}

    /**
     * Writes a grid with one row per example: clean | perturbation (0.5 + magnify * delta,
     * clipped, so mid-grey means unchanged) | adversarial | Grad-CAM of the clean image |
     * Grad-CAM of the adversarial image (the last two when the rows carry heat maps), under a
     * header of column titles. Below each row: "true: X  clean: Y  adv: Z" (continued on a second
     * line when long class names do not fit), in red when the attack changed the prediction.
     * classNames may be null (classes are then shown as numbers).
     */
    public static GridLayout adversarialGrid(Path png, ImageShape shape, List<AdversarialExample> rows,
                                             String[] classNames, double magnify) {
        RgbImage.checkPngPath(png);
        if (shape == null) throw new IllegalArgumentException("adversarial grid: no image shape");
        if (rows == null || rows.isEmpty()) throw new IllegalArgumentException("adversarial grid: no rows");
        if (rows.get(0) == null) throw new IllegalArgumentException("adversarial grid: row 0 is null");
        if (!(magnify > 0) || Double.isInfinite(magnify)) {
            throw new IllegalArgumentException("adversarial grid: magnify must be positive and finite, got " + magnify);
        }
        boolean cams = rows.get(0).hasCams();
        for (int i = 0; i < rows.size(); i++) {
            AdversarialExample r = rows.get(i);
            if (r == null) throw new IllegalArgumentException("adversarial grid: row " + i + " is null");
            String where = "adversarial grid row " + i;
            checkImage(r.clean(), shape, where + ": clean image");
            checkImage(r.adversarial(), shape, where + ": adversarial image");
            if ((r.cleanCam() == null) != (r.adversarialCam() == null)) {
                throw new IllegalArgumentException(where + ": give both heat maps (clean and adversarial) or neither");
            }
            if (r.hasCams() != cams) {
                throw new IllegalArgumentException(where + (cams ? " has no heat maps but row 0 has"
                        : " has heat maps but row 0 has none") + "; all rows must agree");
            }
            if (cams) {
                checkCam(r.cleanCam(), shape, where + ": clean heat map");
                checkCam(r.adversarialCam(), shape, where + ": adversarial heat map");
            }
            className(classNames, r.label(), where + ": label");
            className(classNames, r.cleanPrediction(), where + ": clean prediction");
            className(classNames, r.adversarialPrediction(), where + ": adversarial prediction");
        }
        List<String> titles = new ArrayList<>(List.of("clean", "perturbation x" + number(magnify), "adversarial"));
        if (cams) titles.addAll(List.of("Grad-CAM clean", "Grad-CAM adversarial"));

        List<List<String>> captions = new ArrayList<>();
        for (AdversarialExample r : rows) {
            captions.add(List.of("true: " + className(classNames, r.label(), ""),
                    "clean: " + className(classNames, r.cleanPrediction(), ""),
                    "adv: " + className(classNames, r.adversarialPrediction(), "")));
        }
        int scale = Tiles.scaleFor(shape);
        try (Grid grid = new Grid(shape, scale, titles, captions)) {
            for (int i = 0; i < rows.size(); i++) {
                AdversarialExample r = rows.get(i);
                List<Mat> tiles = new ArrayList<>();
                try {
                    tiles.add(Tiles.image(r.clean(), 0, shape, scale));
                    tiles.add(Tiles.perturbation(r.clean(), r.adversarial(), 0, shape, magnify, scale));
                    tiles.add(Tiles.image(r.adversarial(), 0, shape, scale));
                    if (cams) {
                        tiles.add(Tiles.overlay(r.clean(), 0, r.cleanCam(), shape, scale));
                        tiles.add(Tiles.overlay(r.adversarial(), 0, r.adversarialCam(), shape, scale));
                    }
                    grid.row(i, tiles, r.flipped() ? Canvas.RED : Canvas.BLACK);
                } finally {
                    for (Mat t : tiles) t.close();
                }
            }
            grid.write(png);
            return grid.layout(scale);
        }
    }

    /**
     * The batch form of {@link #adversarialGrid(Path, ImageShape, List, String[], double)}: clean
     * and adversarial hold N images back to back (N * C * H * W), labels and predictions N
     * entries, the heat maps N maps of H * W (both null to omit them); the first `rows` images
     * are shown.
     */
    public static GridLayout adversarialGrid(Path png, float[] clean, float[] adversarial, ImageShape shape,
                                             int rows, String[] classNames, int[] labels, int[] cleanPredictions,
                                             int[] adversarialPredictions, float[][] cleanCams,
                                             float[][] adversarialCams, double magnify) {
        int n = batchSize(clean, shape, "adversarial grid: clean images");
        if (adversarial == null || adversarial.length != clean.length) {
            throw new IllegalArgumentException("adversarial grid: " + clean.length + " clean values but "
                    + (adversarial == null ? "no" : adversarial.length) + " adversarial ones");
        }
        checkRows(rows, n, "adversarial grid");
        checkLength(labels, n, "adversarial grid: labels");
        checkLength(cleanPredictions, n, "adversarial grid: clean predictions");
        checkLength(adversarialPredictions, n, "adversarial grid: adversarial predictions");
        if ((cleanCams == null) != (adversarialCams == null)) {
            throw new IllegalArgumentException("adversarial grid: give both heat-map arrays (clean and adversarial) "
                    + "or neither");
        }
        if (cleanCams != null) {
            checkLength(cleanCams, n, "adversarial grid: clean heat maps");
            checkLength(adversarialCams, n, "adversarial grid: adversarial heat maps");
        }
        List<AdversarialExample> list = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            list.add(new AdversarialExample(slice(clean, i, shape.values()), slice(adversarial, i, shape.values()),
                    labels[i], cleanPredictions[i], adversarialPredictions[i],
                    cleanCams == null ? null : cleanCams[i], adversarialCams == null ? null : adversarialCams[i]));
        }
        return adversarialGrid(png, shape, list, classNames, magnify);
    }

    /**
     * A heat map (H * W values in [0, 1]) in the JET colour map blended half and half over the
     * image (CHW in [0, 1]), enlarged like the grid tiles (see the class comment). Cold regions
     * come out blue-tinted and hot ones red, as in Selvaraju et al.'s figures.
     */
    public static RgbImage gradCamOverlay(float[] image, float[] cam, ImageShape shape) {
        checkImage(image, shape, "Grad-CAM overlay: image");
        checkCam(cam, shape, "Grad-CAM overlay: heat map");
        try (Mat m = Tiles.overlay(image, 0, cam, shape, Tiles.scaleFor(shape))) {
            return RgbImage.fromBgr(m);
        }
    }

    /**
     * Writes one row per example: image | true mask | clean prediction | adversarial prediction
     * (| adversarial image, when the rows carry it), masks in a colour-blind-safe palette with
     * class 0 black. Below each row the Dice of both predictions against the true mask: the mean
     * over the classes present in the prediction or the truth, as in the benchmark's tables
     * ({@link SegmentationMetrics}).
     */
    public static GridLayout segmentationMasks(Path png, ImageShape shape, List<SegmentationExample> rows,
                                               int classes) {
        RgbImage.checkPngPath(png);
        if (shape == null) throw new IllegalArgumentException("segmentation masks: no image shape");
        if (rows == null || rows.isEmpty()) throw new IllegalArgumentException("segmentation masks: no rows");
        if (rows.get(0) == null) throw new IllegalArgumentException("segmentation masks: row 0 is null");
        if (classes < 2) throw new IllegalArgumentException("segmentation masks: need at least 2 classes, got " + classes);
        boolean withAdversarial = rows.get(0).adversarial() != null;
        for (int i = 0; i < rows.size(); i++) {
            SegmentationExample r = rows.get(i);
            if (r == null) throw new IllegalArgumentException("segmentation masks: row " + i + " is null");
            String where = "segmentation masks row " + i;
            checkImage(r.image(), shape, where + ": image");
            checkMask(r.trueMask(), shape, classes, where + ": true mask");
            checkMask(r.cleanMask(), shape, classes, where + ": clean prediction");
            checkMask(r.adversarialMask(), shape, classes, where + ": adversarial prediction");
            if ((r.adversarial() != null) != withAdversarial) {
                throw new IllegalArgumentException(where + (withAdversarial ? " has no adversarial image but row 0 has"
                        : " has an adversarial image but row 0 has none") + "; all rows must agree");
            }
            if (withAdversarial) checkImage(r.adversarial(), shape, where + ": adversarial image");
        }
        List<String> titles = new ArrayList<>(List.of("image", "true mask", "clean prediction",
                "adversarial prediction"));
        if (withAdversarial) titles.add("adversarial image");

        List<List<String>> captions = new ArrayList<>();
        for (SegmentationExample r : rows) {
            captions.add(List.of(String.format(Locale.ROOT, "Dice  clean: %.3f", dice(r.cleanMask(), r.trueMask(), classes)),
                    String.format(Locale.ROOT, "adversarial: %.3f", dice(r.adversarialMask(), r.trueMask(), classes))));
        }
        int scale = Tiles.scaleFor(shape);
        try (Grid grid = new Grid(shape, scale, titles, captions)) {
            for (int i = 0; i < rows.size(); i++) {
                SegmentationExample r = rows.get(i);
                List<Mat> tiles = new ArrayList<>();
                try {
                    tiles.add(Tiles.image(r.image(), 0, shape, scale));
                    tiles.add(Tiles.mask(r.trueMask(), 0, shape, scale));
                    tiles.add(Tiles.mask(r.cleanMask(), 0, shape, scale));
                    tiles.add(Tiles.mask(r.adversarialMask(), 0, shape, scale));
                    if (withAdversarial) tiles.add(Tiles.image(r.adversarial(), 0, shape, scale));
                    grid.row(i, tiles, Canvas.BLACK);
                } finally {
                    for (Mat t : tiles) t.close();
                }
            }
            grid.write(png);
            return grid.layout(scale);
        }
    }

    /**
     * The batch form of {@link #segmentationMasks(Path, ImageShape, List, int)}: images (and
     * adversarial, or null) hold N images back to back, each mask array N * H * W class
     * indices; the first `rows` examples are shown.
     */
    public static GridLayout segmentationMasks(Path png, float[] images, int[] trueMasks, int[] cleanMasks,
                                               int[] adversarialMasks, float[] adversarial, ImageShape shape,
                                               int rows, int classes) {
        int n = batchSize(images, shape, "segmentation masks: images");
        checkRows(rows, n, "segmentation masks");
        checkLength(trueMasks, (long) n * shape.pixels(), "segmentation masks: true masks");
        checkLength(cleanMasks, (long) n * shape.pixels(), "segmentation masks: clean predictions");
        checkLength(adversarialMasks, (long) n * shape.pixels(), "segmentation masks: adversarial predictions");
        if (adversarial != null && adversarial.length != images.length) {
            throw new IllegalArgumentException("segmentation masks: " + images.length + " image values but "
                    + adversarial.length + " adversarial ones");
        }
        List<SegmentationExample> list = new ArrayList<>(rows);
        int p = shape.pixels();
        for (int i = 0; i < rows; i++) {
            list.add(new SegmentationExample(slice(images, i, shape.values()),
                    Arrays.copyOfRange(trueMasks, i * p, (i + 1) * p), Arrays.copyOfRange(cleanMasks, i * p, (i + 1) * p),
                    Arrays.copyOfRange(adversarialMasks, i * p, (i + 1) * p),
                    adversarial == null ? null : slice(adversarial, i, shape.values())));
        }
        return segmentationMasks(png, shape, list, classes);
    }

    static double dice(int[] predicted, int[] truth, int classes) {
        float[] p = new float[predicted.length], t = new float[truth.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = predicted[i];
            t[i] = truth[i];
        }
        return SegmentationMetrics.of(p, t, classes).dice();
    }

    /**
     * Lays out a header of column titles and rows of equally sized tiles, each row followed by
     * its caption; tiles get a light frame drawn in the gap around them, so the tile pixels
     * themselves are exactly the rendered images. A caption is a list of parts ("true: X",
     * "clean: Y", ...) set on one line three spaces apart; parts that do not fit move to the next
     * line rather than being cut, so long class names stay readable, and every row gets as many
     * caption lines as the longest one needs.
     */
    static final class Grid implements AutoCloseable {
        private static final String SEPARATOR = "   ";
        final int tileW, tileH, columns, rows, headerH, rowH;
        final double fontScale;
        final List<List<String>> captionLines = new ArrayList<>();
        final Canvas canvas;

        Grid(ImageShape shape, int scale, List<String> titles, List<List<String>> captions) {
            tileW = shape.width() * scale;
            tileH = shape.height() * scale;
            columns = titles.size();
            rows = captions.size();
            // The font follows the tile size: readable next to a 112-pixel tile, not huge next to a 512 one.
            fontScale = Math.max(0.4, Math.min(0.6, tileW / 250.0));
            int line = Canvas.lineHeight(fontScale);
            int width = 2 * MARGIN + columns * tileW + (columns - 1) * GAP;
            List<List<String>> wrapped = new ArrayList<>();
            int lines = 1;
            for (String t : titles) {
                List<String> w = Canvas.wrap(Canvas.ascii(t), tileW, fontScale);
                wrapped.add(w);
                lines = Math.max(lines, w.size());
            }
            int captionCount = 1;
            for (List<String> parts : captions) {
                List<String> c = joinParts(parts, width - 2 * MARGIN, fontScale);
                captionLines.add(c);
                captionCount = Math.max(captionCount, c.size());
            }
            headerH = lines * line + GAP / 2;
            rowH = tileH + captionCount * line + GAP / 2 + GAP;
            int height = 2 * MARGIN + headerH + rows * rowH - GAP;
            canvas = new Canvas(width, height);
            int ascent = Canvas.ascent(fontScale);
            for (int c = 0; c < columns; c++) {
                List<String> w = wrapped.get(c);
                // Bottom-align titles so every title's last line sits right above its column.
                int first = lines - w.size();
                for (int k = 0; k < w.size(); k++) {
                    canvas.centred(w.get(k), x(c), tileW, MARGIN + ascent + (first + k) * line, fontScale, Canvas.BLACK);
                }
            }
        }

        /** Greedy: parts joined by SEPARATOR while they fit; a part too long alone is truncated. */
        static List<String> joinParts(List<String> parts, int width, double scale) {
            List<String> lines = new ArrayList<>();
            String line = "";
            for (String raw : parts) {
                String part = Canvas.ascii(raw);
                String candidate = line.isEmpty() ? part : line + SEPARATOR + part;
                if (line.isEmpty() || Canvas.textWidth(candidate, scale) <= width) {
                    line = candidate;
                } else {
                    lines.add(Canvas.truncate(line, width, scale));
                    line = part;
                }
            }
            lines.add(Canvas.truncate(line, width, scale));
            return lines;
        }

        int x(int column) {
            return MARGIN + column * (tileW + GAP);
        }

        int y(int row) {
            return MARGIN + headerH + row * rowH;
        }

        void row(int r, List<Mat> tiles, int[] rgb) {
            if (tiles.size() != columns) throw new IllegalStateException(tiles.size() + " tiles for " + columns + " columns");
            for (int c = 0; c < columns; c++) {
                canvas.place(tiles.get(c), x(c), y(r));
                frame(x(c), y(r));
            }
            int line = Canvas.lineHeight(fontScale), baseline = y(r) + tileH + Canvas.ascent(fontScale) + GAP / 2;
            for (String text : captionLines.get(r)) {
                canvas.text(text, MARGIN, baseline, fontScale, rgb);
                baseline += line;
            }
        }

        private void frame(int x, int y) {
            canvas.frame(x - 1, y - 1, tileW + 2, tileH + 2, FRAME);
        }

        void write(Path png) {
            canvas.write(png);
        }

        GridLayout layout(int scale) {
            int[] xs = new int[columns], ys = new int[rows];
            for (int c = 0; c < columns; c++) xs[c] = x(c);
            for (int r = 0; r < rows; r++) ys[r] = y(r);
            return new GridLayout(canvas.width(), canvas.height(), scale, tileW, tileH, xs, ys);
        }

        @Override
        public void close() {
            canvas.close();
        }
    }

    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.3g", v);
    }

    private static String className(String[] names, int cls, String where) {
        if (cls < 0) throw new IllegalArgumentException(where + " is " + cls + ", not a class index");
        if (names == null) return String.valueOf(cls);
        if (cls >= names.length) {
            throw new IllegalArgumentException(where + " is class " + cls + " but only " + names.length
                    + " class names were given");
        }
        return names[cls] == null ? String.valueOf(cls) : names[cls];
    }

    private static void checkImage(float[] image, ImageShape shape, String what) {
        if (image == null) throw new IllegalArgumentException(what + " is missing");
        if (image.length != shape.values()) {
            throw new IllegalArgumentException(what + " has " + image.length + " values, but a " + shape + " image has "
                    + shape.values());
        }
        checkFinite(image, what);
    }

    private static void checkCam(float[] cam, ImageShape shape, String what) {
        if (cam == null) throw new IllegalArgumentException(what + " is missing");
        if (cam.length != shape.pixels()) {
            throw new IllegalArgumentException(what + " has " + cam.length + " values, but a " + shape.height() + "x"
                    + shape.width() + " image needs " + shape.pixels() + " (one per pixel)");
        }
        checkFinite(cam, what);
    }

    private static void checkMask(int[] mask, ImageShape shape, int classes, String what) {
        if (mask == null) throw new IllegalArgumentException(what + " is missing");
        if (mask.length != shape.pixels()) {
            throw new IllegalArgumentException(what + " has " + mask.length + " values, but a " + shape.height() + "x"
                    + shape.width() + " image needs " + shape.pixels());
        }
        for (int p = 0; p < mask.length; p++) {
            if (mask[p] < 0 || mask[p] >= classes) {
                throw new IllegalArgumentException(what + ": pixel " + p + " has class " + mask[p] + ", outside [0, "
                        + classes + ")");
            }
        }
    }

    private static void checkFinite(float[] v, String what) {
        for (int i = 0; i < v.length; i++) {
            if (!Float.isFinite(v[i])) throw new IllegalArgumentException(what + ": value " + i + " is " + v[i]);
        }
    }

    private static int batchSize(float[] batch, ImageShape shape, String what) {
        if (shape == null) throw new IllegalArgumentException(what + ": no image shape");
        if (batch == null) throw new IllegalArgumentException(what + " are missing");
        if (batch.length == 0 || batch.length % shape.values() != 0) {
            throw new IllegalArgumentException(what + ": " + batch.length + " values are not a whole number of " + shape
                    + " images (" + shape.values() + " values each)");
        }
        return batch.length / shape.values();
    }

    private static void checkRows(int rows, int n, String what) {
        if (rows < 1 || rows > n) {
            throw new IllegalArgumentException(what + ": rows must be in [1, " + n + "] for " + n + " images, got "
                    + rows);
        }
    }

    private static void checkLength(int[] a, long n, String what) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException(what + ": expected " + n + " entries, got "
                    + (a == null ? "null" : a.length));
        }
    }

    private static void checkLength(float[][] a, int n, String what) {
        if (a.length != n) throw new IllegalArgumentException(what + ": expected " + n + " maps, got " + a.length);
    }

    private static float[] slice(float[] batch, int i, int size) {
        return Arrays.copyOfRange(batch, i * size, (i + 1) * size);
    }
}
