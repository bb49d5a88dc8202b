package org.advmia.data;

import static org.bytedeco.opencv.global.opencv_core.CV_16U;
import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * Image decoding and geometric preprocessing through the OpenCV preset (PNG, JPEG, TIFF, BMP).
 * Files are read in Java and decoded from memory, so a missing file, a truncated PNG or JPEG
 * (no IEND / EOI marker) and an undecodable file each get an error naming the file and the
 * context (e.g. the CSV line). Callers close the Mats they receive. OpenCV runs single-threaded
 * inside each loader worker (-Dadvmia.opencv.threads=N overrides).
 */
final class ImageCodec {
    private ImageCodec() {}

    static {
        // The loader's workers are the parallelism; OpenCV's own pool would oversubscribe the cores.
        org.bytedeco.opencv.global.opencv_core.setNumThreads(Integer.getInteger("advmia.opencv.threads", 1));
    }

    static final int GREY = opencv_imgcodecs.IMREAD_GRAYSCALE;
    static final int COLOR = opencv_imgcodecs.IMREAD_COLOR;
    static final int UNCHANGED = opencv_imgcodecs.IMREAD_UNCHANGED;

    /** Decodes a file; flags GREY, COLOR (BGR) or UNCHANGED. */
    static Mat decode(Path file, int flags, String context) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + context + ": no such image file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + context + ": cannot read: " + e.getMessage(), e);
        }
        checkComplete(file, bytes, context);
        Mat m;
        try (BytePointer p = new BytePointer(bytes); Mat buf = new Mat(1, bytes.length, CV_8UC1, p)) {
            m = opencv_imgcodecs.imdecode(buf, flags);
        }
        if (m == null || m.empty()) {
            if (m != null) m.close();
            throw new IllegalArgumentException(file + context + ": cannot decode the image (" + bytes.length
                    + " bytes; corrupt, or not PNG/JPEG/TIFF/BMP)");
        }
        return m;
    }

    /** PNG must end with its IEND chunk and JPEG with EOI; decoders otherwise fill in grey silently. */
    private static void checkComplete(Path file, byte[] b, String context) {
        int n = b.length;
        if (n >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            if (lastIndexOf(b, new byte[] {'I', 'E', 'N', 'D'}, 64) < 0) {
                throw new IllegalArgumentException(file + context + ": truncated PNG (" + n + " bytes, no IEND chunk at the end)");
            }
        } else if (n >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8) {
            if (lastIndexOf(b, new byte[] {(byte) 0xff, (byte) 0xd9}, 1024) < 0) {
                throw new IllegalArgumentException(file + context + ": truncated JPEG (" + n + " bytes, no end-of-image marker)");
            }
        }
    }

    private static int lastIndexOf(byte[] b, byte[] pat, int window) {
        for (int i = b.length - pat.length; i >= Math.max(0, b.length - window); i--) {
            boolean ok = true;
            for (int k = 0; k < pat.length && ok; k++) ok = b[i + k] == pat[k];
            if (ok) return i;
        }
        return -1;
    }

    /**
     * Scales the shorter side to resize (area interpolation when shrinking, bilinear when
     * enlarging, nearest for masks), then crops the centre size x size.
     */
    static Mat resizeCrop(Mat m, int resize, int size, boolean nearest) {
        int h = m.rows(), w = m.cols();
        double scale = resize / (double) Math.min(h, w);
        int nh = Math.max(size, (int) Math.round(h * scale)), nw = Math.max(size, (int) Math.round(w * scale));
        Mat scaled;
        if (nh == h && nw == w) {
            scaled = m.clone();
        } else {
            int interp = nearest ? opencv_imgproc.INTER_NEAREST
                    : scale < 1 ? opencv_imgproc.INTER_AREA : opencv_imgproc.INTER_LINEAR;
            scaled = new Mat();
            try (Size s = new Size(nw, nh)) {
                opencv_imgproc.resize(m, scaled, s, 0, 0, interp);
            }
        }
        if (nh == size && nw == size) return scaled;
        try (Rect r = new Rect((nw - size) / 2, (nh - size) / 2, size, size); Mat roi = new Mat(scaled, r)) {
            return roi.clone();
        } finally {
            scaled.close();
        }
    }

    /** An 8-bit grey or BGR Mat as planar RGB floats in [0, 1]. */
    static float[] toChw(Mat m) {
        int h = m.rows(), w = m.cols(), c = m.channels(), plane = h * w;
        if (m.depth() != CV_8U || (c != 1 && c != 3)) {
            throw new IllegalStateException("expected an 8-bit grey or BGR image, got depth " + m.depth() + " x" + c);
        }
        byte[] raw = new byte[plane * c];
        try (Mat cont = m.isContinuous() ? null : m.clone()) {
            (cont == null ? m : cont).data().get(raw);
        }
        float[] out = new float[raw.length];
        if (c == 1) {
            for (int i = 0; i < plane; i++) out[i] = Pixels.U8[raw[i] & 0xff];
        } else {
            for (int p = 0, q = 0; p < plane; p++, q += 3) {
                out[p] = Pixels.U8[raw[q + 2] & 0xff];
                out[plane + p] = Pixels.U8[raw[q + 1] & 0xff];
                out[2 * plane + p] = Pixels.U8[raw[q] & 0xff];
            }
        }
        return out;
    }

    /**
     * A mask Mat (8- or 16-bit; 1, 3 or 4 channels) as one integer code per pixel: the value for
     * single-channel masks, (R << 16) | (G << 8) | B for colour palettes (alpha ignored).
     */
    static int[] maskCodes(Mat m, Path file) {
        int h = m.rows(), w = m.cols(), c = m.channels(), plane = h * w;
        if (c != 1 && c != 3 && c != 4) throw new IllegalArgumentException(file + ": mask has " + c + " channels");
        int[] codes = new int[plane];
        try (Mat cont = m.isContinuous() ? null : m.clone()) {
            Mat src = cont == null ? m : cont;
            if (m.depth() == CV_8U) {
                byte[] raw = new byte[plane * c];
                src.data().get(raw);
                for (int p = 0; p < plane; p++) {
                    codes[p] = c == 1 ? raw[p] & 0xff
                            : ((raw[p * c + 2] & 0xff) << 16) | ((raw[p * c + 1] & 0xff) << 8) | (raw[p * c] & 0xff);
                }
            } else if (m.depth() == CV_16U && c == 1) {
                short[] raw = new short[plane];
                try (ShortPointer sp = new ShortPointer(src.data())) {
                    sp.get(raw);
                }
                for (int p = 0; p < plane; p++) codes[p] = raw[p] & 0xffff;
            } else {
                throw new IllegalArgumentException(file + ": mask depth " + m.depth() + " with " + c
                        + " channels is not supported (use 8-bit, or 16-bit grey)");
            }
        }
        return codes;
    }

    /** Writes interleaved 8-bit pixels (grey, or RGB) to a PNG/JPEG/TIFF chosen by the file extension. */
    static void write(Path file, byte[] hwc, int h, int w, int c) {
        try (Mat m = new Mat(h, w, c == 1 ? CV_8UC1 : CV_8UC3)) {
            byte[] bgr = hwc;
            if (c == 3) {
                bgr = new byte[hwc.length];
                for (int p = 0; p < h * w; p++) {
                    bgr[3 * p] = hwc[3 * p + 2];
                    bgr[3 * p + 1] = hwc[3 * p + 1];
                    bgr[3 * p + 2] = hwc[3 * p];
                }
            }
            m.data().put(bgr);
            if (!opencv_imgcodecs.imwrite(file.toString(), m)) throw new IllegalArgumentException(file + ": imwrite failed");
        }
    }
}
