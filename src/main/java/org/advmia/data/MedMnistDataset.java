package org.advmia.data;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A MedMNIST v2 / MedMNIST+ archive: train_images, train_labels, val_images, val_labels,
 * test_images, test_labels. Images are uint8 N x H x W (grey) or N x H x W x 3 (RGB); labels are
 * N x 1 class indices, N x L 0/1 multi-label targets (ChestMNIST: L = 14), or N x H x W masks
 * (segmentation archives written by {@link NpzExporter}). An optional class_names string array
 * names the classes. Keys: classes=K fixes the class count (default: largest label + 1).
 */
public final class MedMnistDataset implements Dataset {
    static final List<String> KEYS = List.of("classes");

    private final String source;
    private final DatasetInfo info;
    private final Map<Split, NpyArray> images = new EnumMap<>(Split.class);
    private final Map<Split, NpyArray> labelArrays = new EnumMap<>(Split.class);
    private final Map<Split, float[]> labels = new EnumMap<>(Split.class);
    private final int imageBytes;

    public static MedMnistDataset open(Path file) {
        return open(file, new SpecQuery("medmnist:" + file, "", KEYS));
    }

    static MedMnistDataset open(Path file, SpecQuery q) {
        try (Npz npz = Npz.open(file)) {
            return new MedMnistDataset(file, npz, q.has("classes") ? q.integer("classes", 0, 2, 1 << 20) : -1);
        }
    }

    private MedMnistDataset(Path file, Npz arrays, int fixedClasses) {
        this.source = file.toString();
        long h = -1, w = -1, c = -1;
        Task task = null;
        int width = 0;
        for (Split s : Split.values()) {
            NpyArray im = require(arrays, s.key() + "_images"), lb = require(arrays, s.key() + "_labels");
            if (!im.descr.equals("|u1")) {
                throw new IllegalArgumentException(source + ": " + s.key() + "_images has dtype " + im.descr
                        + ", expected |u1 (uint8 pixels)");
            }
            if (im.shape.length != 3 && !(im.shape.length == 4 && (im.shape[3] == 3 || im.shape[3] == 1))) {
                throw new IllegalArgumentException(source + ": " + s.key() + "_images has shape " + im.shapeString()
                        + ", expected (N, H, W) or (N, H, W, 3)");
            }
            long ch = im.shape.length == 3 ? 1 : im.shape[3];
            if (h < 0) {
                h = im.shape[1];
                w = im.shape[2];
                c = ch;
            } else if (h != im.shape[1] || w != im.shape[2] || c != ch) {
                throw new IllegalArgumentException(source + ": " + s.key() + "_images has shape " + im.shapeString()
                        + " but train_images has images of " + h + "x" + w + "x" + c);
            }
            if (lb.shape.length == 0 || lb.shape[0] != im.shape[0]) {
                throw new IllegalArgumentException(source + ": " + s.key() + "_labels has shape " + lb.shapeString()
                        + " but " + s.key() + "_images holds " + im.shape[0] + " images");
            }
            if (lb.kind() == 'U') throw new IllegalArgumentException(source + ": " + s.key() + "_labels has dtype " + lb.descr);
            Task t;
            if (lb.shape.length == 1 || (lb.shape.length == 2 && lb.shape[1] == 1)) t = Task.CLASSIFICATION;
            else if (lb.shape.length == 2) t = Task.MULTILABEL;
            else if (lb.shape.length == 3 && lb.shape[1] == h && lb.shape[2] == w) t = Task.SEGMENTATION;
            else {
                throw new IllegalArgumentException(source + ": " + s.key() + "_labels has shape " + lb.shapeString()
                        + ", expected (N, 1), (N, L) or (N, " + h + ", " + w + ")");
            }
            if (task != null && (t != task || (t == Task.MULTILABEL && lb.shape[1] != width))) {
                throw new IllegalArgumentException(source + ": " + s.key() + "_labels has shape " + lb.shapeString()
                        + ", unlike train_labels");
            }
            task = t;
            if (t == Task.MULTILABEL) width = Math.toIntExact(lb.shape[1]);
            images.put(s, im);
            labelArrays.put(s, lb);
        }
        int classes = task == Task.MULTILABEL ? width : checkLabels(task, fixedClasses);
        if (task == Task.MULTILABEL) checkMultiLabels(width);
        if (classes < 2) {
            throw new IllegalArgumentException(source + ": every label is 0, so there is only one class; pass classes=K");
        }
        List<String> names = DatasetInfo.numberedClasses(classes);
        if (arrays.keys().contains("class_names")) {
            NpyArray cn = arrays.get("class_names");
            if (cn.kind() == 'U' && cn.numel() == classes) names = List.of(cn.strings());
        }
        String name = file.getFileName().toString().replaceFirst("\\.npz$", "");
        this.info = new DatasetInfo(name, task, (int) c, (int) h, (int) w, classes, names);
        this.imageBytes = info.imageSize();
    }

    private NpyArray require(Npz arrays, String key) {
        NpyArray a = arrays.get(key);
        if (a == null) {
            throw new IllegalArgumentException(source + ": missing array '" + key + "' (found: " + arrays.keys()
                    + "; a MedMNIST archive has train/val/test _images and _labels)");
        }
        return a;
    }

    /** Validates integer class labels (or mask pixels); returns the class count. */
    private int checkLabels(Task task, int fixedClasses) {
        int max = 0;
        for (Split s : Split.values()) {
            NpyArray lb = labelArrays.get(s);
            long n = lb.numel(), per = n / Math.max(1, lb.shape[0]);
            float[] cache = task == Task.CLASSIFICATION ? new float[(int) n] : null;
            for (long i = 0; i < n; i++) {
                double v = lb.getDouble(i);
                String where = s.key() + "_labels row " + (i / per) + (task == Task.SEGMENTATION ? " pixel " + (i % per) : "");
                if (v != Math.rint(v) || v < 0) {
                    throw new IllegalArgumentException(source + ": " + where + ": label " + v + " is not a class index >= 0");
                }
                if (fixedClasses > 0 && v >= fixedClasses) {
                    throw new IllegalArgumentException(source + ": " + where + ": label " + (long) v
                            + " is out of range [0, " + fixedClasses + ")");
                }
                max = (int) Math.max(max, v);
                if (cache != null) cache[(int) i] = (float) v;
            }
            if (cache != null) labels.put(s, cache);
        }
        return fixedClasses > 0 ? fixedClasses : max + 1;
    }

    private void checkMultiLabels(int width) {
        for (Split s : Split.values()) {
            NpyArray lb = labelArrays.get(s);
            float[] cache = new float[(int) lb.numel()];
            for (int i = 0; i < cache.length; i++) {
                double v = lb.getDouble(i);
                if (v != 0 && v != 1) {
                    throw new IllegalArgumentException(source + ": " + s.key() + "_labels row " + (i / width) + " column "
                            + (i % width) + ": multi-label target " + v + " is not 0 or 1");
                }
                cache[i] = (float) v;
            }
            labels.put(s, cache);
        }
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public int size(Split split) {
        return (int) images.get(split).shape[0];
    }

    @Override
    public Sample get(Split split, int index) {
        checkIndex(split, index);
        byte[] raw = new byte[imageBytes];
        images.get(split).getBytes((long) index * imageBytes, raw, 0, imageBytes);
        return new Sample(hwcToChw(raw, info.channels(), info.height() * info.width()), label(split, index));
    }

    @Override
    public float[] label(Split split, int index) {
        checkIndex(split, index);
        int per = info.labelSize();
        float[] cached = labels.get(split);
        float[] out = new float[per];
        if (cached != null) {
            System.arraycopy(cached, index * per, out, 0, per);
        } else {
            NpyArray lb = labelArrays.get(split);
            for (int k = 0; k < per; k++) out[k] = (float) lb.getDouble((long) index * per + k);
        }
        return out;
    }

    /** Interleaved 8-bit pixels (H x W x C) to planar floats (C x H x W). */
    static float[] hwcToChw(byte[] raw, int channels, int plane) {
        float[] out = new float[raw.length];
        if (channels == 1) {
            for (int i = 0; i < raw.length; i++) out[i] = Pixels.U8[raw[i] & 0xff];
        } else {
            for (int p = 0; p < plane; p++) {
                for (int ch = 0; ch < channels; ch++) out[ch * plane + p] = Pixels.U8[raw[p * channels + ch] & 0xff];
            }
        }
        return out;
    }
}
