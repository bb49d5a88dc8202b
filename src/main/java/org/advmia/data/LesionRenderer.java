package org.advmia.data;

import java.util.SplittableRandom;

/**
 * Draws one procedural skin-lesion image and its mask. Four diagnostic cues follow the ABCD
 * rule of dermoscopy (asymmetry, border irregularity, colour variegation, diameter); each is the
 * sample's latent severity plus independent noise, so the cues are informative but overlap
 * between classes. Everything else is nuisance: position, elongation, orientation and darkness
 * of the lesion, skin tone and texture, hairs, blur of the border, contrast, brightness and
 * sensor noise.
 */
final class LesionRenderer {
    private LesionRenderer() {}

    /** Per-cue noise around the severity. */
    static final double CUE_NOISE = 0.12;

    private static final int HARMONICS = 6, MAX_BLOTCHES = 6, MAX_HAIRS = 3;

    /** The drawn parameters of one lesion (all coordinates in [-1, 1] image units). */
    static final class Params {
        double cx, cy, radius, aspect, angle, edge;
        double irregularity, asymmetry, variegation, diameter;
        final double[] harmonicAmp = new double[HARMONICS], harmonicPhase = new double[HARMONICS];
        double asymPhase;
        final double[] skin = new double[3], pigment = new double[3];
        double darkness;
        final double[][] waves = new double[3][4];
        int blotches;
        final double[][] blotch = new double[MAX_BLOTCHES][6]; // x, y, sigma, dr, dg, db
        int hairs;
        final double[][] hair = new double[MAX_HAIRS][4]; // nx, ny, offset, curvature
        double contrast, brightness, noise;
        long noiseSeed;
    }

    static Params draw(double severity, SplittableRandom r) {
        Params p = new Params();
        p.irregularity = clamp01(severity + CUE_NOISE * r.nextGaussian());
        p.asymmetry = clamp01(severity + CUE_NOISE * r.nextGaussian());
        p.variegation = clamp01(severity + CUE_NOISE * r.nextGaussian());
        p.diameter = clamp01(severity + CUE_NOISE * r.nextGaussian());
        p.cx = uniform(r, -0.18, 0.18);
        p.cy = uniform(r, -0.18, 0.18);
        p.radius = 0.27 + 0.25 * p.diameter + uniform(r, -0.04, 0.04);
        p.aspect = uniform(r, 0.7, 1.0);
        p.angle = uniform(r, 0, Math.PI);
        p.edge = uniform(r, 0.03, 0.12);
        for (int k = 0; k < HARMONICS; k++) {
            p.harmonicAmp[k] = uniform(r, 0.4, 1.0) / Math.sqrt(k + 1);
            p.harmonicPhase[k] = uniform(r, 0, 2 * Math.PI);
        }
        p.asymPhase = uniform(r, 0, 2 * Math.PI);
        double tone = uniform(r, 0, 1);
        p.skin[0] = 0.96 - 0.25 * tone + uniform(r, -0.03, 0.03);
        p.skin[1] = 0.82 - 0.25 * tone + uniform(r, -0.03, 0.03);
        p.skin[2] = 0.74 - 0.22 * tone + uniform(r, -0.03, 0.03);
        p.darkness = uniform(r, 0.6, 0.95);
        p.pigment[0] = 0.55 + uniform(r, -0.08, 0.08);
        p.pigment[1] = 0.36 + uniform(r, -0.06, 0.06);
        p.pigment[2] = 0.24 + uniform(r, -0.05, 0.05);
        for (double[] w : p.waves) {
            double phi = uniform(r, 0, Math.PI), f = uniform(r, 4, 22);
            w[0] = f * Math.cos(phi);
            w[1] = f * Math.sin(phi);
            w[2] = uniform(r, 0, 2 * Math.PI);
            w[3] = uniform(r, 0.01, 0.035);
        }
        // Colour blotches: more, larger and more contrasting with variegation; their centre of
        // mass moves off the lesion centre with asymmetry.
        p.blotches = 1 + (int) Math.round((MAX_BLOTCHES - 2) * p.variegation * uniform(r, 0.6, 1.0));
        double ox = p.asymmetry * 0.45 * Math.cos(p.asymPhase), oy = p.asymmetry * 0.45 * Math.sin(p.asymPhase);
        double[][] palette = {{-0.30, -0.22, -0.15}, {-0.45, -0.35, -0.25}, {-0.25, -0.10, 0.10}, {0.15, -0.12, -0.10},
                {0.20, 0.15, 0.12}};
        for (int j = 0; j < p.blotches; j++) {
            double[] b = p.blotch[j];
            double a = uniform(r, 0, 2 * Math.PI), rr = 0.55 * Math.sqrt(r.nextDouble());
            b[0] = ox + rr * Math.cos(a);
            b[1] = oy + rr * Math.sin(a);
            b[2] = uniform(r, 0.12, 0.22 + 0.2 * p.variegation);
            double[] colour = palette[r.nextInt(palette.length)];
            double amp = 0.15 + 0.85 * p.variegation * uniform(r, 0.5, 1.0);
            for (int c = 0; c < 3; c++) b[3 + c] = amp * colour[c];
        }
        p.hairs = r.nextDouble() < 0.35 ? 1 + r.nextInt(MAX_HAIRS) : 0;
        for (int j = 0; j < p.hairs; j++) {
            double a = uniform(r, 0, Math.PI);
            p.hair[j][0] = Math.cos(a);
            p.hair[j][1] = Math.sin(a);
            p.hair[j][2] = uniform(r, -0.8, 0.8);
            p.hair[j][3] = uniform(r, -0.6, 0.6);
        }
        p.contrast = uniform(r, 0.8, 1.2);
        p.brightness = uniform(r, -0.08, 0.08);
        p.noise = uniform(r, 0.01, 0.05);
        p.noiseSeed = r.nextLong();
        return p;
    }

    /** The boundary radius (lesion frame, before aspect scaling) at polar angle theta. */
    static double boundary(Params p, double theta) {
        double wobble = 0;
        double norm = 0;
        for (int k = 0; k < HARMONICS; k++) {
            wobble += p.harmonicAmp[k] * Math.cos((k + 3) * theta + p.harmonicPhase[k]);
            norm += p.harmonicAmp[k];
        }
        double irregular = (0.03 + 0.55 * p.irregularity) * wobble / norm * 1.8;
        double lopsided = 0.40 * p.asymmetry * Math.cos(theta - p.asymPhase) + 0.12 * p.asymmetry * Math.cos(2 * theta);
        return p.radius * Math.max(0.25, 1 + irregular + lopsided);
    }

    /**
     * Renders into image (channels x size x size, values k/255) and mask (size x size, 0/1; may
     * be null).
     */
    static void render(Params p, int size, int channels, float[] image, float[] mask) {
        SplittableRandom noise = new SplittableRandom(p.noiseSeed);
        double cos = Math.cos(p.angle), sin = Math.sin(p.angle);
        double pixel = 2.0 / size;
        double edge = Math.max(p.edge * p.radius, 0.75 * pixel);
        double hairWidth = Math.max(0.012, 0.6 * pixel);
        double[] rgb = new double[3];
        int plane = size * size;
        for (int y = 0; y < size; y++) {
            double v = (y + 0.5) * pixel - 1;
            for (int x = 0; x < size; x++) {
                double u = (x + 0.5) * pixel - 1;
                double dx = u - p.cx, dy = v - p.cy;
                double ex = dx * cos + dy * sin, ey = (-dx * sin + dy * cos) / p.aspect;
                double rho = Math.sqrt(ex * ex + ey * ey), theta = Math.atan2(ey, ex);
                double rb = boundary(p, theta);
                double inside = smoothstep((rb - rho) / edge);
                double texture = 0;
                for (double[] w : p.waves) texture += w[3] * Math.sin(w[0] * u + w[1] * v + w[2]);
                double depth = Math.min(1, rho / rb);
                for (int c = 0; c < 3; c++) {
                    double lesion = p.skin[c] * (1 - p.darkness) + p.pigment[c] * p.darkness * (0.8 + 0.2 * depth) - p.skin[c] * 0.1;
                    double sx = ex / p.radius, sy = ey / p.radius;
                    for (int j = 0; j < p.blotches; j++) {
                        double[] b = p.blotch[j];
                        double d2 = (sx - b[0]) * (sx - b[0]) + (sy - b[1]) * (sy - b[1]);
                        lesion += b[3 + c] * Math.exp(-d2 / (2 * b[2] * b[2]));
                    }
                    rgb[c] = p.skin[c] + texture + inside * (lesion - p.skin[c]);
                }
                for (int j = 0; j < p.hairs; j++) {
                    double[] h = p.hair[j];
                    double along = u * -h[1] + v * h[0];
                    double dist = Math.abs(u * h[0] + v * h[1] - h[2] - h[3] * along * along);
                    if (dist < hairWidth) {
                        double a = 0.75 * (1 - dist / hairWidth);
                        for (int c = 0; c < 3; c++) rgb[c] = rgb[c] * (1 - a) + 0.12 * a;
                    }
                }
                int i = y * size + x;
                if (channels == 1) {
                    double g = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
                    image[i] = finish(p, g, noise);
                } else {
                    for (int c = 0; c < 3; c++) image[c * plane + i] = finish(p, rgb[c], noise);
                }
                if (mask != null) mask[i] = rho < rb ? 1 : 0;
            }
        }
    }

    private static float finish(Params p, double value, SplittableRandom noise) {
        double v = 0.5 + p.contrast * (value - 0.5) + p.brightness + p.noise * noise.nextGaussian();
        return Pixels.quantize((float) clamp01(v));
    }

    private static double smoothstep(double t) {
        double x = clamp01(0.5 + 0.5 * t);
        return x * x * (3 - 2 * x);
    }

    static double clamp01(double v) {
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }

    private static double uniform(SplittableRandom r, double lo, double hi) {
        return lo + (hi - lo) * r.nextDouble();
    }
}
