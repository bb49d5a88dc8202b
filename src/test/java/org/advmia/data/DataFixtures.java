package org.advmia.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Small valid files for the data tests, and ways to break them. */
final class DataFixtures {
    private DataFixtures() {}

    /** A tiny MedMNIST-layout archive: n[split] images of h x w x c (c = 1: grey), labels from labelOf. */
    static Path medmnist(Path file, int h, int w, int c, int[] n, int labelWidth, int classes, long seed) {
        Random r = new Random(seed);
        try (Npz.Writer out = new Npz.Writer(file)) {
            for (Split s : Split.values()) {
                int count = n[s.ordinal()];
                byte[] im = new byte[count * h * w * c];
                r.nextBytes(im);
                long[] shape = c == 1 ? new long[] {count, h, w} : new long[] {count, h, w, c};
                out.write(s.key() + "_images", "|u1", shape, im);
                byte[] lb = new byte[count * labelWidth];
                for (int i = 0; i < lb.length; i++) lb[i] = (byte) (labelWidth == 1 ? i % classes : r.nextInt(2));
                out.write(s.key() + "_labels", "|u1", new long[] {count, labelWidth}, lb);
            }
        }
        return file;
    }

    /** IDX bytes: magic 0x0803 / 0x0801, big-endian extents, then data. */
    static byte[] idx(int rank, int[] dims, byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0);
        b.write(0);
        b.write(8);
        b.write(rank);
        for (int d : dims) {
            b.write(d >>> 24);
            b.write(d >>> 16);
            b.write(d >>> 8);
            b.write(d);
        }
        b.writeBytes(data);
        return b.toByteArray();
    }

    static byte[] gzip(byte[] raw) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(b)) {
            z.write(raw);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
        return b.toByteArray();
    }

    /** An MNIST-like IDX folder: train of nTrain and t10k of nTest images of 28 x 28, labels i % 10. */
    static Path idxDir(Path dir, int nTrain, int nTest, boolean gz) throws IOException {
        Files.createDirectories(dir);
        Random r = new Random(1);
        for (String split : new String[] {"train", "t10k"}) {
            int n = split.equals("train") ? nTrain : nTest;
            byte[] im = new byte[n * 28 * 28];
            r.nextBytes(im);
            byte[] lb = new byte[n];
            for (int i = 0; i < n; i++) lb[i] = (byte) (i % 10);
            byte[] imFile = idx(3, new int[] {n, 28, 28}, im), lbFile = idx(1, new int[] {n}, lb);
            String ext = gz ? ".gz" : "";
            Files.write(dir.resolve(split + "-images-idx3-ubyte" + ext), gz ? gzip(imFile) : imFile);
            Files.write(dir.resolve(split + "-labels-idx1-ubyte" + ext), gz ? gzip(lbFile) : lbFile);
        }
        return dir;
    }

    /** Writes an h x w image whose pixel (x, y, c) is pattern(x, y, c). */
    static Path image(Path file, int h, int w, int c, Pattern p) {
        byte[] px = new byte[h * w * c];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int k = 0; k < c; k++) px[(y * w + x) * c + k] = (byte) p.at(x, y, k);
        ImageCodec.write(file, px, h, w, c);
        return file;
    }

    interface Pattern {
        int at(int x, int y, int c);
    }

    static byte[] flip(byte[] b, int pos) {
        byte[] c = b.clone();
        c[pos] ^= 0x10;
        return c;
    }

    static byte[] truncate(byte[] b, int length) {
        return Arrays.copyOf(b, length);
    }
}
