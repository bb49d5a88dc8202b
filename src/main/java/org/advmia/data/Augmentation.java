package org.advmia.data;

import java.util.SplittableRandom;

/**
 * Random geometric augmentation, applied by {@link BatchLoader} per sample from a seeded
 * stream: rotation by a uniform angle in [-maxDegrees, maxDegrees] about the centre (bilinear,
 * zero fill outside the image), then horizontal and vertical flips with the given
 * probabilities. Segmentation masks get the same transform with nearest-neighbour sampling
 * (background fill). Rotated images are interpolated, so they are no longer exactly 8-bit.
 */
public record Augmentation(double maxDegrees, double hflip, double vflip) {
    public static final Augmentation NONE = new Augmentation(0, 0, 0);

    public Augmentation {
        if (!(maxDegrees >= 0 && maxDegrees <= 180)) throw new IllegalArgumentException("rotation must be in [0, 180] degrees");
        if (!(hflip >= 0 && hflip <= 1 && vflip >= 0 && vflip <= 1)) {
            throw new IllegalArgumentException("flip probabilities must be in [0, 1]");
        }
    }

    /** The survey's training augmentation: rotation up to 20 degrees, horizontal and vertical flips. */
    public static Augmentation standard() {
        return new Augmentation(20, 0.5, 0.5);
    }

    public boolean isIdentity() {
        return maxDegrees == 0 && hflip == 0 && vflip == 0;
    }

    /**
     * Transforms one image (c x h x w) into dst at dstOffset, and, when mask is non-null, its
     * mask (h x w) into maskDst at maskOffset. Draws exactly three numbers from rng.
     */
    void apply(float[] image, int c, int h, int w, float[] dst, int dstOffset, float[] mask, float[] maskDst,
               int maskOffset, SplittableRandom rng) {
        double angle = Math.toRadians(maxDegrees * (2 * rng.nextDouble() - 1));
        boolean fx = rng.nextDouble() < hflip, fy = rng.nextDouble() < vflip;
        int plane = h * w;
        if (maxDegrees == 0) {
            for (int y = 0; y < h; y++) {
                int sy = fy ? h - 1 - y : y;
                for (int x = 0; x < w; x++) {
                    int s = sy * w + (fx ? w - 1 - x : x);
                    for (int ch = 0; ch < c; ch++) dst[dstOffset + ch * plane + y * w + x] = image[ch * plane + s];
                    if (mask != null) maskDst[maskOffset + y * w + x] = mask[s];
                }
            }
            return;
        }
        double cos = Math.cos(angle), sin = Math.sin(angle), cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        // Output (x, y) samples the input at (sx, sy), which is affine in x along a row.
        double stepX = fx ? -cos : cos, stepY = fx ? sin : -sin;
        for (int y = 0; y < h; y++) {
            double dy = (fy ? h - 1 - y : y) - cy, dx0 = (fx ? w - 1 : 0) - cx;
            double sx0 = cos * dx0 + sin * dy + cx, sy0 = -sin * dx0 + cos * dy + cy;
            int row = dstOffset + y * w;
            for (int x = 0; x < w; x++) {
                double sx = sx0 + x * stepX, sy = sy0 + x * stepY;
                int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
                float ax = (float) (sx - x0), ay = (float) (sy - y0);
                if (x0 >= 0 && y0 >= 0 && x0 < w - 1 && y0 < h - 1) {
                    float w00 = (1 - ax) * (1 - ay), w10 = ax * (1 - ay), w01 = (1 - ax) * ay, w11 = ax * ay;
                    int s00 = y0 * w + x0;
                    for (int ch = 0, base = 0; ch < c; ch++, base += plane) {
                        int i = base + s00;
                        dst[row + base + x] = w00 * image[i] + w10 * image[i + 1] + w01 * image[i + w] + w11 * image[i + w + 1];
                    }
                } else {
                    for (int ch = 0, base = 0; ch < c; ch++, base += plane) {
                        float v00 = at(image, base, x0, y0, w, h), v10 = at(image, base, x0 + 1, y0, w, h);
                        float v01 = at(image, base, x0, y0 + 1, w, h), v11 = at(image, base, x0 + 1, y0 + 1, w, h);
                        float top = v00 + ax * (v10 - v00), bottom = v01 + ax * (v11 - v01);
                        dst[row + base + x] = top + ay * (bottom - top);
                    }
                }
                if (mask != null) {
                    int nx = (int) Math.round(sx), ny = (int) Math.round(sy);
                    maskDst[maskOffset + y * w + x] = nx >= 0 && ny >= 0 && nx < w && ny < h ? mask[ny * w + nx] : 0;
                }
            }
        }
    }

    private static float at(float[] a, int base, int x, int y, int w, int h) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0f : a[base + y * w + x];
    }
}
