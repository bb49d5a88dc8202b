package org.advmia.benchmark.visual;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Point;
import org.bytedeco.opencv.opencv_core.Rect;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.bytedeco.opencv.opencv_core.Size;

/** A white BGR page that tiles are copied onto and text is drawn on (OpenCV's Hershey font). */
final class Canvas implements AutoCloseable {
    static final int FONT = opencv_imgproc.FONT_HERSHEY_SIMPLEX;
    static final int[] BLACK = {0, 0, 0}, RED = {200, 0, 0};

    private final Mat page;

    Canvas(int width, int height) {
        try (Scalar white = new Scalar(255, 255, 255, 0)) {
            page = new Mat(height, width, CV_8UC3, white);
        }
    }

    int width() {
        return page.cols();
    }

    int height() {
        return page.rows();
    }

    void place(Mat tile, int x, int y) {
        try (Rect r = new Rect(x, y, tile.cols(), tile.rows()); Mat roi = new Mat(page, r)) {
            tile.copyTo(roi);
        }
    }

    /** A one-pixel rectangle outline whose outer edge is the box (x, y, w, h). */
    void frame(int x, int y, int w, int h, int[] rgb) {
        try (Point a = new Point(x, y); Point b = new Point(x + w - 1, y + h - 1);
             Scalar c = new Scalar(rgb[2], rgb[1], rgb[0], 0)) {
            opencv_imgproc.rectangle(page, a, b, c, 1, opencv_imgproc.LINE_8, 0);
        }
    }

    /** Draws text with its baseline at y; rgb colour. Anti-aliased, thickness 1. */
    void text(String s, int x, int baseline, double scale, int[] rgb) {
        try (Point p = new Point(x, baseline); Scalar c = new Scalar(rgb[2], rgb[1], rgb[0], 0)) {
            opencv_imgproc.putText(page, s, p, FONT, scale, c, 1, opencv_imgproc.LINE_AA, false);
        }
    }

    /** Draws text centred horizontally in [x, x + width). */
    void centred(String s, int x, int width, int baseline, double scale, int[] rgb) {
        text(s, x + Math.max(0, (width - textWidth(s, scale)) / 2), baseline, scale, rgb);
    }

    void write(Path png) {
        RgbImage.write(png, page);
    }

    RgbImage toRgb() {
        return RgbImage.fromBgr(page);
    }

    @Override
    public void close() {
        page.close();
    }

    static int textWidth(String s, double scale) {
        int[] baseline = new int[1];
        try (Size size = opencv_imgproc.getTextSize(s, FONT, scale, 1, baseline)) {
            return size.width();
        }
    }

    /** Height of a line of text above the baseline (cap height of the font at this scale). */
    static int ascent(double scale) {
        int[] baseline = new int[1];
        try (Size size = opencv_imgproc.getTextSize("Ag", FONT, scale, 1, baseline)) {
            return size.height();
        }
    }

    /** Line spacing: ascent plus room for descenders and a gap. */
    static int lineHeight(double scale) {
        return (int) Math.ceil(ascent(scale) * 1.7);
    }

    /** s shortened with "..." until it fits into width at this scale. */
    static String truncate(String s, int width, double scale) {
        if (textWidth(s, scale) <= width) return s;
        for (int n = s.length() - 1; n > 0; n--) {
            String t = s.substring(0, n) + "...";
            if (textWidth(t, scale) <= width) return t;
        }
        return "";
    }

    /** Greedy word wrap into lines no wider than width (a single long word is truncated). */
    static List<String> wrap(String s, int width, double scale) {
        List<String> lines = new ArrayList<>();
        String line = "";
        for (String word : s.trim().split("\\s+")) {
            String candidate = line.isEmpty() ? word : line + " " + word;
            if (line.isEmpty() || textWidth(candidate, scale) <= width) {
                line = candidate;
            } else {
                lines.add(truncate(line, width, scale));
                line = word;
            }
        }
        if (!line.isEmpty()) lines.add(truncate(line, width, scale));
        return lines;
    }

    /**
     * The Hershey fonts draw only printable ASCII; anything else (accents, CJK class names)
     * would come out as '?' boxes, so it is replaced explicitly.
     */
    static String ascii(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c >= 32 && c < 127 ? c : '?');
        }
        return b.toString();
    }
}
