package org.advmia.benchmark.visual;

import static org.bytedeco.opencv.global.opencv_core.CV_32FC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * The square-ish pictures a grid is made of, as 8-bit BGR Mats (the caller closes them). Every
 * tile of one grid is the image size times the same integer factor: nearest-neighbour
 * enlargement by an integer factor copies each pixel into a block, so a 28x28 image stays
 * crisp and every block is exactly the input pixel.
 */
final class Tiles {
    /** Small images are enlarged until their longer side reaches at least this many pixels. */
    static final int MIN_TILE = 112;
    /** Heat-map weight in the Grad-CAM overlay; the image keeps 1 - this. */
    static final double CAM_ALPHA = 0.5;

    /**
     * Okabe and Ito's colour-blind-safe palette for mask classes 1..8 (class 0, background, is
     * black); further classes reuse it.
     */
    private static final int[][] PALETTE_RGB = {
        {230, 159, 0}, {86, 180, 233}, {0, 158, 115}, {240, 228, 66}, {0, 114, 178}, {213, 94, 0},
        {204, 121, 167}, {255, 255, 255},
    };

    private Tiles() {}

    /** The integer enlargement that brings the longer side to at least MIN_TILE pixels. */
    static int scaleFor(ImageShape s) {
        int longer = Math.max(s.height(), s.width());
        return Math.max(1, (MIN_TILE + longer - 1) / longer);
    }

    /** A value in [0, 1] (clipped) as 0..255, rounding halves up so 0.5 is 128. */
    static int u8(double v) {
        double c = v < 0 ? 0 : v > 1 ? 1 : v;
        return (int) Math.floor(c * 255 + 0.5);
    }

    /** Image `index` of a CHW batch, enlarged by scale. */
    static Mat image(float[] batch, int index, ImageShape s, int scale) {
        int plane = s.pixels(), base = index * s.values();
        byte[] bgr = new byte[3 * plane];
        for (int p = 0; p < plane; p++) {
            int r, g, b;
            if (s.channels() == 1) {
                r = g = b = u8(batch[base + p]);
            } else {
                r = u8(batch[base + p]);
                g = u8(batch[base + plane + p]);
                b = u8(batch[base + 2 * plane + p]);
            }
            bgr[3 * p] = (byte) b;
            bgr[3 * p + 1] = (byte) g;
            bgr[3 * p + 2] = (byte) r;
        }
        return enlarge(bgr, s.height(), s.width(), scale);
    }

    /** 0.5 + magnify * (adversarial - clean) per channel, clipped: mid-grey where nothing changed. */
    static Mat perturbation(float[] clean, float[] adversarial, int index, ImageShape s, double magnify, int scale) {
        int base = index * s.values();
        float[] shown = new float[s.values()];
        for (int i = 0; i < shown.length; i++) {
            shown[i] = (float) (0.5 + magnify * ((double) adversarial[base + i] - clean[base + i]));
        }
        return image(shown, 0, s, scale);
    }

    /**
     * The heat map in the JET colour map blended over the image: (1 - CAM_ALPHA) * image +
     * CAM_ALPHA * jet(cam). The map is enlarged bilinearly (it is a smooth field, unlike the
     * pixels under it), then coloured.
     */
    static Mat overlay(float[] batch, int index, float[] cam, ImageShape s, int scale) {
        try (Mat img = image(batch, index, s, scale); Mat heat = jet(cam, s, scale)) {
            int n = 3 * img.rows() * img.cols();
            byte[] a = new byte[n], h = new byte[n], out = new byte[n];
            img.data().get(a);
            heat.data().get(h);
            for (int i = 0; i < n; i++) {
                out[i] = (byte) Math.floor((1 - CAM_ALPHA) * (a[i] & 0xff) + CAM_ALPHA * (h[i] & 0xff) + 0.5);
            }
            Mat m = new Mat(img.rows(), img.cols(), CV_8UC3);
            m.data().put(out);
            return m;
        }
    }

    /** A heat map in [0, 1] (H * W values) enlarged to the tile and coloured with COLORMAP_JET. */
    static Mat jet(float[] cam, ImageShape s, int scale) {
        int h = s.height(), w = s.width();
        try (Mat f = new Mat(h, w, CV_32FC1); Mat big = new Mat(); Mat u8 = new Mat(h * scale, w * scale, CV_8UC1)) {
            try (FloatPointer fp = new FloatPointer(f.data())) {
                fp.put(cam, 0, h * w);
            }
            try (Size size = new Size(w * scale, h * scale)) {
                opencv_imgproc.resize(f, big, size, 0, 0, scale == 1 ? opencv_imgproc.INTER_NEAREST
                        : opencv_imgproc.INTER_LINEAR);
            }
            float[] v = new float[h * w * scale * scale];
            try (FloatPointer bp = new FloatPointer(big.data())) {
                bp.get(v);
            }
            byte[] b = new byte[v.length];
            for (int i = 0; i < v.length; i++) b[i] = (byte) u8(v[i]);
            u8.data().put(b);
            Mat coloured = new Mat();
            opencv_imgproc.applyColorMap(u8, coloured, opencv_imgproc.COLORMAP_JET);
            return coloured;
        }
    }

    /** A class mask (H * W class indices) in the palette, background black. */
    static Mat mask(int[] masks, int index, ImageShape s, int scale) {
        int plane = s.pixels(), base = index * plane;
        byte[] bgr = new byte[3 * plane];
        for (int p = 0; p < plane; p++) {
            int[] rgb = colour(masks[base + p]);
            bgr[3 * p] = (byte) rgb[2];
            bgr[3 * p + 1] = (byte) rgb[1];
            bgr[3 * p + 2] = (byte) rgb[0];
        }
        return enlarge(bgr, s.height(), s.width(), scale);
    }

    /** The RGB colour of a mask class: black for 0, then the palette, cycling. */
    static int[] colour(int cls) {
        return cls == 0 ? new int[] {0, 0, 0} : PALETTE_RGB[(cls - 1) % PALETTE_RGB.length];
    }

    private static Mat enlarge(byte[] bgr, int h, int w, int scale) {
        Mat m = new Mat(h, w, CV_8UC3);
        m.data().put(bgr);
        if (scale == 1) return m;
        try (m; Size size = new Size(w * scale, h * scale)) {
            Mat big = new Mat();
            opencv_imgproc.resize(m, big, size, 0, 0, opencv_imgproc.INTER_NEAREST);
            return big;
        }
    }
}
