package org.advmia.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * MNIST-style IDX files in a directory: {train,t10k}-images-idx3-ubyte and
 * {train,t10k}-labels-idx1-ubyte, each optionally gzipped (.gz; also the "images.idx3-ubyte"
 * spelling). IDX has no validation split, so VAL is the last min(5000, N/10) training images
 * (or val=K) and TRAIN the ones before; TEST is t10k. Keys: val=K, classes=K (default 10).
 * A directory whose path mentions "fashion" gets Fashion-MNIST's class names.
 */
public final class IdxDataset implements Dataset {
    static final List<String> KEYS = List.of("val", "classes");
    static final List<String> FASHION = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");

    private final DatasetInfo info;
    private final byte[] trainImages, testImages, trainLabels, testLabels;
    private final int valStart, trainCount;

    public static IdxDataset open(Path dir) {
        return open(dir, new SpecQuery("idx:" + dir, "", KEYS));
    }

    static IdxDataset open(Path dir, SpecQuery q) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + ": no such directory (idx: needs the folder holding the IDX files)");
        return new IdxDataset(dir, q.integer("classes", 10, 2, 256), q.has("val") ? q.integer("val", 0, 1, Integer.MAX_VALUE) : -1);
    }

    private IdxDataset(Path dir, int classes, int val) {
        Path trI = find(dir, "train", "images", "idx3"), trL = find(dir, "train", "labels", "idx1");
        Path teI = find(dir, "t10k", "images", "idx3"), teL = find(dir, "t10k", "labels", "idx1");
        int[] trDims = new int[3], teDims = new int[3];
        trainImages = read(trI, 3, trDims);
        testImages = read(teI, 3, teDims);
        int[] n1 = new int[1], n2 = new int[1];
        trainLabels = read(trL, 1, n1);
        testLabels = read(teL, 1, n2);
        if (n1[0] != trDims[0]) throw new IllegalArgumentException(trL + ": " + n1[0] + " labels for " + trDims[0] + " images in " + trI);
        if (n2[0] != teDims[0]) throw new IllegalArgumentException(teL + ": " + n2[0] + " labels for " + teDims[0] + " images in " + teI);
        if (trDims[1] != teDims[1] || trDims[2] != teDims[2]) {
            throw new IllegalArgumentException(teI + ": images are " + teDims[1] + "x" + teDims[2] + " but " + trI + " has "
                    + trDims[1] + "x" + trDims[2]);
        }
        checkLabels(trL, trainLabels, classes);
        checkLabels(teL, testLabels, classes);
        trainCount = trDims[0];
        int v = val >= 0 ? val : Math.min(5000, trainCount / 10);
        if (v >= trainCount) throw new IllegalArgumentException(dir + ": val=" + v + " leaves no training images (train has " + trainCount + ")");
        valStart = trainCount - v;
        boolean fashion = dir.toAbsolutePath().toString().toLowerCase(Locale.ROOT).contains("fashion") && classes == 10;
        info = new DatasetInfo(dir.getFileName() == null ? "idx" : dir.getFileName().toString(), Task.CLASSIFICATION, 1,
                trDims[1], trDims[2], classes, fashion ? FASHION : DatasetInfo.numberedClasses(classes));
    }

    private static Path find(Path dir, String split, String what, String idx) {
        for (String sep : new String[] {"-", "."}) {
            for (String gz : new String[] {"", ".gz"}) {
                Path p = dir.resolve(split + "-" + what + sep + idx + "-ubyte" + gz);
                if (Files.isRegularFile(p)) return p;
            }
        }
        throw new IllegalArgumentException(dir.resolve(split + "-" + what + "-" + idx + "-ubyte") + ": no such file (nor .gz)");
    }

    private static void checkLabels(Path file, byte[] labels, int classes) {
        for (int i = 0; i < labels.length; i++) {
            int v = labels[i] & 0xff;
            if (v >= classes) {
                throw new IllegalArgumentException(file + ": label " + v + " of item " + i + " (byte offset " + (8 + i)
                        + ") is out of range [0, " + classes + ")");
            }
        }
    }

    /** Reads an unsigned-byte IDX file of the given rank; dims receives the extents. */
    static byte[] read(Path file, int rank, int[] dims) {
        boolean gz;
        try (InputStream head = Files.newInputStream(file)) {
            gz = head.read() == 0x1f && head.read() == 0x8b;
        } catch (IOException e) {
            throw NpyArray.io(file.toString(), e);
        }
        String where = gz ? " decompressed offset " : " offset ";
        long pos = 0;
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
             InputStream in = gz ? new GZIPInputStream(raw, 1 << 16) : raw) {
            byte[] h = in.readNBytes(4 + 4 * rank);
            if (h.length < 4) throw new IllegalArgumentException(file + ": truncated: " + h.length + " bytes, no IDX header");
            if (h[0] != 0 || h[1] != 0) throw new IllegalArgumentException(file + ": not an IDX file (bad magic at offset 0)");
            if ((h[2] & 0xff) != 0x08) {
                throw new IllegalArgumentException(file + ": IDX data type 0x" + Integer.toHexString(h[2] & 0xff)
                        + " at offset 2 is not supported (expected 0x08, unsigned byte)");
            }
            if (h[3] != rank) {
                throw new IllegalArgumentException(file + ": IDX rank " + h[3] + " at offset 3, expected " + rank);
            }
            if (h.length < 4 + 4 * rank) throw new IllegalArgumentException(file + ": truncated in the IDX header");
            long total = 1;
            for (int d = 0; d < rank; d++) {
                int o = 4 + 4 * d;
                dims[d] = ((h[o] & 0xff) << 24) | ((h[o + 1] & 0xff) << 16) | ((h[o + 2] & 0xff) << 8) | (h[o + 3] & 0xff);
                if (dims[d] <= 0) throw new IllegalArgumentException(file + ": extent " + dims[d] + " at offset " + o + " is not positive");
                total *= dims[d];
            }
            if (total > Integer.MAX_VALUE - 64) throw new IllegalArgumentException(file + ": " + total + " bytes is too large");
            pos = h.length;
            byte[] data = new byte[(int) total];
            int got = 0;
            while (got < data.length) {
                int r = in.read(data, got, data.length - got);
                if (r < 0) break;
                got += r;
                pos += r;
            }
            if (got < data.length) {
                throw new IllegalArgumentException(file + ": truncated at" + where + pos + ": the header promises " + total
                        + " bytes of data, found " + got);
            }
            if (in.read() >= 0) {
                throw new IllegalArgumentException(file + ": more data after" + where + pos + " than the header's extents "
                        + java.util.Arrays.toString(dims) + " describe");
            }
            return data;
        } catch (EOFException | ZipException e) {
            throw new IllegalArgumentException(file + ": corrupt or truncated gzip data at" + where + pos + " ("
                    + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw NpyArray.io(file.toString(), e);
        }
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public int size(Split split) {
        return switch (split) {
            case TRAIN -> valStart;
            case VAL -> trainCount - valStart;
            case TEST -> testLabels.length;
        };
    }

    private int row(Split split, int index) {
        checkIndex(split, index);
        return split == Split.VAL ? valStart + index : index;
    }

    @Override
    public Sample get(Split split, int index) {
        int r = row(split, index), plane = info.height() * info.width();
        byte[] src = split == Split.TEST ? testImages : trainImages;
        float[] img = new float[plane];
        for (int p = 0; p < plane; p++) img[p] = Pixels.U8[src[r * plane + p] & 0xff];
        return new Sample(img, label(split, index));
    }

    @Override
    public float[] label(Split split, int index) {
        int r = row(split, index);
        return new float[] {(split == Split.TEST ? testLabels : trainLabels)[r] & 0xff};
    }
}
