package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.backwardData;
import static org.advmia.backend.cpu.ConvRuns.backwardFilter;
import static org.advmia.backend.cpu.ConvRuns.forward;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.tensor.DType;
import org.junit.jupiter.api.Test;

/**
 * The depthwise convolution kernels (advmia_depthwise.h: groups == in == out channels), forward,
 * backward-data and backward-filter, in float32 and float64, against a plain float64 direct
 * convolution written here, over the geometries the kernels' phase-plane layout distinguishes:
 * stride 1, 2, 3 and unequal strides (1 to 9 phase planes), padding 0, 1, 2, unequal and larger
 * than the kernel's reach, dilation 2, kernels 1x1, 3x3, 5x5, 7x7 (more taps than backward-filter
 * keeps in registers at once) and 3x5, odd and non-square planes, planes narrower than the kernel
 * span, flat runs shorter than one vector and longer than one 8-vector block, batch 1, many
 * planes (several parallel blocks), fewer channels than threads (backward-filter then splits the
 * images), and MobileNetV2's layer classes; planes of at most 16 outputs, which take the
 * channel-lane kernels (L channels per vector), including channel counts that leave the last
 * block of lanes partly empty. One channel (groups 1) takes the im2col path and is checked
 * against the same reference.
 *
 * <p>Tolerance. Inputs are rounded to float32 first, so the reference's products are exact and
 * its sums are float64-accurate. The kernels sum the same products in another order (FMA, lanes,
 * per-image partial sums for the filter gradient), so the standard first-order bound applies:
 * |computed - exact| <= gamma_n (sum |terms| + |bias|), gamma_n = n u / (1 - n u), u the unit
 * roundoff of the dtype, n the number of terms plus 2 (bias and the final conversion): taps + 2
 * for forward and backward-data, images x output pixels + 2 for backward-filter. The float64
 * reference's own error has the same form in float64's u, so the bound is doubled to cover both.
 * A wrong tap, offset, phase or border gives errors of the order of the outputs, far above it.
 */
class DepthwiseConvolutionTest {
    private record Case(String name, int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                        int dw, boolean bias) {
        ConvGeometry geometry() {
            return new ConvGeometry(n, c, h, w, c, kh, kw, sh, sw, ph, pw, dh, dw, c);
        }
    }

    private static Case k3(String name, int n, int c, int h, int w, int s, int p, boolean bias) {
        return new Case(name, n, c, h, w, 3, 3, s, s, p, p, 1, 1, bias);
    }

    private static final Case[] CASES = {
        k3("MobileNetV2 class, 3x3 stride 1 pad 1", 2, 8, 16, 16, 1, 1, false),
        k3("MobileNetV2 class, 3x3 stride 2 pad 1", 2, 8, 16, 16, 2, 1, true),
        k3("MobileNetV2 4x4 plane", 3, 40, 4, 4, 1, 1, false),
        k3("many planes, 8x8", 3, 40, 8, 8, 1, 1, true),
        k3("long flat runs, 34x30", 2, 3, 34, 30, 1, 1, true),
        k3("stride 2, odd sizes", 2, 5, 15, 13, 2, 1, true),
        k3("stride 3, pad 0", 2, 4, 11, 10, 3, 0, false),
        k3("stride 3, pad 1, 7x7", 1, 3, 7, 7, 3, 1, true),
        k3("pad 0, odd", 2, 3, 9, 7, 1, 0, true),
        k3("pad 2", 2, 3, 7, 9, 1, 2, false),
        k3("width below the kernel span", 2, 3, 6, 2, 1, 1, true),
        k3("1x1 plane", 2, 3, 1, 1, 1, 1, true),
        k3("batch 1", 1, 6, 10, 11, 1, 1, true),
        k3("one channel (im2col path)", 2, 1, 9, 9, 1, 1, true),
        new Case("5x5 pad 0", 2, 3, 9, 8, 5, 5, 1, 1, 0, 0, 1, 1, true),
        new Case("5x5 stride 2 pad 2", 2, 3, 11, 12, 5, 5, 2, 2, 2, 2, 1, 1, false),
        new Case("5x5 pad 2, width 3", 2, 2, 5, 3, 5, 5, 1, 1, 2, 2, 1, 1, true),
        new Case("7x7 pad 3 (49 taps)", 2, 3, 9, 10, 7, 7, 1, 1, 3, 3, 1, 1, true),
        new Case("1x1", 2, 4, 5, 6, 1, 1, 1, 1, 0, 0, 1, 1, true),
        new Case("1x1 stride 2 pad 1 (padding beyond the kernel's reach)", 2, 3, 6, 7, 1, 1, 2, 2, 1, 1, 1, 1, false),
        new Case("1x1 stride 3 (phases no tap reads)", 2, 3, 8, 8, 1, 1, 3, 3, 0, 0, 1, 1, true),
        new Case("dilation 2 pad 2", 2, 3, 10, 10, 3, 3, 1, 1, 2, 2, 2, 2, true),
        new Case("dilation 2 stride 2 pad 1", 2, 3, 11, 9, 3, 3, 2, 2, 1, 1, 2, 2, false),
        new Case("unequal stride, padding, dilation, 3x5", 2, 3, 9, 13, 3, 5, 1, 2, 2, 0, 1, 2, true),
        new Case("unequal, 5x3 stride (2,1) pad (0,1)", 1, 2, 10, 6, 5, 3, 2, 1, 0, 1, 1, 1, true),
        new Case("fewer channels than threads", 5, 2, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, true),
        // Planes of <= 16 outputs take the channel-lane kernels (the 4x4 case above too).
        k3("MobileNetV2 8x8 -> 4x4, channels not a multiple of the lanes", 2, 20, 8, 8, 2, 1, true),
        new Case("tiny plane, dilation 2, unequal stride and padding", 2, 9, 7, 8, 3, 3, 2, 3, 2, 1, 2, 2, true),
        k3("tiny plane, fewer channels than threads", 5, 2, 4, 4, 1, 1, false),
    };

    @Test
    void forwardMatchesFloat64Reference() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(k.name().hashCode());
            double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
            double[] w = roundToFloat(random(r, (long) k.c() * k.kh() * k.kw()));
            double[] b = k.bias() ? roundToFloat(random(r, k.c())) : null;
            Reference ref = forwardReference(g, x, w, b);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double[] got = forward(g, dt, x, w, b, ConvAlgorithm.AUTO);
                assertWithin(k.name() + " forward " + dt, got, ref, (long) k.kh() * k.kw() + 2, unitRoundoff(dt));
            }
        }
    }

    @Test
    void backwardDataMatchesFloat64Reference() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(31 * k.name().hashCode());
            double[] gy = roundToFloat(random(r, (long) k.n() * k.c() * g.outH() * g.outW()));
            double[] w = roundToFloat(random(r, (long) k.c() * k.kh() * k.kw()));
            Reference ref = backwardDataReference(g, gy, w);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double[] got = backwardData(g, dt, gy, w, ConvAlgorithm.AUTO);
                assertWithin(k.name() + " backward-data " + dt, got, ref, (long) k.kh() * k.kw() + 2, unitRoundoff(dt));
            }
        }
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceAndIsDeterministic() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(17 * k.name().hashCode());
            double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
            double[] gy = roundToFloat(random(r, (long) k.n() * k.c() * g.outH() * g.outW()));
            Reference ref = backwardFilterReference(g, x, gy);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double[] got = backwardFilter(g, dt, x, gy, ConvAlgorithm.AUTO);
                assertWithin(k.name() + " backward-filter " + dt, got, ref, g.n() * g.outH() * g.outW() + 2,
                        unitRoundoff(dt));
                assertArrayEquals(got, backwardFilter(g, dt, x, gy, ConvAlgorithm.AUTO),
                        k.name() + " backward-filter " + dt + " run to run");
            }
        }
    }

    // ---- float64 references: the definition, one term at a time, with bounds checks -----------

    /** Float64 values and, per element, the sum of |terms| (|bias| included) the bound scales with. */
    private record Reference(double[] value, double[] absSum) {}

    /** Visits every (image, channel, output pixel, tap) whose input pixel is inside the plane. */
    private interface Term {
        void at(int xi, int yi, int wi);
    }

    private static void forEachTerm(ConvGeometry g, Term t) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), wd = (int) g.w(), oh = (int) g.outH(), ow = (int) g.outW();
        int kh = (int) g.kh(), kw = (int) g.kw();
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                long ih = p * g.strideH() - g.padH() + u * g.dilationH();
                                long iw = q * g.strideW() - g.padW() + v * g.dilationW();
                                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                t.at((int) (((long) (i * c + ch) * h + ih) * wd + iw), ((i * c + ch) * oh + p) * ow + q,
                                        (ch * kh + u) * kw + v);
                            }
    }

    private static Reference forwardReference(ConvGeometry g, double[] x, double[] w, double[] b) {
        int plane = (int) (g.outH() * g.outW());
        double[] y = new double[(int) (g.n() * g.c()) * plane], abs = new double[y.length];
        for (int o = 0; o < y.length; o++) {
            double bias = b == null ? 0 : b[(o / plane) % (int) g.c()];
            y[o] = bias;
            abs[o] = Math.abs(bias);
        }
        forEachTerm(g, (xi, yi, wi) -> {
            y[yi] += x[xi] * w[wi];
            abs[yi] += Math.abs(x[xi] * w[wi]);
        });
        return new Reference(y, abs);
    }

    private static Reference backwardDataReference(ConvGeometry g, double[] gy, double[] w) {
        double[] gx = new double[(int) (g.n() * g.c() * g.h() * g.w())], abs = new double[gx.length];
        forEachTerm(g, (xi, yi, wi) -> {
            gx[xi] += gy[yi] * w[wi];
            abs[xi] += Math.abs(gy[yi] * w[wi]);
        });
        return new Reference(gx, abs);
    }

    private static Reference backwardFilterReference(ConvGeometry g, double[] x, double[] gy) {
        double[] gw = new double[(int) (g.c() * g.kh() * g.kw())], abs = new double[gw.length];
        forEachTerm(g, (xi, yi, wi) -> {
            gw[wi] += gy[yi] * x[xi];
            abs[wi] += Math.abs(gy[yi] * x[xi]);
        });
        return new Reference(gw, abs);
    }

    /** Every element within 2 gamma_n (sum |terms|) of the reference (see the class comment). */
    private static void assertWithin(String what, double[] got, Reference ref, long terms, double u) {
        double gamma = terms * u / (1 - terms * u);
        for (int i = 0; i < got.length; i++) {
            double allowed = 2 * gamma * ref.absSum()[i];
            double err = Math.abs(got[i] - ref.value()[i]);
            if (!(err <= allowed)) {  // also catches NaN (an element the kernel did not write)
                final int at = i;
                assertTrue(false, () -> what + ": element " + at + " is " + got[at] + ", expected " + ref.value()[at]
                        + " (error " + Math.abs(got[at] - ref.value()[at]) + " > bound " + allowed + ")");
            }
        }
    }

    // ---- small helpers -------------------------------------------------------------------------

    private static double unitRoundoff(DType dt) {
        return dt == DType.FLOAT32 ? Math.ulp(1.0f) / 2 : Math.ulp(1.0) / 2;
    }

    private static double[] random(Random r, long count) {
        double[] v = new double[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }

    private static double[] roundToFloat(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }
}
