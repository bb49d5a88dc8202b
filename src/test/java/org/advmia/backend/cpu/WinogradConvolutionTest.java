package org.advmia.backend.cpu;

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
 * bound, winogradFilterGradBound, has the same form with the sum running over tiles instead of
 * channels), on every shape class the
 * kernel distinguishes: odd output sizes (partial tiles on the right and bottom edge), padding
 * 0, 1, 2 and asymmetric, batch 1, channel counts that are not a multiple of the 8 vector lanes,
 * rows of fewer, exactly and more than 8 tiles, a single output pixel, and layers large enough
 * to be cut into several chunks (SmallCNN's conv2, a ResNet-18 stage).
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

    @Test
    void forwardMatchesFloat64ReferenceAndIm2col() {
        for (Case k : CASES) {
            Random r = new Random(k.name().hashCode());
            double[] x = random(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] w = random(r, (long) k.cout() * k.c() * 9);
            double[] b = k.bias() ? random(r, k.cout()) : null;
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    w = roundToFloat(w);
                    if (b != null) b = roundToFloat(b);
                }
                ConvGeometry g = k.geometry();
                double[] wino = forward(g, dt, x, w, b, ConvAlgorithm.WINOGRAD);
                double[] im2col = forward(g, dt, x, w, b, ConvAlgorithm.IM2COL);
                Reference ref = forwardReference(g, x, w, b);
                double[] bound = winogradBound(g.n(), g.c(), g.h(), g.w(), (int) g.padH(), (int) g.padW(), g.cout(),
                        x, filters(w, g.cout(), g.c(), false), b, unitRoundoff(dt));
                assertWithin(k.name() + " forward " + dt + " vs float64", wino, ref.value, bound, null);
                double[] both = im2colBound(ref.absSum, g.c(), b, g.outH() * g.outW(), g.cout(), unitRoundoff(dt));
                assertWithin(k.name() + " forward " + dt + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    @Test
    void backwardDataMatchesFloat64ReferenceAndIm2col() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(31 * k.name().hashCode());
            double[] gy = random(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            double[] w = random(r, (long) k.cout() * k.c() * 9);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    gy = roundToFloat(gy);
                    w = roundToFloat(w);
                }
                double[] wino = backwardData(g, dt, gy, w, ConvAlgorithm.WINOGRAD);
                double[] im2col = backwardData(g, dt, gy, w, ConvAlgorithm.IM2COL);
                Reference ref = backwardDataReference(g, gy, w);
                // Backward-data as Winograd computes it: a convolution of gy (cout channels) with
                // the flipped, transposed filters and padding 2 - pad, giving the c input channels.
                double[] bound = winogradBound(g.n(), g.cout(), g.outH(), g.outW(), 2 - (int) g.padH(),
                        2 - (int) g.padW(), g.c(), gy, filters(w, g.cout(), g.c(), true), null, unitRoundoff(dt));
                assertWithin(k.name() + " backward-data " + dt + " vs float64", wino, ref.value, bound, null);
                double[] both = im2colBound(ref.absSum, g.cout(), null, g.h() * g.w(), g.c(), unitRoundoff(dt));
                assertWithin(k.name() + " backward-data " + dt + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceAndIm2col() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(17 * k.name().hashCode());
            double[] x = random(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] gy = random(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    gy = roundToFloat(gy);
                }
                double[] wino = backwardFilter(g, dt, x, gy, ConvAlgorithm.WINOGRAD);
                double[] im2col = backwardFilter(g, dt, x, gy, ConvAlgorithm.IM2COL);
                Reference ref = backwardFilterReference(g, x, gy);
                double[] bound = winogradFilterGradBound(g, x, gy, unitRoundoff(dt));
                assertWithin(k.name() + " backward-filter " + dt + " vs float64", wino, ref.value, bound, null);
                double[] both = im2colBound(ref.absSum, g.n() * g.outH() * g.outW() / 9.0, null, 1, 1,
                        unitRoundoff(dt));
                assertWithin(k.name() + " backward-filter " + dt + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    @Test
    void autoPicksWinogradForWideLayersAndIsDeterministic() {
        // 32 -> 32 channels, 3x3, stride 1: AUTO takes the Winograd path, so its result must be
        // bit-identical to the forced Winograd result, run after run. At this 9x9 output that is
        // F(2x2) for forward and backward-data (4x4 tiles would compute 12x12) and F(4x4) for
        // backward-filter (advmia_conv.h, wino4_wins_*).
        Case k = new Case("auto", 3, 32, 9, 9, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Random r = new Random(5);
        double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
        double[] w = roundToFloat(random(r, (long) k.cout() * k.c() * 9));
        double[] b = roundToFloat(random(r, k.cout()));
        double[] forced = forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD);
        assertArrayEquals(forced, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
        assertArrayEquals(forced, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD));
        double[] gy = roundToFloat(random(r, (long) k.n() * k.cout() * g.outH() * g.outW()));
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

    // ---- running the backend -------------------------------------------------------------------

    private double[] forward(ConvGeometry g, DType dt, double[] x, double[] w, double[] b, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor xt = tensor(dt, x, g.inputShape());
            Tensor wt = tensor(dt, w, g.weightShape());
            Tensor bt = b == null ? null : tensor(dt, b, new long[] {g.cout()});
            Tensor y = cpu.empty(dt, Shape.of(g.outputShape()));
            cpu.fill(y, Double.NaN);  // the kernel must write every output
            cpu.conv2d(g, xt, wt, bt, y, algo);
            return host(y);
        }
    }

    private double[] backwardData(ConvGeometry g, DType dt, double[] gy, double[] w, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gyt = tensor(dt, gy, g.outputShape());
            Tensor wt = tensor(dt, w, g.weightShape());
            Tensor gx = cpu.empty(dt, Shape.of(g.inputShape()));
            cpu.fill(gx, Double.NaN);
            cpu.conv2dBackwardData(g, gyt, wt, gx, algo);
            return host(gx);
        }
    }

    private double[] backwardFilter(ConvGeometry g, DType dt, double[] x, double[] gy, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor xt = tensor(dt, x, g.inputShape());
            Tensor gyt = tensor(dt, gy, g.outputShape());
            Tensor gw = cpu.empty(dt, Shape.of(g.weightShape()));
            cpu.fill(gw, Double.NaN);
            cpu.conv2dBackwardFilter(g, xt, gyt, gw, null, algo);
            return host(gw);
        }
    }

    private Tensor tensor(DType dt, double[] v, long[] shape) {
        Tensor t = cpu.empty(dt, Shape.of(shape));
        cpu.copyFromHost(v, t);
        return t;
    }

    private double[] host(Tensor t) {
        double[] out = new double[Math.toIntExact(t.numel())];
        cpu.copyToHost(t, out);
        return out;
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

    static final double[][] BT = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
    static final double[][] G = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static final double[][] AT = {{1, 1, 1, 0}, {0, 1, -1, -1}};

    /**
     * The 3x3 filters of the convolution Winograd evaluates, as [out][in][9]: the weights as they
     * are (forward), or flipped and transposed (backward-data: out = the layer's input channels).
     */
    static double[][][] filters(double[] w, long cout, long c, boolean flipped) {
        int co = (int) cout, ci = (int) c;
        double[][][] f = flipped ? new double[ci][co][9] : new double[co][ci][9];
        for (int k = 0; k < co; k++)
            for (int ch = 0; ch < ci; ch++)
                for (int t = 0; t < 9; t++) {
                    double v = w[(k * ci + ch) * 9 + t];
                    if (flipped) f[ch][k][8 - t] = v;
                    else f[k][ch][t] = v;
                }
        return f;
    }

    /** gamma_{C+12} (|A^T| (sum_c |U_c| .* |V_c|) |A|) + |bias| u for every output (see the class comment). */
    static double[] winogradBound(long n, long cin, long ih, long iw, int ph, int pw, long cout, double[] in,
                                          double[][][] f, double[] bias, double u) {
        int N = (int) n, C = (int) cin, H = (int) ih, W = (int) iw, K = (int) cout;
        int oh = H + 2 * ph - 2, ow = W + 2 * pw - 2, th = (oh + 1) / 2, tw = (ow + 1) / 2;
        double gamma = (C + 12) * u / (1 - (C + 12) * u);
        double[][][] absU = new double[K][C][];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) absU[k][ch] = absFilterTransform(f[k][ch]);
        double[] bound = new double[N * K * oh * ow];
        double[][] absV = new double[C][];
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    for (int ch = 0; ch < C; ch++) {
                        double[][] d = new double[4][4];
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                int y = 2 * a - ph + r, x = 2 * b - pw + s;
                                if (y >= 0 && y < H && x >= 0 && x < W) d[r][s] = Math.abs(in[((i * C + ch) * H + y) * W + x]);
                            }
                        absV[ch] = flatten(mul(mul(abs(BT), d), transpose(abs(BT))));
                    }
                    for (int k = 0; k < K; k++) {
                        double[][] m = new double[4][4];
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < 16; e++) m[e / 4][e % 4] += absU[k][ch][e] * absV[ch][e];
                        double[][] out = mul(mul(abs(AT), m), transpose(abs(AT)));
                        for (int r = 0; r < 2; r++)
                            for (int s = 0; s < 2; s++) {
                                int y = 2 * a + r, x = 2 * b + s;
                                if (y >= oh || x >= ow) continue;
                                double biasTerm = bias == null ? 0 : Math.abs(bias[k]) * u;
                                bound[((i * K + k) * oh + y) * ow + x] = gamma * out[r][s] + biasTerm;
                            }
                    }
                }
        return bound;
    }

    /**
     * The backward-filter analogue: gamma_{P+12} (|G^T| (sum_t (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|),
     * P = the number of tiles summed over (images x tiles per image); the 12 cover the input
     * transform (2), the gradient-tile transform (2), G^T . G (4) and slack for the reduction of
     * per-thread partial sums (whose order the gamma_P term already allows for).
     */
    static double[] winogradFilterGradBound(ConvGeometry g, double[] x, double[] gy, double u) {
        int N = (int) g.n(), C = (int) g.c(), H = (int) g.h(), W = (int) g.w(), K = (int) g.cout();
        int oh = (int) g.outH(), ow = (int) g.outW(), ph = (int) g.padH(), pw = (int) g.padW();
        int th = (oh + 1) / 2, tw = (ow + 1) / 2;
        double P = (double) N * th * tw + 12;
        double gamma = P * u / (1 - P * u);
        double[][][] sum = new double[K][C][16];
        double[][] absA = transpose(abs(AT));
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    double[][] absV = new double[C][];
                    for (int ch = 0; ch < C; ch++) {
                        double[][] d = new double[4][4];
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                int y = 2 * a - ph + r, xx = 2 * b - pw + s;
                                if (y >= 0 && y < H && xx >= 0 && xx < W) d[r][s] = Math.abs(x[((i * C + ch) * H + y) * W + xx]);
                            }
                        absV[ch] = flatten(mul(mul(abs(BT), d), transpose(abs(BT))));
                    }
                    for (int k = 0; k < K; k++) {
                        double[][] t = new double[2][2];
                        for (int r = 0; r < 2; r++)
                            for (int s = 0; s < 2; s++) {
                                int y = 2 * a + r, xx = 2 * b + s;
                                if (y < oh && xx < ow) t[r][s] = Math.abs(gy[((i * K + k) * oh + y) * ow + xx]);
                            }
                        double[] absM = flatten(mul(mul(absA, t), abs(AT)));
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < 16; e++) sum[k][ch][e] += absM[e] * absV[ch][e];
                    }
                }
        double[] bound = new double[K * C * 9];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) {
                double[][] m = new double[4][4];
                for (int e = 0; e < 16; e++) m[e / 4][e % 4] = sum[k][ch][e];
                double[][] out = mul(mul(transpose(abs(G)), m), abs(G));
                for (int t = 0; t < 9; t++) bound[(k * C + ch) * 9 + t] = gamma * out[t / 3][t % 3];
            }
        return bound;
    }

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

    static double[] absFilterTransform(double[] g9) {
        double[][] g = new double[3][3];
        for (int t = 0; t < 9; t++) g[t / 3][t % 3] = Math.abs(g9[t]);
        return flatten(mul(mul(abs(G), g), transpose(abs(G))));
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

    static double[][] abs(double[][] m) {
        double[][] out = new double[m.length][m[0].length];
        for (int i = 0; i < m.length; i++)
            for (int j = 0; j < m[0].length; j++) out[i][j] = Math.abs(m[i][j]);
        return out;
    }

    static double[][] transpose(double[][] m) {
        double[][] out = new double[m[0].length][m.length];
        for (int i = 0; i < m.length; i++)
            for (int j = 0; j < m[0].length; j++) out[j][i] = m[i][j];
        return out;
    }

    static double[][] mul(double[][] a, double[][] b) {
        double[][] out = new double[a.length][b[0].length];
        for (int i = 0; i < a.length; i++)
            for (int k = 0; k < b.length; k++)
                for (int j = 0; j < b[0].length; j++) out[i][j] += a[i][k] * b[k][j];
        return out;
    }

    static double[] flatten(double[][] m) {
        double[] out = new double[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) System.arraycopy(m[i], 0, out, i * m[0].length, m[0].length);
        return out;
    }
}
