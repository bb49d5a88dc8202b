package org.advmia.benchmark.visual;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pictures are decoded back with OpenCV and checked pixel by pixel against the inputs: every
 * image pixel is a uniform block of the expected 8-bit value, in the right tile, in RGB order.
 */
class PicturesTest {
    @TempDir
    Path dir;

    static float[] random(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = r.nextFloat();
        return v;
    }

    static int u8(double v) {
        return (int) Math.round(Math.max(0, Math.min(1, v)) * 255);
    }

    /** Every pixel of the block of image pixel (x, y) in tile (column, row) has this RGB colour. */
    static void assertBlock(RgbImage pic, GridLayout l, int column, int row, int x, int y, int[] rgb, String what) {
        for (int dy = 0; dy < l.scale(); dy++) {
            for (int dx = 0; dx < l.scale(); dx++) {
                assertArrayEquals(rgb, pic.pixel(l.pictureX(column, x) + dx, l.pictureY(row, y) + dy),
                        what + " at image pixel (" + x + ", " + y + ")");
            }
        }
    }

    static int[] grey(int v) {
        return new int[] {v, v, v};
    }

    /** Whether some pixel in rows [y0, y1) is strongly red, or dark (text), respectively. */
    static boolean hasRed(RgbImage pic, int y0, int y1) {
        for (int y = y0; y < y1; y++) {
            for (int x = 0; x < pic.width(); x++) {
                int[] p = pic.pixel(x, y);
                if (p[0] > 150 && p[1] < 90 && p[2] < 90) return true;
            }
        }
        return false;
    }

    static boolean hasDark(RgbImage pic, int y0, int y1) {
        for (int y = y0; y < y1; y++) {
            for (int x = 0; x < pic.width(); x++) {
                int[] p = pic.pixel(x, y);
                if (p[0] < 100 && p[1] < 100 && p[2] < 100) return true;
            }
        }
        return false;
    }

    @Test
    void greyGridShowsCleanPerturbationAndAdversarialPixelsExactly() {
        ImageShape shape = new ImageShape(1, 28, 28);
        int n = 3, plane = 28 * 28;
        float[] clean = random(n * plane, 1), adv = clean.clone();
        // Image 0: pixel (3, 5) up by 0.01 (x10 -> 0.6), pixel (7, 2) down by 0.2 (x10 -> clipped to 0).
        adv[5 * 28 + 3] = clean[5 * 28 + 3] + 0.01f;
        adv[2 * 28 + 7] = clean[2 * 28 + 7] - 0.2f;
        Path png = dir.resolve("grid.png");
        GridLayout l = Pictures.adversarialGrid(png, clean, adv, shape, 2, new String[] {"benign", "malignant"},
                new int[] {0, 1, 1}, new int[] {0, 1, 0}, new int[] {1, 1, 0}, null, null, 10);
        RgbImage pic = RgbImage.read(png);
        assertEquals(l.width(), pic.width());
        assertEquals(l.height(), pic.height());
        assertEquals(4, l.scale(), "28-pixel images are enlarged to 112");
        assertEquals(112, l.tileWidth());
        assertEquals(3, l.columnX().length, "no Grad-CAM columns without heat maps");
        assertEquals(2, l.rowY().length);

        for (int row = 0; row < 2; row++) {
            for (int[] xy : new int[][] {{0, 0}, {27, 27}, {3, 5}, {7, 2}, {13, 20}}) {
                int p = row * plane + xy[1] * 28 + xy[0];
                assertBlock(pic, l, 0, row, xy[0], xy[1], grey(u8(clean[p])), "clean tile row " + row);
                assertBlock(pic, l, 2, row, xy[0], xy[1], grey(u8(adv[p])), "adversarial tile row " + row);
            }
            assertBlock(pic, l, 1, row, 0, 0, grey(128), "unchanged pixel in the perturbation tile");
            assertBlock(pic, l, 1, row, 27, 27, grey(128), "unchanged pixel in the perturbation tile");
        }
        int changed = u8(0.5 + 10 * ((double) adv[5 * 28 + 3] - clean[5 * 28 + 3]));
        assertTrue(Math.abs(changed - 153) <= 1, "0.5 + 10 * 0.01 is about 0.6: " + changed);
        assertBlock(pic, l, 1, 0, 3, 5, grey(changed), "magnified positive change");
        assertBlock(pic, l, 1, 0, 7, 2, grey(0), "magnified negative change, clipped");

        // Header titles above the first row; row 0's prediction flipped (red caption), row 1's did not.
        assertTrue(hasDark(pic, 0, l.rowY()[0]), "column titles");
        int cap0 = l.rowY()[0] + l.tileHeight() + 1, cap1 = l.rowY()[1] + l.tileHeight() + 1;
        assertTrue(hasRed(pic, cap0, l.rowY()[1]), "row 0 caption is red (benign -> malignant)");
        assertFalse(hasRed(pic, cap1, pic.height()), "row 1 caption is not red");
        assertTrue(hasDark(pic, cap1, pic.height()), "row 1 caption is there, in black");
    }

    @Test
    void rgbGridKeepsChannelOrderAndNonSquareShape() {
        ImageShape shape = new ImageShape(3, 20, 24);
        int plane = 20 * 24;
        float[] clean = random(2 * 3 * plane, 2), adv = random(2 * 3 * plane, 3);
        // Image 1, pixel (x 23, y 19): pure R = 1, G = 0, B = 0.2.
        int base = 3 * plane, p = 19 * 24 + 23;
        clean[base + p] = 1;
        clean[base + plane + p] = 0;
        clean[base + 2 * plane + p] = 0.2f;
        float[][] cams = {new float[plane], new float[plane]};
        Path png = dir.resolve("rgb.png");
        GridLayout l = Pictures.adversarialGrid(png, clean, adv, shape, 2, null, new int[] {3, 4},
                new int[] {3, 4}, new int[] {3, 4}, cams, cams, 4);
        RgbImage pic = RgbImage.read(png);
        assertEquals(5, l.scale(), "ceil(112 / 24)");
        assertEquals(120, l.tileWidth());
        assertEquals(100, l.tileHeight());
        assertEquals(5, l.columnX().length, "with heat maps: clean, perturbation, adversarial, two Grad-CAMs");
        assertBlock(pic, l, 0, 1, 23, 19, new int[] {255, 0, 51}, "RGB pixel in RGB order");
        int q = 7 * 24 + 11;
        assertBlock(pic, l, 2, 0, 11, 7,
                new int[] {u8(adv[q]), u8(adv[plane + q]), u8(adv[2 * plane + q])}, "adversarial RGB pixel");
        assertBlock(pic, l, 1, 1, 23, 19, new int[] {u8(0.5 + 4 * ((double) adv[base + p] - 1)),
            u8(0.5 + 4 * (double) adv[base + plane + p]), u8(0.5 + 4 * ((double) adv[base + 2 * plane + p] - 0.2f))},
                "perturbation per channel");
    }

    /** COLORMAP_JET of one 8-bit value, as RGB, straight from OpenCV. */
    static int[] jet(int value) {
        try (Mat one = new Mat(1, 1, CV_8UC1); Mat out = new Mat()) {
            one.data().put((byte) value);
            opencv_imgproc.applyColorMap(one, out, opencv_imgproc.COLORMAP_JET);
            byte[] bgr = new byte[3];
            out.data().get(bgr);
            return new int[] {bgr[2] & 0xff, bgr[1] & 0xff, bgr[0] & 0xff};
        }
    }

    @Test
    void overlayBlendsJetHalfAndHalfOverTheImage() {
        ImageShape shape = new ImageShape(1, 28, 28);
        float[] image = new float[28 * 28];
        java.util.Arrays.fill(image, 0.4f);
        float[] cam = new float[28 * 28];
        for (int y = 0; y < 28; y++) for (int x = 0; x < 14; x++) cam[y * 28 + x] = 1;
        RgbImage o = Pictures.gradCamOverlay(image, cam, shape);
        assertEquals(112, o.width());
        assertEquals(112, o.height());
        int g = u8(0.4);
        int[] hot = jet(255), cold = jet(0);
        assertTrue(hot[0] > 100 && hot[2] < 50 && cold[2] > 100 && cold[0] < 50, "JET runs blue to red");
        for (int[] xy : new int[][] {{0, 0}, {20, 100}}) {
            int[] px = o.pixel(xy[0], xy[1]);
            for (int c = 0; c < 3; c++) assertEquals(Math.round((g + hot[c]) / 2.0), px[c], 1, "hot side channel " + c);
        }
        for (int[] xy : new int[][] {{111, 0}, {90, 60}}) {
            int[] px = o.pixel(xy[0], xy[1]);
            for (int c = 0; c < 3; c++) assertEquals(Math.round((g + cold[c]) / 2.0), px[c], 1, "cold side channel " + c);
        }
    }

    @Test
    void segmentationMasksUseThePaletteAndFitTheLayout() {
        ImageShape shape = new ImageShape(1, 16, 16);
        int n = 2, plane = 256;
        float[] images = random(n * plane, 4), adv = random(n * plane, 5);
        int[] truth = new int[n * plane], clean = new int[n * plane], advMask = new int[n * plane];
        for (int p = 0; p < n * plane; p++) {
            truth[p] = (p % 16) < 8 ? 0 : (p % 16) < 12 ? 1 : 2;
            clean[p] = truth[p];
            advMask[p] = p % 3 == 0 ? 0 : truth[p];
        }
        Path png = dir.resolve("seg.png");
        GridLayout l = Pictures.segmentationMasks(png, images, truth, clean, advMask, adv, shape, 2, 3);
        RgbImage pic = RgbImage.read(png);
        assertEquals(l.width(), pic.width());
        assertEquals(7, l.scale(), "ceil(112 / 16)");
        assertEquals(5, l.columnX().length);
        assertBlock(pic, l, 0, 1, 4, 9, grey(u8(images[plane + 9 * 16 + 4])), "image tile");
        assertBlock(pic, l, 1, 0, 0, 0, new int[] {0, 0, 0}, "background is black");
        assertBlock(pic, l, 1, 0, 9, 3, Tiles.colour(1), "class 1");
        assertBlock(pic, l, 2, 1, 13, 3, Tiles.colour(2), "class 2 in the clean prediction");
        assertBlock(pic, l, 3, 0, 9, 0, new int[] {0, 0, 0}, "adversarial prediction: pixel 9 % 3 == 0 is background");
        assertBlock(pic, l, 3, 0, 10, 0, Tiles.colour(1), "adversarial prediction keeps pixel 10");
        assertBlock(pic, l, 4, 0, 5, 5, grey(u8(adv[5 * 16 + 5])), "adversarial image tile");
        assertFalse(java.util.Arrays.equals(Tiles.colour(1), Tiles.colour(2)));
        assertTrue(hasDark(pic, l.rowY()[1] + l.tileHeight() + 1, pic.height()), "Dice caption under the last row");

        // Without the adversarial image the last column goes.
        GridLayout four = Pictures.segmentationMasks(dir.resolve("seg4.png"), images, truth, clean, advMask, null,
                shape, 1, 3);
        assertEquals(4, four.columnX().length);
        assertEquals(1, four.rowY().length);
    }

    @Test
    void diceIsTheBenchmarksMeanOverPresentClasses() {
        int[] truth = {0, 0, 1, 1}, perfect = {0, 0, 1, 1}, half = {0, 1, 1, 0};
        assertEquals(1.0, Pictures.dice(perfect, truth, 2), 1e-12);
        // Class 0: tp 1, fn 1, fp 1 -> 0.5; class 1 the same; mean 0.5.
        assertEquals(0.5, Pictures.dice(half, truth, 2), 1e-12);
        // Class 2 absent from both is not averaged in.
        assertEquals(0.5, Pictures.dice(half, truth, 3), 1e-12);
    }

    static void rejects(String expected, Executable call) {
        String msg = assertThrows(IllegalArgumentException.class, call).getMessage();
        assertTrue(msg.contains(expected), "message '" + msg + "' should mention '" + expected + "'");
    }

    @Test
    void rejectsInputsThatDoNotMatchTheShape() {
        ImageShape shape = new ImageShape(1, 28, 28);
        float[] two = random(2 * 784, 6);
        int[] ab = {0, 1};
        Path png = dir.resolve("bad.png");
        rejects("grey (1 channel) or RGB (3 channels)", () -> new ImageShape(2, 28, 28));
        rejects("not a whole number of 1x28x28 images",
                () -> Pictures.adversarialGrid(png, random(700, 1), random(700, 1), shape, 1, null, ab, ab, ab, null,
                        null, 10));
        rejects("1568 clean values but 784 adversarial",
                () -> Pictures.adversarialGrid(png, two, random(784, 1), shape, 1, null, ab, ab, ab, null, null, 10));
        rejects("rows must be in [1, 2]",
                () -> Pictures.adversarialGrid(png, two, two, shape, 3, null, ab, ab, ab, null, null, 10));
        rejects("labels: expected 2 entries, got 1",
                () -> Pictures.adversarialGrid(png, two, two, shape, 2, null, new int[] {0}, ab, ab, null, null, 10));
        rejects("both heat-map arrays",
                () -> Pictures.adversarialGrid(png, two, two, shape, 2, null, ab, ab, ab, new float[2][784], null, 10));
        rejects("clean heat map has 100 values",
                () -> Pictures.adversarialGrid(png, two, two, shape, 2, null, ab, ab, ab,
                        new float[][] {new float[100], new float[784]}, new float[2][784], 10));
        rejects("class 1 but only 1 class names",
                () -> Pictures.adversarialGrid(png, two, two, shape, 2, new String[] {"a"}, ab, ab, ab, null, null, 10));
        rejects("magnify must be positive",
                () -> Pictures.adversarialGrid(png, two, two, shape, 2, null, ab, ab, ab, null, null, 0));
        float[] nan = two.clone();
        nan[800] = Float.NaN;
        rejects("value 16 is NaN",
                () -> Pictures.adversarialGrid(png, two, nan, shape, 2, null, ab, ab, ab, null, null, 10));
        rejects("must end in .png", () -> Pictures.adversarialGrid(dir.resolve("grid.jpg"), two, two, shape, 2, null,
                ab, ab, ab, null, null, 10));
        rejects("row 1 has heat maps but row 0 has none", () -> Pictures.adversarialGrid(png, shape, List.of(
                new Pictures.AdversarialExample(random(784, 1), random(784, 2), 0, 0, 0),
                new Pictures.AdversarialExample(random(784, 1), random(784, 2), 0, 0, 0, new float[784],
                        new float[784])), null, 10));
        int[] masks = new int[2 * 784];
        masks[3] = 5;
        rejects("pixel 3 has class 5, outside [0, 2)", () -> Pictures.segmentationMasks(png, two, masks,
                new int[2 * 784], new int[2 * 784], null, shape, 2, 2));
        rejects("clean predictions: expected 1568 entries, got 784", () -> Pictures.segmentationMasks(png, two,
                new int[2 * 784], new int[784], new int[2 * 784], null, shape, 2, 2));
        assertFalse(png.toFile().exists(), "nothing is written for rejected input");
    }
}
