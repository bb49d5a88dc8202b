package org.advmia.benchmark.visual;

import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * An 8-bit RGB picture, row-major with interleaved R, G, B bytes: the plain-Java form in which
 * pictures leave this package, so callers need not manage OpenCV's native Mats.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("picture size " + width + "x" + height);
        if (rgb == null || rgb.length != 3L * width * height) {
            throw new IllegalArgumentException("a " + width + "x" + height + " RGB picture needs " + 3L * width * height
                    + " bytes, got " + (rgb == null ? "null" : rgb.length));
        }
    }

    /** {R, G, B} of the pixel in column x, row y, each 0..255. */
    public int[] pixel(int x, int y) {
        if (x < 0 || x >= width || y < 0 || y >= height) {
            throw new IndexOutOfBoundsException("pixel (" + x + ", " + y + ") outside " + width + "x" + height);
        }
        int i = 3 * (y * width + x);
        return new int[] {rgb[i] & 0xff, rgb[i + 1] & 0xff, rgb[i + 2] & 0xff};
    }

    /** Writes a PNG (lossless, so every pixel reads back exactly); creates missing parent folders. */
    public void writePng(Path png) {
        try (Mat m = toBgr()) {
            write(png, m);
        }
    }

    /** Reads any image OpenCV decodes (grey is expanded to RGB). */
    public static RgbImage read(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such image file");
        try (Mat m = opencv_imgcodecs.imread(file.toString(), opencv_imgcodecs.IMREAD_COLOR)) {
            if (m == null || m.empty()) throw new IllegalArgumentException(file + ": OpenCV cannot decode it");
            return fromBgr(m);
        }
    }

    static RgbImage fromBgr(Mat m) {
        if (m.depth() != CV_8U || m.channels() != 3) {
            throw new IllegalStateException("expected an 8-bit BGR Mat, got depth " + m.depth() + " x" + m.channels());
        }
        int w = m.cols(), h = m.rows();
        byte[] bgr = new byte[3 * w * h];
        try (Mat cont = m.isContinuous() ? null : m.clone()) {
            (cont == null ? m : cont).data().get(bgr);
        }
        swapRedBlue(bgr);
        return new RgbImage(w, h, bgr);
    }

    Mat toBgr() {
        byte[] bgr = rgb.clone();
        swapRedBlue(bgr);
        Mat m = new Mat(height, width, CV_8UC3);
        m.data().put(bgr);
        return m;
    }

    private static void swapRedBlue(byte[] px) {
        for (int i = 0; i < px.length; i += 3) {
            byte t = px[i];
            px[i] = px[i + 2];
            px[i + 2] = t;
        }
    }

    /** OpenCV picks the format from the extension; anything but .png would be lossy or surprising. */
    static void checkPngPath(Path png) {
        if (png == null) throw new IllegalArgumentException("no output file given");
        String name = png.getFileName() == null ? "" : png.getFileName().toString();
        if (!name.toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw new IllegalArgumentException(png + ": pictures are written as PNG; the file name must end in .png");
        }
    }

    /** imwrite of a BGR Mat to a .png path, with the checks imwrite itself does not make. */
    static void write(Path png, Mat bgr) {
        checkPngPath(png);
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UncheckedIOException(png + ": cannot create its folder", e);
        }
        // OpenCV's default zlib level (1) favours speed; these pictures are written once and may be
        // inlined into an HTML report, so the smaller file is worth the few milliseconds.
        try (IntPointer params = new IntPointer(opencv_imgcodecs.IMWRITE_PNG_COMPRESSION, 9)) {
            if (!opencv_imgcodecs.imwrite(png.toString(), bgr, params)) {
                throw new IllegalArgumentException(png + ": OpenCV could not write the PNG");
            }
        }
    }
}
