package org.advmia.backend.cpu;

import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;

/**
 * The per-output first-order rounding bounds of the Winograd paths, one implementation for
 * F(2x2,3x3) (advmia_winograd.h) and F(4x4,3x3) (advmia_winograd4.h). The two algorithms are the
 * same computation, Y = A^T [sum_c (G g_c G^T) .* (B^T d_c B)] A, with different transform matrices
 * and tile sizes (m x m outputs from (m+2) x (m+2) input tiles), so the bounds differ only in those
 * matrices and in how many rounding stages the kernels' transforms add to gamma. Why each count is
 * what it is: WinogradConvolutionTest's class comment (F(2x2)) and WinogradF4ConvolutionTest's
 * (F(4x4)). Forward, for one output:
 *   |y_computed - y| <= gamma_{C+forwardStages} (|A^T| (sum_c (|G| |g_c| |G^T|) .* (|B^T| |d_c| |B|)) |A|) + |bias| u;
 * backward-filter, for one filter element, P the number of tiles summed over:
 *   |gw_computed - gw| <= gamma_{P+filterGradStages} (|G^T| (sum_t (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|).
 *
 * @param name             "F(2x2)" or "F(4x4)", for messages
 * @param algorithm        the ConvAlgorithm that forces this variant
 * @param m                outputs per tile side (2 or 4); the input tile side is m + 2
 * @param bt               B^T, (m+2) x (m+2)
 * @param g                G, (m+2) x 3
 * @param at               A^T, m x (m+2)
 * @param forwardStages    rounding stages beyond the C-term channel sum (forward and backward-data)
 * @param filterGradStages rounding stages beyond the P-term tile sum (backward-filter)
 */
record WinogradBounds(String name, ConvAlgorithm algorithm, int m, double[][] bt, double[][] g, double[][] at, int forwardStages,
                      int filterGradStages) {

    /** F(2x2,3x3): points 0, +-1; n = C + 12 and P + 12 (WinogradConvolutionTest). */
    static final WinogradBounds F2 = new WinogradBounds("F(2x2)", ConvAlgorithm.WINOGRAD, 2,
            new double[][] {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
            new double[][] {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
            new double[][] {{1, 1, 1, 0}, {0, 1, -1, -1}},
            12, 12);

    /** F(4x4,3x3): points 0, +-1, +-2; n = C + 21 and P + 20 (WinogradF4ConvolutionTest). */
    static final WinogradBounds F4 = new WinogradBounds("F(4x4)", ConvAlgorithm.WINOGRAD4, 4,
            new double[][] {
                {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}},
            new double[][] {
                {1 / 4.0, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0}, {-1 / 6.0, 1 / 6.0, -1 / 6.0},
                {1 / 24.0, 1 / 12.0, 1 / 6.0}, {1 / 24.0, -1 / 12.0, 1 / 6.0}, {0, 0, 1}},
            new double[][] {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}},
            21, 20);

    /** The variant a forced algorithm runs, or null for a non-Winograd one (im2col: use im2colBound). */
    static WinogradBounds of(ConvAlgorithm algo) {
        return algo == F2.algorithm ? F2 : algo == F4.algorithm ? F4 : null;
    }

    /** The input tile side, m + 2. */
    int tile() {
        return m + 2;
    }

    /** The forward bound of every output of conv(x, w) + b (b may be null). */
    double[] forward(ConvGeometry geo, double[] x, double[] w, double[] b, double u) {
        return convolution(geo.n(), geo.c(), geo.h(), geo.w(), (int) geo.padH(), (int) geo.padW(), geo.cout(), x,
                filters(w, geo.cout(), geo.c(), false), b, u);
    }

    /**
     * The backward-data bound of every input-gradient element. Backward-data as Winograd computes
     * it: a convolution of gy (cout channels) with the flipped, transposed filters and padding
     * 2 - pad, giving the c input channels.
     */
    double[] backwardData(ConvGeometry geo, double[] gy, double[] w, double u) {
        if (takesAdjoint(geo)) return adjointBackwardData(geo, gy, w, u);
        return convolution(geo.n(), geo.cout(), geo.outH(), geo.outW(), 2 - (int) geo.padH(), 2 - (int) geo.padW(),
                geo.c(), gy, filters(w, geo.cout(), geo.c(), true), null, u);
    }

    /**
     * gamma_{C+forwardStages} (|A^T| (sum_c |U_c| .* |V_c|) |A|) + |bias| u for every output of the
     * 3x3, stride-1 convolution of in [n, cin, ih, iw], padded by (ph, pw), with the filters f
     * [cout][cin][9].
     */
    double[] convolution(long n, long cin, long ih, long iw, int ph, int pw, long cout, double[] in, double[][][] f,
                         double[] bias, double u) {
        int N = (int) n, C = (int) cin, H = (int) ih, W = (int) iw, K = (int) cout, t = tile(), tt = t * t;
        int oh = H + 2 * ph - 2, ow = W + 2 * pw - 2, th = (oh + m - 1) / m, tw = (ow + m - 1) / m;
        double gamma = (C + forwardStages) * u / (1 - (C + forwardStages) * u);
        double[][][] absU = new double[K][C][];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) absU[k][ch] = absFilterTransform(f[k][ch]);
        double[] bound = new double[N * K * oh * ow];
        double[][] absV = new double[C][];
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    for (int ch = 0; ch < C; ch++) absV[ch] = absInputTile(in, i, ch, C, H, W, a, b, ph, pw);
                    for (int k = 0; k < K; k++) {
                        double[][] s = new double[t][t];
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < tt; e++) s[e / t][e % t] += absU[k][ch][e] * absV[ch][e];
                        double[][] out = mul(mul(abs(at), s), transpose(abs(at)));
                        for (int r = 0; r < m; r++)
                            for (int q = 0; q < m; q++) {
                                int y = m * a + r, x = m * b + q;
                                if (y >= oh || x >= ow) continue;
                                double biasTerm = bias == null ? 0 : Math.abs(bias[k]) * u;
                                bound[((i * K + k) * oh + y) * ow + x] = gamma * out[r][q] + biasTerm;
                            }
                    }
                }
        return bound;
    }

    /**
     * Whether F(4x4) backward-data runs as the adjoint of the forward tiles
     * (advmia_winograd4.h, wino4_adjoint_fits): the forward has fewer tiles than the
     * full-convolution form, and computes at most 1.44x its outputs.
     */
    boolean takesAdjoint(ConvGeometry geo) {
        if (m != 4) return false;
        long fwd = ((geo.outH() + 3) / 4) * ((geo.outW() + 3) / 4), full = ((geo.h() + 3) / 4) * ((geo.w() + 3) / 4);
        return fwd < full && 100 * 16 * fwd <= 144 * geo.outH() * geo.outW();
    }

    /**
     * Rounding stages of the adjoint backward-data beyond the K-term GEMM over output channels
     * (its products included, as the forward's C): the filter transform G g G^T (4 per side, 8,
     * the 1/6 and 1/24 constants' rounding included), the gradient tile's A gY A^T (2 per side,
     * 4), B . B^T on the 6x6 result (3 per side, 6: e.g. w4_b's o1 = 4 (d21 + x5) - 2 d34, or
     * o2's 5 x0, which rounds) and the overlap-add of up to 2 x 2 tiles into one input element
     * (3 additions): 21.
     */
    static final int ADJOINT_STAGES = 21;

    /**
     * The adjoint backward-data bound of every input-gradient element:
     * gamma_{K+21} times the sum, over the forward tiles that cover the element, of
     * |B| (sum_k |U_k| .* (|A| |gY_k| |A^T|)) |B^T| (U_k: the forward filter of output channel k
     * and this input channel, gY_k: output channel k's 4x4 gradient tile, zero outside the output).
     */
    double[] adjointBackwardData(ConvGeometry geo, double[] gy, double[] w, double u) {
        int N = (int) geo.n(), C = (int) geo.c(), H = (int) geo.h(), W = (int) geo.w(), K = (int) geo.cout();
        int oh = (int) geo.outH(), ow = (int) geo.outW(), ph = (int) geo.padH(), pw = (int) geo.padW();
        int t = tile(), th = (oh + m - 1) / m, tw = (ow + m - 1) / m;
        double n = K + ADJOINT_STAGES, gamma = n * u / (1 - n * u);
        double[][][] f = filters(w, K, C, false);
        double[][][] absU = new double[K][C][];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) absU[k][ch] = absFilterTransform(f[k][ch]);
        double[][] absB = transpose(abs(bt));
        double[] bound = new double[N * C * H * W];
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    double[][] absM = new double[K][];
                    for (int k = 0; k < K; k++) absM[k] = absGradTile(gy, i, k, K, oh, ow, a, b);
                    for (int ch = 0; ch < C; ch++) {
                        double[][] s = new double[t][t];
                        for (int k = 0; k < K; k++)
                            for (int e = 0; e < t * t; e++) s[e / t][e % t] += absU[k][ch][e] * absM[k][e];
                        double[][] out = mul(mul(absB, s), abs(bt));
                        for (int r = 0; r < t; r++)
                            for (int q = 0; q < t; q++) {
                                int y = m * a - ph + r, x = m * b - pw + q;
                                if (y >= 0 && y < H && x >= 0 && x < W)
                                    bound[((i * C + ch) * H + y) * W + x] += gamma * out[r][q];
                            }
                    }
                }
        return bound;
    }

    /** gamma_{P+filterGradStages} (|G^T| (sum_t (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|) per filter element. */
    double[] backwardFilter(ConvGeometry geo, double[] x, double[] gy, double u) {
        int N = (int) geo.n(), C = (int) geo.c(), H = (int) geo.h(), W = (int) geo.w(), K = (int) geo.cout();
        int oh = (int) geo.outH(), ow = (int) geo.outW(), ph = (int) geo.padH(), pw = (int) geo.padW();
        int t = tile(), tt = t * t, th = (oh + m - 1) / m, tw = (ow + m - 1) / m;
        double P = (double) N * th * tw + filterGradStages;
        double gamma = P * u / (1 - P * u);
        double[][][] sum = new double[K][C][tt];
        for (int i = 0; i < N; i++)
            for (int a = 0; a < th; a++)
                for (int b = 0; b < tw; b++) {
                    double[][] absV = new double[C][];
                    for (int ch = 0; ch < C; ch++) absV[ch] = absInputTile(x, i, ch, C, H, W, a, b, ph, pw);
                    for (int k = 0; k < K; k++) {
                        double[] absM = absGradTile(gy, i, k, K, oh, ow, a, b);
                        for (int ch = 0; ch < C; ch++)
                            for (int e = 0; e < tt; e++) sum[k][ch][e] += absM[e] * absV[ch][e];
                    }
                }
        double[] bound = new double[K * C * 9];
        for (int k = 0; k < K; k++)
            for (int ch = 0; ch < C; ch++) {
                double[][] s = new double[t][t];
                for (int e = 0; e < tt; e++) s[e / t][e % t] = sum[k][ch][e];
                double[][] out = mul(mul(transpose(abs(g)), s), abs(g));
                for (int e = 0; e < 9; e++) bound[(k * C + ch) * 9 + e] = gamma * out[e / 3][e % 3];
            }
        return bound;
    }

    /** |A| |gY| |A^T| of the output-gradient tile at tile (a, b) of plane (i, k), zero outside the output, flattened. */
    private double[] absGradTile(double[] gy, int i, int k, int K, int oh, int ow, int a, int b) {
        double[][] gt = new double[m][m];
        for (int r = 0; r < m; r++)
            for (int q = 0; q < m; q++) {
                int y = m * a + r, x = m * b + q;
                if (y < oh && x < ow) gt[r][q] = Math.abs(gy[((i * K + k) * oh + y) * ow + x]);
            }
        return flatten(mul(mul(transpose(abs(at)), gt), abs(at)));
    }

    /** |B^T| |d| |B| of the input tile at tile (a, b) of plane (i, ch), zero outside the image, flattened. */
    private double[] absInputTile(double[] in, int i, int ch, int C, int H, int W, int a, int b, int ph, int pw) {
        int t = tile();
        double[][] d = new double[t][t];
        for (int r = 0; r < t; r++)
            for (int s = 0; s < t; s++) {
                int y = m * a - ph + r, x = m * b - pw + s;
                if (y >= 0 && y < H && x >= 0 && x < W) d[r][s] = Math.abs(in[((i * C + ch) * H + y) * W + x]);
            }
        return flatten(mul(mul(abs(bt), d), transpose(abs(bt))));
    }

    /** |G| |g| |G^T| of one 3x3 filter g9, flattened. */
    private double[] absFilterTransform(double[] g9) {
        double[][] f = new double[3][3];
        for (int e = 0; e < 9; e++) f[e / 3][e % 3] = Math.abs(g9[e]);
        return flatten(mul(mul(abs(g), f), transpose(abs(g))));
    }

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

    // ---- small matrix helpers ------------------------------------------------------------------

    static double[][] abs(double[][] a) {
        double[][] out = new double[a.length][a[0].length];
        for (int i = 0; i < a.length; i++)
            for (int j = 0; j < a[0].length; j++) out[i][j] = Math.abs(a[i][j]);
        return out;
    }

    static double[][] transpose(double[][] a) {
        double[][] out = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++)
            for (int j = 0; j < a[0].length; j++) out[j][i] = a[i][j];
        return out;
    }

    static double[][] mul(double[][] a, double[][] b) {
        double[][] out = new double[a.length][b[0].length];
        for (int i = 0; i < a.length; i++)
            for (int k = 0; k < b.length; k++)
                for (int j = 0; j < b[0].length; j++) out[i][j] += a[i][k] * b[k][j];
        return out;
    }

    static double[] flatten(double[][] a) {
        double[] out = new double[a.length * a[0].length];
        for (int i = 0; i < a.length; i++) System.arraycopy(a[i], 0, out, i * a[0].length, a[0].length);
        return out;
    }
}
