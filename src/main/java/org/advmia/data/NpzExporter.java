package org.advmia.data;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.stream.IntStream;

/**
 * Writes any dataset (synthetic ones included) as a MedMNIST-format .npz, so that PyTorch (or
 * {@code medmnist:PATH.npz}) sees exactly the same samples: {split}_images uint8 N x H x W or
 * N x H x W x 3, {split}_labels uint8 N x 1 (classification), N x L (multi-label) or N x H x W
 * (segmentation masks), plus class_names. Images are rounded to 8 bits, which is exact for every
 * loader here (their pixels are already k / 255).
 */
public final class NpzExporter {
    private NpzExporter() {}

    private static final int CHUNK = 256;

    public static void export(Dataset data, Path file) {
        DatasetInfo info = data.info();
        int c = info.channels(), h = info.height(), w = info.width(), plane = h * w;
        int labelSize = info.labelSize();
        boolean wide = info.task() != Task.MULTILABEL && info.classes() > 256;
        String labelType = wide ? "<i8" : "|u1";
        try (Npz.Writer out = new Npz.Writer(file)) {
            for (Split s : Split.values()) {
                int n = data.size(s);
                long[] imShape = c == 1 ? new long[] {n, h, w} : new long[] {n, h, w, c};
                long[] lbShape = switch (info.task()) {
                    case CLASSIFICATION -> new long[] {n, 1};
                    case MULTILABEL -> new long[] {n, info.classes()};
                    case SEGMENTATION -> new long[] {n, h, w};
                };
                byte[][] labelRows = new byte[n][];
                try (OutputStream im = out.begin(s.key() + "_images", "|u1", imShape)) {
                    for (int start = 0; start < n; start += CHUNK) {
                        int count = Math.min(CHUNK, n - start), first = start;
                        Sample[] chunk = new Sample[count];
                        IntStream.range(0, count).parallel().forEach(k -> chunk[k] = data.get(s, first + k));
                        byte[] buf = new byte[count * c * plane];
                        for (int k = 0; k < count; k++) {
                            float[] img = chunk[k].image();
                            int base = k * c * plane;
                            for (int p = 0; p < plane; p++) {
                                for (int ch = 0; ch < c; ch++) buf[base + p * c + ch] = (byte) Pixels.toByte(img[ch * plane + p]);
                            }
                            labelRows[first + k] = labelBytes(chunk[k].label(), labelSize, wide, info.name(), s, first + k);
                        }
                        im.write(buf);
                    }
                }
                try (OutputStream lb = out.begin(s.key() + "_labels", labelType, lbShape)) {
                    for (byte[] row : labelRows) lb.write(row);
                }
            }
            out.writeStrings("class_names", info.classNames());
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    private static byte[] labelBytes(float[] label, int size, boolean wide, String name, Split s, int index) {
        if (label.length != size) {
            throw new IllegalArgumentException(name + ": " + s.key() + " sample " + index + " has a label of "
                    + label.length + " values, expected " + size);
        }
        byte[] b = new byte[size * (wide ? 8 : 1)];
        for (int k = 0; k < size; k++) {
            long v = (long) label[k];
            if (wide) {
                for (int j = 0; j < 8; j++) b[k * 8 + j] = (byte) (v >>> (8 * j));
            } else {
                b[k] = (byte) v;
            }
        }
        return b;
    }
}
