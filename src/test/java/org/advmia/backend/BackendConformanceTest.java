package org.advmia.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The primitives every backend must get right, checked against plain Java references on random
 * inputs. Runs on each available backend (a new device adds itself to {@link #backends()}).
 *
 * <p>Tolerances: float32 results computed in a different summation order than the double
 * reference differ by a few ulps times the reduction length; 1e-5 relative covers that, while an
 * indexing or formula error is off by O(1).
 */
class BackendConformanceTest {
    private final Random r = new Random(42);
    private MemoryScope scope;

    static Stream<Backend> backends() {
        List<Backend> list = new ArrayList<>();
        list.add(CpuBackend.get());
        // The CUDA backend joins wherever a GPU is visible (CudaBackendParityTest compares it to the CPU op by op).
        if (org.advmia.backend.cuda.CudaBackend.isAvailable()) list.add(org.advmia.backend.cuda.CudaBackend.get());
        return list.stream();
    }

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private Tensor upload(Backend b, float[] data, long... shape) {
        Tensor t = b.empty(DType.FLOAT32, Shape.of(shape));
        b.copyFromHost(data, t);
        return t;
    }

    private float[] rand(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    private static float[] download(Backend b, Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        b.copyToHost(t, out);
        return out;
    }

    private static void close(float[] expected, float[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            double tol = rel * Math.max(1, Math.abs(expected[i]));
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol,
                    what + " element " + i + ": expected " + expected[i] + ", got " + actual[i]);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void gemmAllTransposes(Backend b) {
        int m = 7, n = 9, k = 11;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                float[] a = rand(m * k), bb = rand(k * n), c0 = rand(m * n);
                Tensor ta_ = upload(b, a, m * k), tb_ = upload(b, bb, k * n), tc = upload(b, c0, m * n);
                b.gemm(ta, tb, m, n, k, 0.5, ta_, tb_, 2.0, tc);
                float[] exp = new float[m * n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) {
                            s += (double) a[ta ? p * m + i : i * k + p] * bb[tb ? j * k + p : p * n + j];
                        }
                        exp[i * n + j] = (float) (0.5 * s + 2.0 * c0[i * n + j]);
                    }
                }
                close(exp, download(b, tc), 1e-5, "gemm ta=" + ta + " tb=" + tb);
            }
        }
        // A large GEMM takes the multi-threaded split path.
        int big = 96;
        float[] a = rand(big * big), bb = rand(big * big);
        Tensor tc = b.empty(DType.FLOAT32, Shape.of(big, big));
        b.gemm(false, false, big, big, big, 1, upload(b, a, big, big), upload(b, bb, big, big), 0, tc);
        float[] got = download(b, tc);
        for (int i = 0; i < big; i += 17) {
            for (int j = 0; j < big; j += 13) {
                double s = 0;
                for (int p = 0; p < big; p++) s += (double) a[i * big + p] * bb[p * big + j];
                assertEquals(s, got[i * big + j], 1e-4 * Math.max(1, Math.abs(s)));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void reductionsOverTheMiddleAxis(Backend b) {
        int outer = 3, n = 5, inner = 4;
        float[] x = rand(outer * n * inner);
        Tensor tx = upload(b, x, outer, n, inner);
        for (ReduceOp op : ReduceOp.values()) {
            Tensor ty = b.empty(DType.FLOAT32, Shape.of(outer, inner));
            b.reduce(op, tx, outer, n, inner, ty);
            float[] exp = new float[outer * inner];
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < inner; i++) {
                    double acc = op == ReduceOp.MAX ? -1e30 : op == ReduceOp.MIN ? 1e30 : 0;
                    for (int k = 0; k < n; k++) {
                        double v = x[(o * n + k) * inner + i];
                        acc = switch (op) {
                            case SUM, MEAN -> acc + v;
                            case MAX -> Math.max(acc, v);
                            case MIN -> Math.min(acc, v);
                            case SUM_SQUARES -> acc + v * v;
                            case ABS_SUM -> acc + Math.abs(v);
                            case ABS_MAX -> Math.max(acc, Math.abs(v));
                        };
                    }
                    exp[o * inner + i] = (float) (op == ReduceOp.MEAN ? acc / n : acc);
                }
            }
            close(exp, download(b, ty), 1e-5, "reduce " + op);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void broadcastingBinaryOpsAndComparisons(Backend b) {
        float[] a = rand(2 * 3 * 4), c = rand(3 * 1);
        c[1] = a[5];  // an exact tie for EQ / GE
        Tensor ta = upload(b, a, 2, 3, 4), tc = upload(b, c, 3, 1);
        for (BinaryOp op : BinaryOp.values()) {
            Tensor ty = b.empty(DType.FLOAT32, Shape.of(2, 3, 4));
            b.binary(op, ta, tc, ty);
            float[] exp = new float[24];
            for (int i = 0; i < 24; i++) {
                float x = a[i], y = c[(i / 4) % 3];
                exp[i] = switch (op) {
                    case ADD -> x + y;
                    case SUB -> x - y;
                    case MUL -> x * y;
                    case DIV -> x / y;
                    case MAX -> Math.max(x, y);
                    case MIN -> Math.min(x, y);
                    case GT -> x > y ? 1 : 0;
                    case GE -> x >= y ? 1 : 0;
                    case EQ -> x == y ? 1 : 0;
                };
            }
            close(exp, download(b, ty), 1e-6, "binary " + op);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void movementOps(Backend b) {
        float[] x = rand(2 * 3 * 5);
        Tensor tx = upload(b, x, 2, 3, 5), ty = b.empty(DType.FLOAT32, Shape.of(2, 5, 3));
        b.transpose(tx, 2, 3, 5, ty);
        float[] t = download(b, ty);
        for (int bb = 0; bb < 2; bb++) {
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 5; j++) assertEquals(x[bb * 15 + i * 5 + j], t[bb * 15 + j * 3 + i]);
            }
        }
        Tensor dst = b.empty(DType.FLOAT32, Shape.of(4, 6));
        b.fill(dst, -1);
        b.copyBlock(tx, 1, 5, dst, 2, 6, 3, 4);
        float[] d = download(b, dst);
        for (int row = 0; row < 4; row++) {
            for (int col = 0; col < 6; col++) {
                int k = row * 6 + col - 2;
                boolean inBlock = k >= 0 && k / 6 < 3 && k % 6 < 4;
                float want = inBlock ? x[1 + (k / 6) * 5 + k % 6] : -1;
                assertEquals(want, d[row * 6 + col], "copyBlock at " + row + "," + col);
            }
        }
        Tensor am = b.empty(DType.FLOAT32, Shape.of(6));
        b.argmax(tx.reshape(6, 5), am);
        float[] idx = download(b, am);
        for (int row = 0; row < 6; row++) {
            int best = 0;
            for (int j = 1; j < 5; j++) if (x[row * 5 + j] > x[row * 5 + best]) best = j;
            assertEquals(best, (int) idx[row]);
        }
        float[] nf = {1, Float.NaN, 2, Float.NEGATIVE_INFINITY, 3};
        assertEquals(2, b.countNonFinite(upload(b, nf, 5)));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void randomStreamsAreDeterministicAndWellDistributed(Backend b) {
        int n = 200_000;
        Tensor u = b.empty(DType.FLOAT32, Shape.of(n)), u2 = b.empty(DType.FLOAT32, Shape.of(n));
        b.random(RandomKind.UNIFORM, u, 7, 0, 0, 1);
        b.random(RandomKind.UNIFORM, u2, 7, 0, 0, 1);
        float[] a = download(b, u), a2 = download(b, u2);
        assertArrayEquals(a, a2, "same seed and offset give the same stream");
        Tensor shifted = b.empty(DType.FLOAT32, Shape.of(10));
        b.random(RandomKind.UNIFORM, shifted, 7, 100, 0, 1);
        float[] s = download(b, shifted);
        for (int i = 0; i < 10; i++) assertEquals(a[100 + i], s[i], "offset addresses the same counters");
        double mean = 0, var = 0;
        for (float v : a) {
            assertTrue(v >= 0 && v < 1);
            mean += v;
        }
        mean /= n;
        for (float v : a) var += (v - mean) * (v - mean);
        var /= n;
        // Uniform(0,1): mean 1/2, variance 1/12; with n = 2e5 the standard errors are ~6.5e-4 and ~2e-4.
        assertEquals(0.5, mean, 4e-3);
        assertEquals(1 / 12.0, var, 2e-3);
        Tensor g = b.empty(DType.FLOAT32, Shape.of(n));
        b.random(RandomKind.NORMAL, g, 3, 0, 1.0, 2.0);
        float[] gv = download(b, g);
        double gm = 0, gs = 0;
        for (float v : gv) gm += v;
        gm /= n;
        for (float v : gv) gs += (v - gm) * (v - gm);
        gs = Math.sqrt(gs / n);
        assertEquals(1.0, gm, 0.03);
        assertEquals(2.0, gs, 0.03);
        Tensor m = b.empty(DType.FLOAT32, Shape.of(n));
        b.random(RandomKind.BERNOULLI, m, 5, 0, 0.3, 0);
        double ones = 0;
        for (float v : download(b, m)) {
            assertTrue(v == 0 || v == 1);
            ones += v;
        }
        assertEquals(0.3, ones / n, 0.01);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void fusedAttackStepProjectsOntoTheBallAndBox(Backend b) {
        int n = 4, d = 50;
        float[] x0 = new float[n * d], x = new float[n * d], g = rand(n * d);
        for (int i = 0; i < x0.length; i++) {
            x0[i] = r.nextFloat();
            x[i] = Math.min(1, Math.max(0, x0[i] + 0.3f * (float) r.nextGaussian()));
        }
        for (Norm norm : Norm.values()) {
            double eps = norm == Norm.LINF ? 0.03 : 0.5, alpha = norm == Norm.LINF ? 0.01 : 0.2;
            Tensor t0 = upload(b, x0, n, d), tx = upload(b, x, n, d), tg = upload(b, g, n, d);
            float[] active = {1, 0, 1, 1};
            b.attackStep(norm, t0, tx, tg, alpha, null, eps, null, upload(b, active, n), 0, 1);
            float[] out = download(b, tx);
            for (int s = 0; s < n; s++) {
                double gn = 0;
                for (int i = 0; i < d; i++) gn += (double) g[s * d + i] * g[s * d + i];
                gn = Math.sqrt(gn);
                double[] stepped = new double[d];
                double dn = 0;
                for (int i = 0; i < d; i++) {
                    int k = s * d + i;
                    double step = norm == Norm.LINF ? alpha * Math.signum(g[k]) : alpha * g[k] / (gn + 1e-12);
                    stepped[i] = x[k] + step - x0[k];
                    dn += stepped[i] * stepped[i];
                }
                dn = Math.sqrt(dn);
                double norm2 = 0;
                for (int i = 0; i < d; i++) {
                    int k = s * d + i;
                    double want;
                    if (active[s] == 0) {
                        want = x[k];
                    } else if (norm == Norm.LINF) {
                        want = Math.min(Math.min(x0[k] + eps, 1), Math.max(Math.max(x0[k] - eps, 0), x0[k] + stepped[i]));
                    } else {
                        want = Math.min(1, Math.max(0, x0[k] + stepped[i] * (dn > eps ? eps / dn : 1)));
                    }
                    assertEquals(want, out[k], 1e-6, norm + " sample " + s + " element " + i);
                    assertTrue(out[k] >= 0 && out[k] <= 1);
                    norm2 += (out[k] - x0[k]) * (out[k] - x0[k]);
                    if (active[s] != 0 && norm == Norm.LINF) assertTrue(Math.abs(out[k] - x0[k]) <= eps + 1e-6);
                }
                if (active[s] != 0 && norm == Norm.L2) assertTrue(Math.sqrt(norm2) <= eps + 1e-5);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void optimizerKernelsFollowPyTorchFormulas(Backend b) {
        float[] p = rand(6), g = rand(6), buf = rand(6);
        Tensor tp = upload(b, p, 6), tg = upload(b, g, 6), tb = upload(b, buf, 6);
        double lr = 0.1, mom = 0.9, damp = 0.1, wd = 0.01;
        b.sgdStep(tp, tg, tb, lr, mom, damp, wd, false, false);
        float[] np = download(b, tp), nb = download(b, tb);
        for (int i = 0; i < 6; i++) {
            double gi = g[i] + wd * p[i];
            double bi = mom * buf[i] + (1 - damp) * gi;
            assertEquals(bi, nb[i], 1e-6);
            assertEquals(p[i] - lr * bi, np[i], 1e-6);
        }
        float[] m = rand(6), v = new float[6];
        for (int i = 0; i < 6; i++) v[i] = Math.abs((float) r.nextGaussian());
        Tensor tp2 = upload(b, p, 6), tm = upload(b, m, 6), tv = upload(b, v, 6);
        b.adamStep(tp2, tg, tm, tv, 0.01, 0.9, 0.999, 1e-8, 0.05, true, 3);
        float[] ap = download(b, tp2);
        for (int i = 0; i < 6; i++) {
            double pi = p[i] * (1 - 0.01 * 0.05);
            double mi = 0.9 * m[i] + 0.1 * g[i], vi = 0.999 * v[i] + 0.001 * g[i] * g[i];
            double mh = mi / (1 - Math.pow(0.9, 3)), vh = vi / (1 - Math.pow(0.999, 3));
            assertEquals(pi - 0.01 * mh / (Math.sqrt(vh) + 1e-8), ap[i], 1e-5);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void medianFilterAndRounding(Backend b) {
        int h = 5, w = 6;
        float[] x = rand(2 * h * w);
        Tensor tx = upload(b, x, 2, h, w), ty = b.empty(DType.FLOAT32, Shape.of(2, h, w));
        b.medianFilter(tx, 3, ty);
        float[] got = download(b, ty);
        for (int p = 0; p < 2; p++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    float[] win = new float[9];
                    int n = 0;
                    for (int di = -1; di <= 1; di++) {
                        for (int dj = -1; dj <= 1; dj++) {
                            int ii = reflect(i + di, h), jj = reflect(j + dj, w);
                            win[n++] = x[p * h * w + ii * w + jj];
                        }
                    }
                    java.util.Arrays.sort(win);
                    assertEquals(win[4], got[p * h * w + i * w + j], "median at " + p + "," + i + "," + j);
                }
            }
        }
        Tensor r = upload(b, new float[] {0.5f, 1.5f, 2.5f, -0.5f, 1.2f}, 5), out = b.empty(DType.FLOAT32, Shape.of(5));
        b.unary(UnaryOp.ROUND, r, out, 0, 0);
        assertArrayEquals(new float[] {0, 2, 2, -0f, 1}, download(b, out), "round half to even");
    }

    private static int reflect(int i, int n) {
        return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i;
    }
}
