package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.backwardData;
import static org.advmia.backend.cpu.ConvRuns.backwardFilter;
import static org.advmia.backend.cpu.ConvRuns.forward;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The Winograd F(2x2,3x3) convolution path (advmia_winograd.h) against a float64 direct
 * convolution and against the im2col path, forward, backward-data and backward-filter (whose
 * bound has the same form with the sum running over tiles instead of channels), on every shape
 * class the
 * kernel distinguishes: odd output sizes (partial tiles on the right and bottom edge), padding
 * 0, 1, 2 and asymmetric, batch 1, channel counts that are not a multiple of the 8 vector lanes,
 * rows of fewer, exactly and more than 8 tiles, a single output pixel, and layers large enough
 * to be cut into several chunks (SmallCNN's conv2, a ResNet-18 stage). The checks themselves
 * (checkForward, checkBackwardData, checkBackwardFilter) are shared with WinogradF4ConvolutionTest,
 * which runs them for F(4x4) on these cases and more.
 *
 * <p>Tolerance. Winograd rounds in the transforms as well as in the channel sums, and its
 * transforms mix inputs with coefficients of both signs, so its error is not bounded by the
 * direct convolution's sum(|w| |x|). The standard first-order bound (Lavin and Gray 2016;
 * Barabasz et al. 2020) for one output is instead
 *   |y_computed - y| <= gamma_n * (|A^T| (sum_c (|G| |g_c| |G^T|) .* (|B^T| |d_c| |B|)) |A|) + |bias| u,
 * with gamma_n = n u / (1 - n u), u the unit roundoff, and n = C + 12: C terms in each GEMM
 * sum, 2 rounding stages in the input transform (|B| entries are 0 or 1), 4 in the filter
 * transform (the 0.5 scalings are exact), 4 in the output transform and 1 for the bias. The test
 * evaluates that bound per output in float64 and requires every output inside it; the bound is
 * a worst case (typical errors are ~sqrt(n) u smaller), but any wrong tile, edge or sign gives
 * errors of the order of the outputs themselves, orders of magnitude above it. Against im2col the
 * allowance is the sum of both paths' bounds (im2col's: gamma_{9C+1} sum |w| |x| + bias).
 * Backward-filter: gamma_{P+12} (|G^T| (sum_t (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|), P the
 * number of tiles summed over (images x tiles per image); the 12 cover the input transform (2),
 * the gradient-tile transform (2), G^T . G (4) and slack for the reduction of per-thread partial
 * sums (whose order the gamma_P term already allows for). WinogradBounds.F2 evaluates both
 * bounds; WinogradBounds holds the one implementation shared with F(4x4).
 */
class WinogradConvolutionTest {
    private final CpuBackend cpu = CpuBackend.get();

    /** One shape class: input [n, c, h, w], cout filters, padding (ph, pw), with or without bias. */
    record Case(String name, int n, int c, int h, int w, int cout, int ph, int pw, boolean bias) {
        ConvGeometry geometry() {
            return new ConvGeometry(n, c, h, w, cout, 3, 3, 1, 1, ph, pw, 1, 1, 1);
        }
    }

    static final Case[] CASES = {
        new Case("odd output, pad 0, bias", 2, 16, 13, 13, 24, 0, 0, true),
        new Case("batch 1, pad 1, even", 1, 8, 12, 12, 8, 1, 1, false),
        new Case("channels not a multiple of 8, 10 tiles per row", 3, 5, 9, 20, 3, 1, 1, true),
        new Case("asymmetric padding", 2, 12, 7, 6, 10, 1, 0, false),
        new Case("pad 2", 2, 4, 5, 5, 6, 2, 2, true),
        new Case("single output pixel", 3, 9, 3, 3, 7, 0, 0, true),
        new Case("one channel in, wide rows", 2, 1, 6, 40, 4, 1, 1, false),
        new Case("ResNet stage class, several chunks", 4, 64, 8, 8, 64, 1, 1, false),
        new Case("SmallCNN conv2 class", 5, 32, 26, 26, 32, 0, 0, true),
    };

    /**
     * Float32-representable Gaussian x, w, b and gy for one case, drawn from one seed in that order
     * (the inputs of the AUTO-versus-forced tests here and in WinogradF4ConvolutionTest).
     */
    record Inputs(double[] x, double[] w, double[] b, double[] gy) {
        static Inputs of(Case k, long seed) {
            Random r = new Random(seed);
            ConvGeometry g = k.geometry();
            double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
            double[] w = roundToFloat(random(r, (long) k.cout() * k.c() * 9));
            double[] b = roundToFloat(random(r, k.cout()));
            double[] gy = roundToFloat(random(r, (long) k.n() * k.cout() * g.outH() * g.outW()));
            return new Inputs(x, w, b, gy);
        }
    }

    @Test
    void forwardMatchesFloat64ReferenceAndIm2col() {
        checkForward(WinogradBounds.F2, CASES, "");
    }

    @Test
    void backwardDataMatchesFloat64ReferenceAndIm2col() {
        checkBackwardData(WinogradBounds.F2, CASES, "");
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceAndIm2col() {
        checkBackwardFilter(WinogradBounds.F2, CASES, "", false);
    }

    @Test
    void autoPicksWinogradForWideLayersAndIsDeterministic() {
        // 32 -> 32 channels, 3x3, stride 1: AUTO takes the Winograd path, so its result must be
        // bit-identical to the forced Winograd result, run after run. At this 9x9 output that is
        // F(2x2) for forward and backward-data (4x4 tiles would compute 12x12) and F(4x4) for
        // backward-filter (advmia_conv.h, wino4_wins_*).
        Case k = new Case("auto", 3, 32, 9, 9, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Inputs in = Inputs.of(k, 5);
        double[] x = in.x(), w = in.w(), b = in.b(), gy = in.gy();
        double[] forced = forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD);
        assertArrayEquals(forced, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
        assertArrayEquals(forced, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD));
        double[] gxForced = backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.WINOGRAD);
        assertArrayEquals(gxForced, backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.AUTO));
        double[] gwForced = backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4);
        assertArrayEquals(gwForced, backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.AUTO));
        assertArrayEquals(gwForced, backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4));
        double[] gwF2 = backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD);
        assertArrayEquals(gwF2, backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD));
    }

    @Test
    void winogradIsRefusedWhereItDoesNotApply() {
        try (MemoryScope s = MemoryScope.open()) {
            ConvGeometry[] unfit = {
                new ConvGeometry(1, 4, 9, 9, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1),  // stride 2
                new ConvGeometry(1, 4, 9, 9, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1),  // 5x5
                new ConvGeometry(1, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 1),  // dilation 2
                new ConvGeometry(1, 4, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2),  // groups 2
            };
            for (ConvGeometry g : unfit) {
                Tensor x = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
                Tensor w = cpu.empty(DType.FLOAT32, Shape.of(g.weightShape()));
                Tensor y = cpu.empty(DType.FLOAT32, Shape.of(g.outputShape()));
                cpu.fill(x, 1);
                cpu.fill(w, 1);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> cpu.conv2d(g, x, w, null, y, ConvAlgorithm.WINOGRAD));
                assertTrue(e.getMessage().contains("Winograd needs a 3x3 kernel, stride 1"), e.getMessage());
                // AUTO falls back to im2col for the same geometry.
                cpu.conv2d(g, x, w, null, y, ConvAlgorithm.AUTO);
            }
            // Backward-data pads the output gradient by 2 - pad: pad 3 cannot be done.
            ConvGeometry pad3 = new ConvGeometry(1, 4, 4, 4, 4, 3, 3, 1, 1, 3, 3, 1, 1, 1);
            Tensor gy = cpu.empty(DType.FLOAT32, Shape.of(pad3.outputShape()));
            Tensor w = cpu.empty(DType.FLOAT32, Shape.of(pad3.weightShape()));
            Tensor gx = cpu.empty(DType.FLOAT32, Shape.of(pad3.inputShape()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.conv2dBackwardData(pad3, gy, w, gx, ConvAlgorithm.WINOGRAD));
            assertTrue(e.getMessage().contains("padding <= 2"), e.getMessage());
            // The raw binding checks the algorithm code and the buffers before touching memory.
            ConvGeometry g = new ConvGeometry(1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1);
            Tensor x = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
            Tensor y = cpu.empty(DType.FLOAT32, Shape.of(g.outputShape()));
            int rc = CpuNative.adv_conv2d_fwd(0, 7, g.toArray(), x.address(), x.numel(), w.address(), w.numel(), 0, 0,
                    y.address(), y.numel());
            assertTrue(rc != 0 && CpuNative.adv_last_error().contains("algorithm code 7"), CpuNative.adv_last_error());
            rc = CpuNative.adv_conv2d_fwd(0, 2, g.toArray(), x.address(), x.numel() - 1, w.address(), w.numel(), 0, 0,
                    y.address(), y.numel());
            assertTrue(rc != 0 && CpuNative.adv_last_error().contains("input holds"), CpuNative.adv_last_error());
        }
    }

    // ---- the checks shared with WinogradF4ConvolutionTest --------------------------------------

    /**
     * Forward, for every case in float32 (inputs rounded to float first, so the reference's
     * products are exact) and float64: v's forced algorithm within v's bound of the float64
     * reference, and within both paths' bounds of im2col. label prefixes the direction in messages.
     */
    static void checkForward(WinogradBounds v, Case[] cases, String label) {
        for (Case k : cases) {
            Random r = new Random(k.name().hashCode());
            ConvGeometry g = k.geometry();
            double[] x = random(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] w = random(r, (long) k.cout() * k.c() * 9);
            double[] b = k.bias() ? random(r, k.cout()) : null;
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    w = roundToFloat(w);
                    if (b != null) b = roundToFloat(b);
                }
                double[] wino = forward(g, dt, x, w, b, v.algorithm());
                double[] im2col = forward(g, dt, x, w, b, ConvAlgorithm.IM2COL);
                Reference ref = forwardReference(g, x, w, b);
                double[] bound = v.forward(g, x, w, b, unitRoundoff(dt));
                String what = k.name() + " " + label + "forward " + dt;
                assertWithin(what + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.c(), b, g.outH() * g.outW(), g.cout(), unitRoundoff(dt));
                assertWithin(what + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    /** Backward-data, as checkForward (the bound is that of Winograd's flipped-filter convolution). */
    static void checkBackwardData(WinogradBounds v, Case[] cases, String label) {
        for (Case k : cases) {
            ConvGeometry g = k.geometry();
            Random r = new Random(31 * k.name().hashCode());
            double[] gy = random(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            double[] w = random(r, (long) k.cout() * k.c() * 9);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    gy = roundToFloat(gy);
                    w = roundToFloat(w);
                }
                double[] wino = backwardData(g, dt, gy, w, v.algorithm());
                double[] im2col = backwardData(g, dt, gy, w, ConvAlgorithm.IM2COL);
                Reference ref = backwardDataReference(g, gy, w);
                double[] bound = v.backwardData(g, gy, w, unitRoundoff(dt));
                String what = k.name() + " " + label + "backward-data " + dt;
                assertWithin(what + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.cout(), null, g.h() * g.w(), g.c(), unitRoundoff(dt));
                assertWithin(what + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    /**
     * Backward-filter, as checkForward; with runToRun also bit-identical on a second run (the
     * F(4x4) test asks that here; F(2x2)'s determinism is checked in
     * autoPicksWinogradForWideLayersAndIsDeterministic).
     */
    static void checkBackwardFilter(WinogradBounds v, Case[] cases, String label, boolean runToRun) {
        for (Case k : cases) {
            ConvGeometry g = k.geometry();
            Random r = new Random(17 * k.name().hashCode());
            double[] x = random(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] gy = random(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    gy = roundToFloat(gy);
                }
                double[] wino = backwardFilter(g, dt, x, gy, v.algorithm());
                double[] im2col = backwardFilter(g, dt, x, gy, ConvAlgorithm.IM2COL);
                Reference ref = backwardFilterReference(g, x, gy);
                double[] bound = v.backwardFilter(g, x, gy, unitRoundoff(dt));
                String what = k.name() + " " + label + "backward-filter " + dt;
                assertWithin(what + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.n() * g.outH() * g.outW() / 9.0, null, 1, 1,
                        unitRoundoff(dt));
                assertWithin(what + " vs im2col", wino, im2col, bound, both);
                if (runToRun)
                    assertArrayEquals(wino, backwardFilter(g, dt, x, gy, v.algorithm()), 0.0, what + " run to run");
            }
        }
    }

    // ---- float64 references --------------------------------------------------------------------

    /** Exact-enough outputs (float64 sums of float32-representable products) and sum(|w| |x|) per output. */
    record Reference(double[] value, double[] absSum) {}

    static Reference forwardReference(ConvGeometry g, double[] x, double[] w, double[] b) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), wd = (int) g.w(), co = (int) g.cout();
        int oh = (int) g.outH(), ow = (int) g.outW(), ph = (int) g.padH(), pw = (int) g.padW();
        double[] y = new double[n * co * oh * ow], abs = new double[y.length];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < co; k++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++) {
                        double acc = b == null ? 0 : b[k], accAbs = 0;
                        for (int ch = 0; ch < c; ch++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++) {
                                    int ih = p - ph + u, iw = q - pw + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    double prod = w[((k * c + ch) * 3 + u) * 3 + v] * x[((i * c + ch) * h + ih) * wd + iw];
                                    acc += prod;
                                    accAbs += Math.abs(prod);
                                }
                        int o = ((i * co + k) * oh + p) * ow + q;
                        y[o] = acc;
                        abs[o] = accAbs;
                    }
        return new Reference(y, abs);
    }

    /** The adjoint of the forward convolution, scattered output by output (not the flipped-filter identity). */
    static Reference backwardDataReference(ConvGeometry g, double[] gy, double[] w) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), wd = (int) g.w(), co = (int) g.cout();
        int oh = (int) g.outH(), ow = (int) g.outW(), ph = (int) g.padH(), pw = (int) g.padW();
        double[] gx = new double[n * c * h * wd], abs = new double[gx.length];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < co; k++)
                for (int p = 0; p < oh; p++)
                    for (int q = 0; q < ow; q++) {
                        double gv = gy[((i * co + k) * oh + p) * ow + q];
                        for (int ch = 0; ch < c; ch++)
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++) {
                                    int ih = p - ph + u, iw = q - pw + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int o = ((i * c + ch) * h + ih) * wd + iw;
                                    double prod = gv * w[((k * c + ch) * 3 + u) * 3 + v];
                                    gx[o] += prod;
                                    abs[o] += Math.abs(prod);
                                }
                    }
        return new Reference(gx, abs);
    }

    static Reference backwardFilterReference(ConvGeometry g, double[] x, double[] gy) {
        int n = (int) g.n(), c = (int) g.c(), h = (int) g.h(), wd = (int) g.w(), co = (int) g.cout();
        int oh = (int) g.outH(), ow = (int) g.outW(), ph = (int) g.padH(), pw = (int) g.padW();
        double[] gw = new double[co * c * 9], abs = new double[gw.length];
        for (int k = 0; k < co; k++)
            for (int ch = 0; ch < c; ch++)
                for (int u = 0; u < 3; u++)
                    for (int v = 0; v < 3; v++) {
                        double acc = 0, accAbs = 0;
                        for (int i = 0; i < n; i++)
                            for (int p = 0; p < oh; p++)
                                for (int q = 0; q < ow; q++) {
                                    int ih = p - ph + u, iw = q - pw + v;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    double prod = gy[((i * co + k) * oh + p) * ow + q] * x[((i * c + ch) * h + ih) * wd + iw];
                                    acc += prod;
                                    accAbs += Math.abs(prod);
                                }
                        gw[((k * c + ch) * 3 + u) * 3 + v] = acc;
                        abs[((k * c + ch) * 3 + u) * 3 + v] = accAbs;
                    }
        return new Reference(gw, abs);
    }

    // ---- error bounds --------------------------------------------------------------------------

    /**
     * im2col's first-order bound, for comparing the two float paths: gamma_{9c+1} (sum |w| |x| + |bias|),
     * 9c products per output (for backward-filter pass c = images x output pixels / 9).
     */
    static double[] im2colBound(double[] absSum, double c, double[] bias, long planeSize, long channels,
                                        double u) {
        double n = 9.0 * c + 1;
        double gamma = n * u / (1 - n * u);
        double[] out = new double[absSum.length];
        for (int o = 0; o < out.length; o++) {
            int k = (int) ((o / planeSize) % channels);
            out[o] = gamma * (absSum[o] + (bias == null ? 0 : Math.abs(bias[k])));
        }
        return out;
    }

    static void assertWithin(String what, double[] got, double[] want, double[] bound, double[] extra) {
        for (int i = 0; i < got.length; i++) {
            double allowed = bound[i] + (extra == null ? 0 : extra[i]);
            double err = Math.abs(got[i] - want[i]);
            if (!(err <= allowed)) {  // also catches NaN (an output the kernel did not write)
                final int at = i;
                assertTrue(false, () -> what + ": element " + at + " is " + got[at] + ", expected " + want[at]
                        + " (error " + Math.abs(got[at] - want[at]) + " > bound " + allowed + ")");
            }
        }
    }

    // ---- small helpers -------------------------------------------------------------------------

    static double unitRoundoff(DType dt) {
        return dt == DType.FLOAT32 ? Math.ulp(1.0f) / 2 : Math.ulp(1.0) / 2;
    }

    static double[] random(Random r, long count) {
        double[] v = new double[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }

    static double[] roundToFloat(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (float) v[i];
        return out;
    }
}
