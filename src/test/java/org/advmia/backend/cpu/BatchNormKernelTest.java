package org.advmia.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.advmia.backend.Backends;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The batch-norm kernels (advmia_spatial.h: bn_fwd_act / bn_bwd_act), forward and backward, with
 * no activation and with ReLU / ReLU6 fused, training and eval mode, float32 and float64, against
 * a float64 reference written here. The shapes exercise the kernels' image-major walk over blocks
 * of channels: planes 1x1, 2x2, 4x4, 8x8, 32x32 and an odd 5x3; channel counts that are not
 * multiples of the block (up to 64 channels, fewer when the block's planes would not fit the cache
 * budget or when there are fewer channels than threads) nor of a vector width; more channels than
 * one block holds (67, 130); batch 1; a float64 32x32 case whose budget allows only a few channels
 * per block. Results must not depend on the thread count (which changes the block size): checked
 * bit for bit with 1 and 3 threads.
 *
 * <p>Tolerance. The inputs are float32 values, exact in either dtype. The kernels accumulate the
 * per-channel sums in float64 over M = N*H*W terms, so each sum S carries at most
 * gamma_M(u64) * sum|terms| (the standard bound, gamma_n = n u / (1 - n u)); everything else is a
 * handful (at most 4) of roundings in the tensor's dtype: the per-channel factors cast to T, one
 * fused multiply-add, the final conversion. So every output is bounded by
 * 4 u_T (sum of the magnitudes of its terms) + 2 gamma_{M+4}(u64) (the magnitudes of its sums' terms
 * times their factors), doubled to cover the reference's own float64 error. The backward is
 * checked against the kernel's own saved mean and 1/std and its own forward output y (whose
 * value decides the fused activation's mask, by definition), so the forward's rounding does not
 * feed into it. A wrong channel, image, block edge or mask gives errors of the order of the
 * outputs, far above the bound.
 */
class BatchNormKernelTest {
    private final CpuBackend cpu = CpuBackend.get();

    private record Case(int n, int c, int h, int w) {
        long m() { return (long) n * h * w; }
    }

    private static final Case[] CASES = {
        new Case(3, 5, 1, 1), new Case(4, 67, 1, 1), new Case(2, 7, 2, 2), new Case(1, 3, 2, 2),
        new Case(3, 67, 4, 4), new Case(1, 130, 4, 4), new Case(2, 13, 8, 8), new Case(2, 130, 8, 8),
        new Case(2, 5, 32, 32), new Case(1, 3, 32, 32), new Case(3, 10, 32, 32), new Case(2, 9, 5, 3),
    };
    private static final UnaryOp[] ACTS = {null, UnaryOp.RELU, UnaryOp.RELU6};

    private static double unit(DType dt) {
        return dt == DType.FLOAT32 ? Math.ulp(1.0f) / 2 : Math.ulp(1.0) / 2;
    }

    private static double gamma(long n) {
        double u = Math.ulp(1.0) / 2;
        return n * u / (1 - n * u);
    }

    private static double act(UnaryOp a, double v) {
        if (a == UnaryOp.RELU) return v > 0 ? v : 0;
        if (a == UnaryOp.RELU6) return v < 0 ? 0 : (v > 6 ? 6 : v);
        return v;
    }

    private static boolean pass(UnaryOp a, double y) {
        if (a == UnaryOp.RELU) return y > 0;
        if (a == UnaryOp.RELU6) return y > 0 && y < 6;
        return true;
    }

    private static double[] randomFloats(Random r, int n, double lo, double hi) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    private static void within(String what, double expected, double actual, double tol) {
        if (!(Math.abs(expected - actual) <= tol)) {
            throw new AssertionError(what + ": expected " + expected + " got " + actual + " (tolerance " + tol + ")");
        }
    }

    /** Outputs of one forward + backward: y, saved mean, saved inv, running mean, running var, gx, gg, gb. */
    private double[][] runKernels(DType dt, Case k, UnaryOp a, boolean training, double[] x, double[] gmm,
                                  double[] bet, double[] rm0, double[] rv0, double[] gy, boolean[] needs) {
        try (MemoryScope s = MemoryScope.open()) {
            long[] shape = {k.n, k.c, k.h, k.w};
            Tensor xt = Backends.tensor(dt, x, shape), gt = Backends.tensor(dt, gmm, k.c),
                    bt = Backends.tensor(dt, bet, k.c), rm = Backends.tensor(dt, rm0, k.c),
                    rv = Backends.tensor(dt, rv0, k.c), gyt = Backends.tensor(dt, gy, shape);
            Tensor y = nanFilled(dt, Shape.of(shape)), sm = nanFilled(dt, Shape.of(k.c)), si = nanFilled(dt, Shape.of(k.c));
            cpu.batchNormActivation(training, 0.1, 1e-5, xt, gt, bt, rm, rv, y, sm, si, a);
            Tensor gx = needs[0] ? nanFilled(dt, Shape.of(shape)) : null;
            Tensor gg = needs[1] ? nanFilled(dt, Shape.of(k.c)) : null;
            Tensor gb = needs[2] ? nanFilled(dt, Shape.of(k.c)) : null;
            cpu.batchNormActivationBackward(training, xt, y, a, gyt, gt, sm, si, gx, gg, gb);
            return new double[][] {Backends.toDoubleArray(y), Backends.toDoubleArray(sm), Backends.toDoubleArray(si),
                Backends.toDoubleArray(rm), Backends.toDoubleArray(rv), gx == null ? null : Backends.toDoubleArray(gx),
                gg == null ? null : Backends.toDoubleArray(gg), gb == null ? null : Backends.toDoubleArray(gb)};
        }
    }

    private Tensor nanFilled(DType dt, Shape shape) {
        Tensor t = cpu.empty(dt, shape);
        double[] nan = new double[(int) t.numel()];
        java.util.Arrays.fill(nan, Double.NaN);
        {
            cpu.copyFromHost(nan, t);
        }
        return t;
    }

    private void checkCase(DType dt, Case k, UnaryOp a, boolean training, boolean[] needs, Random r) {
        final int n = k.n, c = k.c, hw = k.h * k.w;
        final long m = k.m();
        double[] x = randomFloats(r, n * c * hw, -3, 5);
        // Per-channel offsets so the channels' statistics differ (a channel mix-up shows).
        for (int i = 0; i < x.length; i++) x[i] = (float) (x[i] + ((i / hw) % c) * 0.25);
        double[] gmm = randomFloats(r, c, -8, 8), bet = randomFloats(r, c, -1, 3);
        double[] rm0 = randomFloats(r, c, -0.5, 1.5), rv0 = randomFloats(r, c, 0.5, 4);
        double[] gy = randomFloats(r, n * c * hw, -1, 1);
        double[][] out = runKernels(dt, k, a, training, x, gmm, bet, rm0, rv0, gy, needs);
        double[] y = out[0], sm = out[1], si = out[2];
        final double u = unit(dt), g = gamma(m + 4);
        final String tag = dt + " " + k + " " + a + (training ? " train" : " eval") + " needs "
                + java.util.Arrays.toString(needs);
        for (int ch = 0; ch < c; ch++) {
            // Reference statistics in float64.
            double s = 0, sabs = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) { double v = x[(i * c + ch) * hw + j]; s += v; sabs += Math.abs(v); }
            double mean = training ? s / m : rm0[ch];
            double q = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) { double d = x[(i * c + ch) * hw + j] - mean; q += d * d; }
            double var = training ? q / m : rv0[ch];
            double inv = 1 / Math.sqrt(var + 1e-5);
            double meanTol = 2 * (u * Math.abs(mean) + (training ? g * sabs / m : 0));
            within(tag + " saved mean c" + ch, mean, sm[ch], meanTol);
            // 1/sqrt(var + eps): the relative error of var (gamma_M, plus the mean's error, which
            // enters only at second order) halves through the square root.
            within(tag + " saved 1/std c" + ch, inv, si[ch], 4 * (u + g) * inv);
            if (training) {
                double erm = 0.9 * rm0[ch] + 0.1 * mean, erv = 0.9 * rv0[ch] + 0.1 * (q / (m - 1));
                within(tag + " running mean c" + ch, erm, out[3][ch], 4 * (u + g) * (Math.abs(rm0[ch]) + Math.abs(mean)) + meanTol);
                within(tag + " running var c" + ch, erv, out[4][ch], 4 * (u + g) * (Math.abs(rv0[ch]) + q / (m - 1)));
            } else {
                within(tag + " running mean unchanged c" + ch, rm0[ch], out[3][ch], 0);
                within(tag + " running var unchanged c" + ch, rv0[ch], out[4][ch], 0);
            }
            double scale = gmm[ch] * inv, shift = bet[ch] - mean * scale;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hw; j++) {
                    int idx = (i * c + ch) * hw + j;
                    double v = x[idx] * scale + shift;
                    double tol = 8 * (u + g) * (Math.abs(x[idx] * scale) + Math.abs(bet[ch]) + Math.abs(mean * scale) + Math.abs(v));
                    within(tag + " y[" + idx + "]", act(a, v), y[idx], tol);
                }
            }
            // Backward from the kernel's own saved statistics and output (see the class comment).
            double mu = sm[ch], iv = si[ch];
            double sg = 0, sgAbs = 0, sgx = 0, sgxAbs = 0;
            double[] gn = new double[n * hw];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < hw; j++) {
                    int idx = (i * c + ch) * hw + j;
                    double gv = pass(a, y[idx]) ? gy[idx] : 0;
                    gn[i * hw + j] = gv;
                    sg += gv;
                    sgAbs += Math.abs(gv);
                    sgx += gv * (x[idx] - mu);
                    sgxAbs += Math.abs(gv * (x[idx] - mu));
                }
            }
            if (needs[1]) within(tag + " grad gamma c" + ch, sgx * iv, out[6][ch], 2 * (u * Math.abs(sgx * iv) + 2 * g * sgxAbs * iv));
            if (needs[2]) within(tag + " grad beta c" + ch, sg, out[7][ch], 2 * (u * Math.abs(sg) + 2 * g * sgAbs));
            if (needs[0]) {
                double kk = gmm[ch] * iv / m;
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < hw; j++) {
                        int idx = (i * c + ch) * hw + j;
                        double gv = gn[i * hw + j], xc = x[idx] - mu;
                        double expected, tol;
                        if (training) {
                            double a1 = kk * m * gv, a2 = kk * sgx * iv * iv * xc, a3 = kk * sg;
                            expected = a1 - a2 - a3;
                            tol = 8 * u * (Math.abs(a1) + Math.abs(a2) + Math.abs(a3))
                                    + 4 * g * Math.abs(kk) * (sgAbs + sgxAbs * iv * iv * Math.abs(xc));
                        } else {
                            expected = gv * gmm[ch] * iv;
                            tol = 4 * u * Math.abs(expected);
                        }
                        within(tag + " grad x[" + idx + "]", expected, out[5][idx], tol);
                    }
                }
            }
        }
    }

    @Test
    void matchesFloat64Reference() {
        Random r = new Random(11);
        boolean[][] needSets = {{true, true, true}, {true, false, false}, {false, true, true}};
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            for (Case k : CASES) {
                for (UnaryOp a : ACTS) {
                    for (boolean training : new boolean[] {true, false}) {
                        for (boolean[] needs : needSets) checkCase(dt, k, a, training, needs, r);
                    }
                }
            }
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int threads = cpu.threads();
        Random r = new Random(12);
        try {
            for (Case k : new Case[] {new Case(2, 130, 4, 4), new Case(3, 10, 32, 32), new Case(4, 67, 1, 1)}) {
                int len = k.n * k.c * k.h * k.w;
                double[] x = randomFloats(r, len, -3, 5), gy = randomFloats(r, len, -1, 1);
                double[] gmm = randomFloats(r, k.c, -8, 8), bet = randomFloats(r, k.c, -1, 3);
                double[] rm0 = randomFloats(r, k.c, -0.5, 1.5), rv0 = randomFloats(r, k.c, 0.5, 4);
                boolean[] all = {true, true, true};
                for (UnaryOp a : ACTS) {
                    cpu.setThreads(1);
                    double[][] one = runKernels(DType.FLOAT32, k, a, true, x, gmm, bet, rm0, rv0, gy, all);
                    cpu.setThreads(3);
                    double[][] three = runKernels(DType.FLOAT32, k, a, true, x, gmm, bet, rm0, rv0, gy, all);
                    for (int i = 0; i < one.length; i++) {
                        assertArrayEquals(one[i], three[i], 0.0, k + " " + a + " output " + i + ", 1 vs 3 threads");
                    }
                }
            }
        } finally {
            cpu.setThreads(threads);
        }
    }

    @Test
    void rejectsBadActivationAndMissingOutput() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = cpu.empty(DType.FLOAT32, Shape.of(2, 3, 2, 2)), y = cpu.empty(DType.FLOAT32, Shape.of(2, 3, 2, 2));
            Tensor sm = cpu.empty(DType.FLOAT32, Shape.of(3)), si = cpu.empty(DType.FLOAT32, Shape.of(3));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.batchNormActivation(true, 0.1, 1e-5, x, null, null, null, null, y, sm, si, UnaryOp.SIGMOID));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.batchNormActivationBackward(true, x, null, UnaryOp.RELU6, y, null, sm, si, x, null, null));
            Tensor y64 = cpu.empty(DType.FLOAT64, Shape.of(2, 3, 2, 2));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.batchNormActivation(true, 0.1, 1e-5, x, null, null, null, null, y64, sm, si, null));
            assertThrows(IllegalArgumentException.class,
                    () -> cpu.batchNormActivationBackward(true, x, y64, UnaryOp.RELU, y, null, sm, si, x, null, null));
        }
    }
}
