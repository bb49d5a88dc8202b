package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.WinogradConvolutionTest.abs;
import static org.advmia.backend.cpu.WinogradConvolutionTest.assertWithin;
import static org.advmia.backend.cpu.WinogradConvolutionTest.backwardDataReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.backwardFilterReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.filters;
import static org.advmia.backend.cpu.WinogradConvolutionTest.flatten;
import static org.advmia.backend.cpu.WinogradConvolutionTest.forwardReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.im2colBound;
import static org.advmia.backend.cpu.WinogradConvolutionTest.mul;
import static org.advmia.backend.cpu.WinogradConvolutionTest.random;
import static org.advmia.backend.cpu.WinogradConvolutionTest.roundToFloat;
import static org.advmia.backend.cpu.WinogradConvolutionTest.transpose;
import static org.advmia.backend.cpu.WinogradConvolutionTest.unitRoundoff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.backend.cpu.WinogradConvolutionTest.Case;
import org.advmia.backend.cpu.WinogradConvolutionTest.Reference;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The Winograd F(4x4,3x3) path (advmia_winograd4.h, ConvAlgorithm.WINOGRAD4) against the float64
 * direct convolution and the im2col path, forward, backward-data and backward-filter, on
 * WinogradConvolutionTest's shape classes plus the edges of 4x4 tiles: output sizes 1, 2, 3, 5, 6,
 * 7 (and 8, 9: one full tile plus a partial one), padding 0, 1, 2, one channel, batch 1, channel
 * counts off the 8 lanes, narrow rows (fewer than 8 tiles) and rows of more than 8 tiles.
 *
 * <p>Tolerance: the same first-order bound as WinogradConvolutionTest, derived for F(4x4)'s
 * matrices (advmia_winograd4.h; points 0, +-1, +-2): for one output,
 *   |y_computed - y| <= gamma_n (|A^T| (sum_c (|G| |g_c| |G^T|) .* (|B^T| |d_c| |B|)) |A|) + |bias| u,
 * n = C + 21. Rounding stages per element, as the kernel groups its sums (w4_bt, w4_g, w4_at):
 * the GEMM over C channels, C (one product, C - 1 additions); the input transform 3 per
 * dimension, 6 (e.g. 4 (d0 - d2) + (d4 - d2): the multiples of 2 and 4 are exact); the filter
 * transform 4 per dimension, 8 (two additions, the rounded constant 1/6 or 1/24, the product);
 * the output transform 3 per dimension, 6; the bias addition 1. |B^T|, |G| and |A^T| have entries
 * up to 5, 1/4 and 8, so this bound is wider than F(2x2)'s by the coefficients' growth, which is
 * the real price of F(4x4) in accuracy, not slack. Backward-filter: gamma_{P+20} (|G^T| (sum_t
 * (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|), P the number of tiles: input transform 6, gradient
 * tile 2 per dimension (4), G^T . G 5 per dimension (10). Any wrong coefficient, tile edge or
 * sign gives errors of the order of the outputs, far above these bounds.
 */
class WinogradF4ConvolutionTest {
    private final CpuBackend cpu = CpuBackend.get();

    static final Case[] CASES = cases();

    private static Case[] cases() {
        List<Case> all = new ArrayList<>(List.of(WinogradConvolutionTest.CASES));
        all.add(new Case("F4: output 1x1, one channel", 1, 1, 3, 3, 1, 0, 0, true));
        all.add(new Case("F4: output 2x2, pad 2", 2, 3, 2, 2, 5, 2, 2, false));
        all.add(new Case("F4: output 3x5", 1, 9, 5, 7, 11, 0, 0, true));
        all.add(new Case("F4: output 5x5, pad 1", 2, 6, 5, 5, 3, 1, 1, true));
        all.add(new Case("F4: output 6x7, pad 1", 2, 10, 6, 7, 6, 1, 1, true));
        all.add(new Case("F4: output 7x6, pad 2", 1, 7, 5, 4, 9, 2, 2, false));
        all.add(new Case("F4: output 8x9, asymmetric", 2, 17, 8, 11, 12, 1, 0, true));
        all.add(new Case("F4: 9 tiles per row, batch 1", 1, 8, 36, 38, 8, 1, 1, false));
        all.add(new Case("F4: SmallCNN conv4 class", 3, 64, 10, 10, 64, 0, 0, true));
        all.add(new Case("F4: one output channel", 2, 12, 9, 9, 1, 1, 1, true));
        return all.toArray(new Case[0]);
    }

    @Test
    void forwardMatchesFloat64ReferenceAndIm2col() {
        for (Case k : CASES) {
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
                double[] wino = forward(g, dt, x, w, b, ConvAlgorithm.WINOGRAD4);
                double[] im2col = forward(g, dt, x, w, b, ConvAlgorithm.IM2COL);
                Reference ref = forwardReference(g, x, w, b);
                double[] bound = winograd4Bound(g.n(), g.c(), g.h(), g.w(), (int) g.padH(), (int) g.padW(), g.cout(),
                        x, filters(w, g.cout(), g.c(), false), b, unitRoundoff(dt));
                assertWithin(k.name() + " F4 forward " + dt + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.c(), b, g.outH() * g.outW(), g.cout(), unitRoundoff(dt));
                assertWithin(k.name() + " F4 forward " + dt + " vs im2col", wino, im2col, bound, both);
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
                double[] wino = backwardData(g, dt, gy, w, ConvAlgorithm.WINOGRAD4);
                double[] im2col = backwardData(g, dt, gy, w, ConvAlgorithm.IM2COL);
                Reference ref = backwardDataReference(g, gy, w);
                double[] bound = winograd4Bound(g.n(), g.cout(), g.outH(), g.outW(), 2 - (int) g.padH(),
                        2 - (int) g.padW(), g.c(), gy, filters(w, g.cout(), g.c(), true), null, unitRoundoff(dt));
                assertWithin(k.name() + " F4 backward-data " + dt + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.cout(), null, g.h() * g.w(), g.c(), unitRoundoff(dt));
                assertWithin(k.name() + " F4 backward-data " + dt + " vs im2col", wino, im2col, bound, both);
            }
        }
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceAndIm2colAndIsDeterministic() {
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
                double[] wino = backwardFilter(g, dt, x, gy, ConvAlgorithm.WINOGRAD4);
                double[] im2col = backwardFilter(g, dt, x, gy, ConvAlgorithm.IM2COL);
                Reference ref = backwardFilterReference(g, x, gy);
                double[] bound = winograd4FilterGradBound(g, x, gy, unitRoundoff(dt));
                assertWithin(k.name() + " F4 backward-filter " + dt + " vs float64", wino, ref.value(), bound, null);
                double[] both = im2colBound(ref.absSum(), g.n() * g.outH() * g.outW() / 9.0, null, 1, 1,
                        unitRoundoff(dt));
                assertWithin(k.name() + " F4 backward-filter " + dt + " vs im2col", wino, im2col, bound, both);
                assertArrayEquals(wino, backwardFilter(g, dt, x, gy, ConvAlgorithm.WINOGRAD4), 0.0,
                        k.name() + " F4 backward-filter " + dt + " run to run");
            }
        }
    }

    @Test
    void autoPicksF4WhereWholeTilesFit() {
        // An 8x8 output with 64 input channels: advmia_conv.h's wino4_wins_* pick F(4x4) in all
        // three directions, so AUTO must equal the forced F(4x4) bit for bit (and not F(2x2)).
        Case k = new Case("auto picks F4", 2, 64, 8, 8, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Random r = new Random(6);
        double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
        double[] w = roundToFloat(random(r, (long) k.cout() * k.c() * 9));
        double[] b = roundToFloat(random(r, k.cout()));
        double[] gy = roundToFloat(random(r, (long) k.n() * k.cout() * g.outH() * g.outW()));
        double[] y4 = forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD4);
        assertArrayEquals(y4, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
        assertFalse(java.util.Arrays.equals(y4, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD)));
        assertArrayEquals(backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.WINOGRAD4),
                backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.AUTO));
        assertArrayEquals(backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4),
                backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.AUTO));
    }

    @Test
    void autoWithTileOverrideEqualsForcedF4() {
        Case k = new Case("auto F4", 3, 32, 11, 11, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Random r = new Random(5);
        double[] x = roundToFloat(random(r, (long) k.n() * k.c() * k.h() * k.w()));
        double[] w = roundToFloat(random(r, (long) k.cout() * k.c() * 9));
        double[] b = roundToFloat(random(r, k.cout()));
        double[] gy = roundToFloat(random(r, (long) k.n() * k.cout() * g.outH() * g.outW()));
        cpu.setWinogradTileForTests(4);
        try {
            assertArrayEquals(forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD4),
                    forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
            assertArrayEquals(backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.WINOGRAD4),
                    backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.AUTO));
            assertArrayEquals(backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4),
                    backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.AUTO));
        } finally {
            cpu.setWinogradTileForTests(0);
        }
    }

    // ---- running the backend -------------------------------------------------------------------

    private double[] forward(ConvGeometry g, DType dt, double[] x, double[] w, double[] b, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = cpu.empty(dt, Shape.of(g.outputShape()));
            cpu.fill(y, Double.NaN);
            cpu.conv2d(g, tensor(dt, x, g.inputShape()), tensor(dt, w, g.weightShape()),
                    b == null ? null : tensor(dt, b, new long[] {g.cout()}), y, algo);
            return host(y);
        }
    }

    private double[] backwardData(ConvGeometry g, DType dt, double[] gy, double[] w, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gx = cpu.empty(dt, Shape.of(g.inputShape()));
            cpu.fill(gx, Double.NaN);
            cpu.conv2dBackwardData(g, tensor(dt, gy, g.outputShape()), tensor(dt, w, g.weightShape()), gx, algo);
            return host(gx);
        }
    }

    private double[] backwardFilter(ConvGeometry g, DType dt, double[] x, double[] gy, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gw = cpu.empty(dt, Shape.of(g.weightShape()));
            cpu.fill(gw, Double.NaN);
            cpu.conv2dBackwardFilter(g, tensor(dt, x, g.inputShape()), tensor(dt, gy, g.outputShape()), gw, null, algo);
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

    // ---- the F(4x4) bounds (see the class comment) ---------------------------------------------

    static final double[][] BT4 = {
        {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
        {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
    static final double[][] G4 = {
        {1 / 4.0, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0}, {-1 / 6.0, 1 / 6.0, -1 / 6.0},
        {1 / 24.0, 1 / 12.0, 1 / 6.0}, {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}};
    static final double[][] AT4 = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

    /** |B^T| |d| |B| of the 6x6 input tile at tile (a, b) of plane (i, ch), zero outside the image. */
    private static double[] absInputTile(double[] in, int i, int ch, int C, int H, int W, int a, int b, int ph, int pw) {
        double[][] d = new double[6][6];
        for (int r = 0; r < 6; r++)
            for (int s = 0; s < 6; s++) {
                int y = 4 * a - ph + r, x = 4 * b - pw + s;
                if (y >= 0 && y < H && x >= 0 && x < W) d[r][s] = Math.abs(in[((i * C + ch) * H + y) * W + x]);
            }
        return flatten(mul(mul(abs(BT4), d), transpose(abs(BT4))));
    }

    /** gamma_{C+21} (|A^T| (sum_c |U_c| .* |V_c|) |A|) + |bias| u for every output; arguments as winogradBound. */
    static double[] winograd4Bound(long n, long cin, long ih, long iw, int ph, int pw, long cout, double[] in,
                                   double[][][] f, double[] bias, double u) {
        int N = (int) n, C = (int) cin, H = (int) ih, W = (int) iw, K = (int) cout;
        int oh = H + 2 * ph - 2, ow = W + 2 * pw - 2, th = (oh + 3) / 4, tw = (ow + 3) / 4;
        double gamma = (C + 21) * u / (1 - (C + 21) * u);
        double[][][] absU = new double[K][C][];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) {
                double[][] g = new double[3][3];
                for (int t = 0; t < 9; t++) g[t / 3][t % 3] = Math.abs(f[k][ch][t]);
                absU[k][ch] = flatten(mul(mul(abs(G4), g), transpose(abs(G4))));
            }
        double[] bound = new double[N * K * oh * ow];
        double[][] absV = new double[C][];
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    for (int ch = 0; ch < C; ch++) absV[ch] = absInputTile(in, i, ch, C, H, W, a, b, ph, pw);
                    for (int k = 0; k < K; k++) {
                        double[][] m = new double[6][6];
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < 36; e++) m[e / 6][e % 6] += absU[k][ch][e] * absV[ch][e];
                        double[][] out = mul(mul(abs(AT4), m), transpose(abs(AT4)));
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                int y = 4 * a + r, x = 4 * b + s;
                                if (y >= oh || x >= ow) continue;
                                double biasTerm = bias == null ? 0 : Math.abs(bias[k]) * u;
                                bound[((i * K + k) * oh + y) * ow + x] = gamma * out[r][s] + biasTerm;
                            }
                    }
                }
        return bound;
    }

    /** gamma_{P+20} (|G^T| (sum_t (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|) per filter element. */
    static double[] winograd4FilterGradBound(ConvGeometry g, double[] x, double[] gy, double u) {
        int N = (int) g.n(), C = (int) g.c(), H = (int) g.h(), W = (int) g.w(), K = (int) g.cout();
        int oh = (int) g.outH(), ow = (int) g.outW(), ph = (int) g.padH(), pw = (int) g.padW();
        int th = (oh + 3) / 4, tw = (ow + 3) / 4;
        double P = (double) N * th * tw + 20;
        double gamma = P * u / (1 - P * u);
        double[][][] sum = new double[K][C][36];
        double[][] absA = transpose(abs(AT4));
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    double[][] absV = new double[C][];
                    for (int ch = 0; ch < C; ch++) absV[ch] = absInputTile(x, i, ch, C, H, W, a, b, ph, pw);
                    for (int k = 0; k < K; k++) {
                        double[][] t = new double[4][4];
                        for (int r = 0; r < 4; r++)
                            for (int s = 0; s < 4; s++) {
                                int y = 4 * a + r, xx = 4 * b + s;
                                if (y < oh && xx < ow) t[r][s] = Math.abs(gy[((i * K + k) * oh + y) * ow + xx]);
                            }
                        double[] absM = flatten(mul(mul(absA, t), abs(AT4)));
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < 36; e++) sum[k][ch][e] += absM[e] * absV[ch][e];
                    }
                }
        double[] bound = new double[K * C * 9];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) {
                double[][] m = new double[6][6];
                for (int e = 0; e < 36; e++) m[e / 6][e % 6] = sum[k][ch][e];
                double[][] out = mul(mul(transpose(abs(G4)), m), abs(G4));
                for (int t = 0; t < 9; t++) bound[(k * C + ch) * 9 + t] = gamma * out[t / 3][t % 3];
            }
        return bound;
    }
}
