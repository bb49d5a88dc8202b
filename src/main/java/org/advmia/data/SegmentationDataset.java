package org.advmia.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.stream.Stream;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Segmentation pairs, ISIC style: DIR/images/X.jpg with DIR/masks/X_segmentation.png (also
 * X_mask.png or X.png; .png, .tif, .tiff, .bmp). With DIR/train, DIR/val and DIR/test, each holds
 * such a pair of folders; otherwise the pairs are split by {@link Splits} (val=0.1, test=0.2,
 * seed=0). Masks are lossless images whose pixel values (grey, or RGB colours) are the classes:
 * the distinct values over all masks, sorted, map to class indices 0, 1, ... (so 0/255 binary
 * masks become 0/1; a palette 0/128/255 becomes 0/1/2); values=v0,v1,... fixes the list and
 * skips the scan. Images and masks are scaled (masks nearest-neighbour) and centre-cropped to
 * size= (default 128) as in {@link CsvDataset}. Keys: images, masks (folder names), size,
 * resize, channels, values, val, test, seed.
 */
public final class SegmentationDataset implements Dataset {
    static final List<String> KEYS = List.of("images", "masks", "size", "resize", "channels", "values", "val", "test", "seed");
    private static final List<String> IMAGE_EXT = List.of(".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp");
    private static final List<String> MASK_EXT = List.of(".png", ".tif", ".tiff", ".bmp");
    private static final int MAX_CLASSES = 64;

    private record Pair(Path image, Path mask) {}

    private final DatasetInfo info;
    private final int resize;
    private final int[] values;
    private final Map<Split, List<Pair>> pairs = new EnumMap<>(Split.class);

    public static SegmentationDataset open(Path dir, SpecQuery q) {
        return new SegmentationDataset(dir, q);
    }

    private SegmentationDataset(Path dir, SpecQuery q) {
        double valFraction = q.fraction("val", 0.1), testFraction = q.fraction("test", 0.2);
        long splitSeed = q.seed("seed", 0);
        String imDir = q.string("images", "images"), maskDir = q.string("masks", "masks");
        int size = q.integer("size", 128, 8, 4096);
        this.resize = q.integer("resize", size, size, 8192);
        int channels = q.integer("channels", 3, 1, 3);
        if (channels == 2) throw new IllegalArgumentException(dir + ": channels must be 1 or 3");
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": no such directory (seg: needs a folder)");
        if (Files.isDirectory(dir.resolve("train"))) {
            for (Split s : Split.values()) {
                Path sub = dir.resolve(s.key());
                if (!Files.isDirectory(sub)) {
                    throw new IllegalArgumentException(sub + ": missing (" + dir + " has train/, so it needs val/ and test/ too)");
                }
                pairs.put(s, scan(sub.resolve(imDir), sub.resolve(maskDir)));
            }
        } else {
            List<Pair> all = scan(dir.resolve(imDir), dir.resolve(maskDir));
            Split[] assigned = Splits.assign(all.size(), valFraction, testFraction, splitSeed);
            Splits.group(assigned).forEach((s, idx) -> pairs.put(s, idx.stream().map(all::get).toList()));
        }
        int[] given = q.integers("values");
        if (given != null) {
            values = given.clone();
            Arrays.sort(values);
            for (int i = 1; i < values.length; i++) {
                if (values[i] == values[i - 1]) throw new IllegalArgumentException(dir + ": values= lists " + values[i] + " twice");
            }
        } else {
            values = scanValues(dir);
        }
        if (values.length < 2) {
            throw new IllegalArgumentException(dir + ": the masks hold only the value " + Arrays.toString(values)
                    + "; segmentation needs at least 2 classes (pass values=0,255 if some class is simply absent)");
        }
        List<String> names = new ArrayList<>();
        if (values.length == 2) names = List.of("background", "foreground");
        else for (int v : values) names.add("value " + v);
        info = new DatasetInfo(dir.getFileName() == null ? "seg" : dir.getFileName().toString(), Task.SEGMENTATION,
                channels, size, size, values.length, names);
    }

    private static List<Pair> scan(Path images, Path masks) {
        if (!Files.isDirectory(images)) throw new IllegalArgumentException(images + ": no such image folder");
        if (!Files.isDirectory(masks)) throw new IllegalArgumentException(masks + ": no such mask folder");
        List<Pair> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(images)) {
            for (Path im : files.sorted().toList()) {
                String name = im.getFileName().toString(), lower = name.toLowerCase(Locale.ROOT);
                int dot = lower.lastIndexOf('.');
                if (dot < 0 || !IMAGE_EXT.contains(lower.substring(dot)) || !Files.isRegularFile(im)) continue;
                String stem = name.substring(0, dot);
                Path mask = null;
                for (String suffix : new String[] {"_segmentation", "_mask", ""}) {
                    for (String ext : MASK_EXT) {
                        Path m = masks.resolve(stem + suffix + ext);
                        if (mask == null && Files.isRegularFile(m)) mask = m;
                    }
                }
                if (mask == null) {
                    throw new IllegalArgumentException(im + ": no mask " + masks.resolve(stem + "_segmentation.png")
                            + " (nor _mask or plain " + stem + " with " + MASK_EXT + ")");
                }
                out.add(new Pair(im, mask));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(images + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new IllegalArgumentException(images + ": no images (" + IMAGE_EXT + ")");
        return out;
    }

    /** The sorted distinct mask values over every split. */
    private int[] scanValues(Path dir) {
        ConcurrentSkipListSet<Integer> seen = new ConcurrentSkipListSet<>();
        pairs.values().stream().flatMap(List::stream).parallel().forEach(p -> {
            TreeSet<Integer> local = new TreeSet<>();
            try (Mat m = ImageCodec.decode(p.mask, ImageCodec.UNCHANGED, "")) {
                for (int c : ImageCodec.maskCodes(m, p.mask)) local.add(c);
            }
            if (local.size() > MAX_CLASSES) {
                throw new IllegalArgumentException(p.mask + ": " + local.size() + " distinct mask values; masks must be "
                        + "lossless label images (PNG, not JPEG) with a few values, or pass values=");
            }
            seen.addAll(local);
        });
        if (seen.size() > MAX_CLASSES) {
            throw new IllegalArgumentException(dir + ": " + seen.size() + " distinct mask values over all masks (more than "
                    + MAX_CLASSES + "); pass values=");
        }
        return seen.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public int size(Split split) {
        return pairs.get(split).size();
    }

    @Override
    public Sample get(Split split, int index) {
        checkIndex(split, index);
        Pair p = pairs.get(split).get(index);
        int size = info.height();
        try (Mat im = ImageCodec.decode(p.image, info.channels() == 1 ? ImageCodec.GREY : ImageCodec.COLOR, "");
             Mat mk = ImageCodec.decode(p.mask, ImageCodec.UNCHANGED, " (mask of " + p.image + ")")) {
            if (im.rows() != mk.rows() || im.cols() != mk.cols()) {
                throw new IllegalArgumentException(p.image + " is " + im.cols() + "x" + im.rows() + " but its mask " + p.mask
                        + " is " + mk.cols() + "x" + mk.rows());
            }
            try (Mat imOut = ImageCodec.resizeCrop(im, resize, size, false);
                 Mat mkOut = ImageCodec.resizeCrop(mk, resize, size, true)) {
                int[] codes = ImageCodec.maskCodes(mkOut, p.mask);
                float[] label = new float[codes.length];
                for (int i = 0; i < codes.length; i++) {
                    int cls = Arrays.binarySearch(values, codes[i]);
                    if (cls < 0) {
                        throw new IllegalArgumentException(p.mask + ": pixel value " + codes[i] + " at (x=" + (i % size)
                                + ", y=" + (i / size) + " after resizing) is not one of the mask values " + Arrays.toString(values));
                    }
                    label[i] = cls;
                }
                return new Sample(ImageCodec.toChw(imOut), label);
            }
        }
    }
}
