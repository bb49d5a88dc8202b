package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.Norm;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.PoolKind;
import org.advmia.backend.RandomKind;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every CUDA op against its CPU twin on fresh random inputs, in float32 and float64. Skips without
 * a GPU. Each case runs the same op on both backends over identical data and compares all
 * outputs; output buffers start with the same random contents on both sides, so an output the
 * GPU fails to write shows up as a mismatch.
 *
 * <p>Tolerance: max|gpu - cpu| / max|cpu| per tensor, 1e-4 in float32 (the bound; TF32 is
 * off, and what remains is summation order and 1-ulp differences in exp/log/tanh, ~1e-6) and 1e-9
 * in float64 (the same differences at double precision, amplified at most by reduction lengths of
 * ~1e4). Integer-valued outputs (argmax, pooling indices, counts) must match exactly.
 */
class CudaBackendParityTest {
    private static CpuBackend cpu;
    private static CudaBackend gpu;
    private final Random r = new Random(20261124);
    private MemoryScope scope;

    /** Per test, not per class: surefire then reports each test as skipped rather than none at all. */
    @BeforeEach
    void gpuPresent() {
        assumeTrue(CudaBackend.isAvailable(), () -> "skipped: " + CudaBackend.unavailableReason());
        cpu = CpuBackend.get();
        gpu = CudaBackend.get();
    }

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) scope.close();
    }

    /** The same data on both backends. */
    record Pair(Tensor c, Tensor g) {}

    private static double tol(DType dt) {
        return dt == DType.FLOAT64 ? 1e-9 : 1e-4;
    }

    private Pair of(DType dt, double[] data, long... shape) {
        Tensor c = cpu.empty(dt, Shape.of(shape)), g = gpu.empty(dt, Shape.of(shape));
        cpu.copyFromHost(data, c);
        gpu.copyFromHost(data, g);
        return new Pair(c, g);
    }

    private Pair gauss(DType dt, long... shape) {
        double[] d = new double[Math.toIntExact(Shape.of(shape).numel())];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
        return of(dt, d, shape);
    }

    private Pair uniform(DType dt, double lo, double hi, long... shape) {
        double[] d = new double[Math.toIntExact(Shape.of(shape).numel())];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r.nextDouble();
        return of(dt, d, shape);
    }

    private Pair labels(DType dt, int n, int classes) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = r.nextInt(classes);
        return of(dt, d, n);
    }

    /** An output buffer: random garbage, identical on both sides. */
    private Pair out(DType dt, long... shape) {
        return gauss(dt, shape);
    }

    private static double[] host(Tensor t) {
        double[] d = new double[Math.toIntExact(t.numel())];
        Backend b = t.device().kind() == org.advmia.tensor.Device.Kind.CPU ? cpu : gpu;
        b.copyToHost(t, d);
        return d;
    }

    private static void same(String what, Pair p, double tol) {
        double[] e = host(p.c), a = host(p.g);
        assertEquals(e.length, a.length, what);
        double maxRef = 0, maxErr = 0;
        int worst = -1;
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i]) || Double.isNaN(a[i])) {
                assertTrue(Double.isNaN(e[i]) && Double.isNaN(a[i]), what + " element " + i + ": " + e[i] + " vs " + a[i]);
                continue;
            }
            maxRef = Math.max(maxRef, Math.abs(e[i]));
            double err = Math.abs(e[i] - a[i]);
            if (err > maxErr) {
                maxErr = err;
                worst = i;
            }
        }
        double rel = maxErr / Math.max(maxRef, 1e-30);
        assertTrue(rel <= tol, what + ": max|gpu-cpu|/max|cpu| = " + rel + " > " + tol + " (element " + worst + ": cpu "
                + (worst >= 0 ? e[worst] : 0) + ", gpu " + (worst >= 0 ? a[worst] : 0) + ")");
    }

    private static void exact(String what, Pair p) {
        assertArrayEquals(host(p.c), host(p.g), what);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void elementwise(DType dt) {
        double t = tol(dt);
        for (UnaryOp op : UnaryOp.values()) {
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.POW || op == UnaryOp.RECIPROCAL;
            Pair x = positive ? uniform(dt, 0.2, 3, 3, 257) : gauss(dt, 3, 257), y = out(dt, 3, 257);
            double a = op == UnaryOp.CLAMP ? -0.5 : op == UnaryOp.POW ? 1.7 : 0.3, b = op == UnaryOp.CLAMP ? 0.7 : -0.2;
            cpu.unary(op, x.c, y.c, a, b);
            gpu.unary(op, x.g, y.g, a, b);
            same(op + " " + dt, y, t);
            Pair gy = gauss(dt, 3, 257), gx = out(dt, 3, 257);
            cpu.unaryBackward(op, x.c, y.c, gy.c, gx.c, a, b);
            gpu.unaryBackward(op, x.g, y.g, gy.g, gx.g, a, b);
            same(op + " backward " + dt, gx, t);
        }
        long[][][] shapes = {{{4, 1, 5}, {3, 1}}, {{2, 3, 4}, {2, 3, 4}}, {{6}, {1}}, {{1, 7}, {5, 1}}};
        for (BinaryOp op : BinaryOp.values()) {
            for (long[][] s : shapes) {
                Pair a = gauss(dt, s[0]), b = op == BinaryOp.DIV ? uniform(dt, 0.5, 2, s[1]) : gauss(dt, s[1]);
                if (op == BinaryOp.EQ) b = a.c.numel() == b.c.numel() ? a : b;
                long[] ys = org.advmia.backend.Broadcast.of("t", a.c.shape(), b.c.shape()).dims();
                Pair y = out(dt, ys);
                cpu.binary(op, a.c, b.c, y.c);
                gpu.binary(op, a.g, b.g, y.g);
                same(op + " " + java.util.Arrays.deepToString(s) + " " + dt, y, t);
            }
        }
        Pair x = gauss(dt, 1000), y = gauss(dt, 1000), o = out(dt, 1000);
        cpu.axpby(0.7, x.c, -1.3, y.c, o.c);
        gpu.axpby(0.7, x.g, -1.3, y.g, o.g);
        same("axpby " + dt, o, t);
        cpu.fill(o.c, 2.5);
        gpu.fill(o.g, 2.5);
        exact("fill " + dt, o);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void movementReductionsAndGemm(DType dt) {
        double t = tol(dt);
        Pair src = gauss(dt, 6, 10), dst = out(dt, 8, 12);
        cpu.copyBlock(src.c, 3, 10, dst.c, 13, 12, 5, 7);
        gpu.copyBlock(src.g, 3, 10, dst.g, 13, 12, 5, 7);
        exact("copyBlock " + dt, dst);
        Pair x = gauss(dt, 3, 45, 70), y = out(dt, 3, 70, 45);
        cpu.transpose(x.c, 3, 45, 70, y.c);
        gpu.transpose(x.g, 3, 45, 70, y.g);
        exact("transpose " + dt, y);
        DType other = dt == DType.FLOAT32 ? DType.FLOAT64 : DType.FLOAT32;
        Pair cast = out(other, 3, 45, 70);
        cpu.cast(x.c, cast.c);
        gpu.cast(x.g, cast.g);
        exact("cast " + dt + " -> " + other, cast);
        for (ReduceOp op : ReduceOp.values()) {
            for (long[] s : new long[][] {{3, 5, 4}, {1, 5000, 1}, {7, 300, 1}, {1, 3, 1000}}) {
                Pair in = gauss(dt, s[0] * s[1] * s[2]), res = out(dt, s[0] * s[2]);
                cpu.reduce(op, in.c, s[0], s[1], s[2], res.c);
                gpu.reduce(op, in.g, s[0], s[1], s[2], res.g);
                same("reduce " + op + " " + java.util.Arrays.toString(s) + " " + dt, res, t);
            }
        }
        Pair logits = gauss(dt, 37, 11), am = out(dt, 37);
        cpu.argmax(logits.c, am.c);
        gpu.argmax(logits.g, am.g);
        exact("argmax " + dt, am);
        double[] bad = new double[1000];
        bad[3] = Double.NaN;
        bad[500] = Double.POSITIVE_INFINITY;
        bad[999] = Double.NEGATIVE_INFINITY;
        Pair nf = of(dt, bad, 1000);
        assertEquals(3, cpu.countNonFinite(nf.c));
        assertEquals(3, gpu.countNonFinite(nf.g));
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                int m = 67, n = 129, k = 33;
                Pair a = gauss(dt, m * k), b = gauss(dt, k * n), c = gauss(dt, m * n);
                cpu.gemm(ta, tb, m, n, k, 0.5, a.c, b.c, 2.0, c.c);
                gpu.gemm(ta, tb, m, n, k, 0.5, a.g, b.g, 2.0, c.g);
                same("gemm ta=" + ta + " tb=" + tb + " " + dt, c, t);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void convolutions(DType dt) {
        double t = tol(dt);
        ConvGeometry[] geometries = {
            new ConvGeometry(4, 3, 17, 15, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1),
            new ConvGeometry(2, 8, 16, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1),
            new ConvGeometry(2, 4, 12, 12, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2),
            new ConvGeometry(3, 6, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),
            new ConvGeometry(5, 16, 7, 7, 32, 1, 1, 1, 1, 0, 0, 1, 1, 1),
            new ConvGeometry(2, 3, 32, 32, 8, 7, 7, 2, 2, 3, 3, 1, 1, 1),
        };
        for (ConvGeometry g : geometries) {
            String tag = java.util.Arrays.toString(g.toArray()) + " " + dt;
            Pair x = gauss(dt, g.inputShape()), w = gauss(dt, g.weightShape()), bias = gauss(dt, g.cout());
            Pair y = out(dt, g.outputShape());
            cpu.conv2d(g, x.c, w.c, bias.c, y.c);
            gpu.conv2d(g, x.g, w.g, bias.g, y.g);
            same("conv2d " + tag, y, t);
            cpu.conv2d(g, x.c, w.c, null, y.c);
            gpu.conv2d(g, x.g, w.g, null, y.g);
            same("conv2d without bias " + tag, y, t);
            Pair gy = gauss(dt, g.outputShape()), gx = out(dt, g.inputShape());
            cpu.conv2dBackwardData(g, gy.c, w.c, gx.c);
            gpu.conv2dBackwardData(g, gy.g, w.g, gx.g);
            same("conv2d backward-data " + tag, gx, t);
            Pair gw = out(dt, g.weightShape()), gb = out(dt, g.cout());
            cpu.conv2dBackwardFilter(g, x.c, gy.c, gw.c, gb.c);
            gpu.conv2dBackwardFilter(g, x.g, gy.g, gw.g, gb.g);
            same("conv2d backward-filter " + tag, gw, t);
            same("conv2d backward-bias " + tag, gb, t);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void poolingUpsamplingAndFilters(DType dt) {
        double t = tol(dt);
        long[] in = {2, 3, 13, 11};
        PoolGeometry[] pools = {
            PoolGeometry.of(PoolKind.MAX, in, 2, 2, 2, 2, 0, 0, false, true),
            PoolGeometry.of(PoolKind.MAX, in, 3, 3, 2, 2, 1, 1, true, true),
            PoolGeometry.of(PoolKind.AVG, in, 3, 3, 2, 2, 1, 1, false, true),
            PoolGeometry.of(PoolKind.AVG, in, 3, 3, 2, 2, 1, 1, true, false),
            PoolGeometry.adaptive(in, 4, 3),
            PoolGeometry.adaptive(in, 1, 1),
        };
        for (PoolGeometry g : pools) {
            String tag = g + " " + dt;
            Pair x = gauss(dt, g.inputShape()), y = out(dt, g.outputShape());
            Pair idx = g.kind() == PoolKind.MAX ? out(dt, g.outputShape()) : null;
            cpu.pool2d(g, x.c, y.c, idx == null ? null : idx.c);
            gpu.pool2d(g, x.g, y.g, idx == null ? null : idx.g);
            same("pool " + tag, y, t);
            if (idx != null) exact("pool indices " + tag, idx);
            Pair gy = gauss(dt, g.outputShape()), gx = out(dt, g.inputShape());
            cpu.pool2dBackward(g, gy.c, idx == null ? null : idx.c, gx.c);
            gpu.pool2dBackward(g, gy.g, idx == null ? null : idx.g, gx.g);
            same("pool backward " + tag, gx, t);
        }
        for (boolean bilinear : new boolean[] {false, true}) {
            for (boolean ac : bilinear ? new boolean[] {false, true} : new boolean[] {false}) {
                for (long[] sizes : new long[][] {{5, 6, 10, 12}, {5, 7, 8, 11}, {9, 8, 4, 3}, {1, 1, 4, 4}}) {
                    String tag = (bilinear ? "bilinear" : "nearest") + " ac=" + ac + " " + java.util.Arrays.toString(sizes)
                            + " " + dt;
                    Pair x = gauss(dt, 2, 3, sizes[0], sizes[1]), y = out(dt, 2, 3, sizes[2], sizes[3]);
                    cpu.upsample(bilinear, ac, x.c, y.c);
                    gpu.upsample(bilinear, ac, x.g, y.g);
                    same("upsample " + tag, y, t);
                    Pair gy = gauss(dt, 2, 3, sizes[2], sizes[3]), gx = out(dt, 2, 3, sizes[0], sizes[1]);
                    cpu.upsampleBackward(bilinear, ac, gy.c, gx.c);
                    gpu.upsampleBackward(bilinear, ac, gy.g, gx.g);
                    same("upsample backward " + tag, gx, t);
                }
            }
        }
        Pair src = gauss(dt, 2, 3, 6, 5);
        double[] ind = new double[2 * 3 * 4 * 4];
        for (int i = 0; i < ind.length; i++) ind[i] = r.nextInt(30);
        Pair idx = of(dt, ind, 2, 3, 4, 4), gathered = out(dt, 2, 3, 4, 4);
        cpu.gatherPlanes(src.c, idx.c, gathered.c);
        gpu.gatherPlanes(src.g, idx.g, gathered.g);
        exact("gatherPlanes " + dt, gathered);
        for (int k : new int[] {3, 5}) {
            Pair x = gauss(dt, 2, 3, 17, 9), y = out(dt, 2, 3, 17, 9);
            cpu.medianFilter(x.c, k, y.c);
            gpu.medianFilter(x.g, k, y.g);
            exact("median " + k + " " + dt, y);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void batchNorm(DType dt) {
        double t = tol(dt);
        int n = 6, c = 5;
        for (boolean affine : new boolean[] {true, false}) {
            for (double eps : new double[] {1e-5, 1e-7}) {
                String tag = "affine=" + affine + " eps=" + eps + " " + dt;
                Pair x = gauss(dt, n, c, 7, 3), y = out(dt, n, c, 7, 3);
                Pair gamma = affine ? uniform(dt, 0.5, 1.5, c) : null, beta = affine ? gauss(dt, c) : null;
                Pair rm = gauss(dt, c), rv = uniform(dt, 0.5, 2, c), sm = out(dt, c), si = out(dt, c);
                cpu.batchNorm(true, 0.1, eps, x.c, gamma == null ? null : gamma.c, beta == null ? null : beta.c, rm.c, rv.c,
                        y.c, sm.c, si.c);
                gpu.batchNorm(true, 0.1, eps, x.g, gamma == null ? null : gamma.g, beta == null ? null : beta.g, rm.g, rv.g,
                        y.g, sm.g, si.g);
                same("bn train output " + tag, y, t);
                same("bn running mean " + tag, rm, t);
                same("bn running var " + tag, rv, t);
                same("bn saved mean " + tag, sm, t);
                same("bn saved inv std " + tag, si, t);
                for (boolean all : new boolean[] {true, false}) {
                    Pair gy = gauss(dt, n, c, 7, 3), gx = out(dt, n, c, 7, 3), gg = out(dt, c), gb = out(dt, c);
                    cpu.batchNormBackward(true, x.c, gy.c, gamma == null ? null : gamma.c, sm.c, si.c, gx.c,
                            all ? gg.c : null, all ? gb.c : null);
                    gpu.batchNormBackward(true, x.g, gy.g, gamma == null ? null : gamma.g, sm.g, si.g, gx.g,
                            all ? gg.g : null, all ? gb.g : null);
                    same("bn train backward gx all=" + all + " " + tag, gx, t);
                    if (all) {
                        same("bn gamma grad " + tag, gg, t);
                        same("bn beta grad " + tag, gb, t);
                    }
                }
                cpu.batchNorm(false, 0.1, eps, x.c, gamma == null ? null : gamma.c, beta == null ? null : beta.c, rm.c,
                        rv.c, y.c, sm.c, si.c);
                gpu.batchNorm(false, 0.1, eps, x.g, gamma == null ? null : gamma.g, beta == null ? null : beta.g, rm.g,
                        rv.g, y.g, sm.g, si.g);
                same("bn eval output " + tag, y, t);
                Pair gy = gauss(dt, n, c, 7, 3), gx = out(dt, n, c, 7, 3);
                cpu.batchNormBackward(false, x.c, gy.c, gamma == null ? null : gamma.c, sm.c, si.c, gx.c, null, null);
                gpu.batchNormBackward(false, x.g, gy.g, gamma == null ? null : gamma.g, sm.g, si.g, gx.g, null, null);
                same("bn eval backward " + tag, gx, t);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void losses(DType dt) {
        double t = tol(dt);
        for (int classes : new int[] {2, 4, 10, 257}) {
            int n = 33;
            String tag = classes + " classes " + dt;
            Pair z = gauss(dt, n, classes), lab = labels(dt, n, classes), ls = out(dt, n, classes);
            cpu.logSoftmax(z.c, ls.c);
            gpu.logSoftmax(z.g, ls.g);
            same("log_softmax " + tag, ls, t);
            Pair gy = gauss(dt, n, classes), gx = out(dt, n, classes);
            cpu.logSoftmaxBackward(ls.c, gy.c, gx.c);
            gpu.logSoftmaxBackward(ls.g, gy.g, gx.g);
            same("log_softmax backward " + tag, gx, t);
            Pair w = uniform(dt, 0.2, 2, classes), gl = gauss(dt, n);
            for (Pair weights : new Pair[] {null, w}) {
                for (double smoothing : new double[] {0, 0.1}) {
                    String sub = tag + " weights=" + (weights != null) + " smoothing=" + smoothing;
                    Pair loss = out(dt, n), gz = out(dt, n, classes);
                    cpu.softmaxCrossEntropy(z.c, lab.c, weights == null ? null : weights.c, smoothing, loss.c, null, null);
                    gpu.softmaxCrossEntropy(z.g, lab.g, weights == null ? null : weights.g, smoothing, loss.g, null, null);
                    same("cross_entropy " + sub, loss, t);
                    cpu.softmaxCrossEntropy(z.c, lab.c, weights == null ? null : weights.c, smoothing, null, gl.c, gz.c);
                    gpu.softmaxCrossEntropy(z.g, lab.g, weights == null ? null : weights.g, smoothing, null, gl.g, gz.g);
                    same("cross_entropy backward " + sub, gz, t);
                }
            }
            Pair m = out(dt, n), gz = out(dt, n, classes);
            cpu.margin(z.c, lab.c, m.c, null, null);
            gpu.margin(z.g, lab.g, m.g, null, null);
            same("margin " + tag, m, t);
            cpu.margin(z.c, lab.c, null, gl.c, gz.c);
            gpu.margin(z.g, lab.g, null, gl.g, gz.g);
            same("margin backward " + tag, gz, t);
            if (classes >= 4) {
                Pair tgt = of(dt, java.util.stream.DoubleStream.of(host(lab.c)).map(v -> (v + 1) % classes).toArray(), n);
                for (Pair targets : new Pair[] {null, tgt}) {
                    Pair d = out(dt, n), gd = out(dt, n, classes);
                    cpu.dlr(z.c, lab.c, targets == null ? null : targets.c, d.c, null, null);
                    gpu.dlr(z.g, lab.g, targets == null ? null : targets.g, d.g, null, null);
                    same("dlr targeted=" + (targets != null) + " " + tag, d, t);
                    cpu.dlr(z.c, lab.c, targets == null ? null : targets.c, null, gl.c, gd.c);
                    gpu.dlr(z.g, lab.g, targets == null ? null : targets.g, null, gl.g, gd.g);
                    same("dlr backward targeted=" + (targets != null) + " " + tag, gd, t);
                }
            }
            Pair targets01 = uniform(dt, 0, 1, n, classes), pw = uniform(dt, 0.5, 3, classes);
            for (Pair posWeight : new Pair[] {null, pw}) {
                Pair loss = out(dt, n, classes), gLoss = gauss(dt, n, classes), gb = out(dt, n, classes);
                cpu.bceWithLogits(z.c, targets01.c, posWeight == null ? null : posWeight.c, loss.c, null, null);
                gpu.bceWithLogits(z.g, targets01.g, posWeight == null ? null : posWeight.g, loss.g, null, null);
                same("bce " + tag, loss, t);
                cpu.bceWithLogits(z.c, targets01.c, posWeight == null ? null : posWeight.c, null, gLoss.c, gb.c);
                gpu.bceWithLogits(z.g, targets01.g, posWeight == null ? null : posWeight.g, null, gLoss.g, gb.g);
                same("bce backward " + tag, gb, t);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void updatesRandomAndTheAttackStep(DType dt) {
        double t = tol(dt);
        for (boolean nesterov : new boolean[] {false, true}) {
            for (boolean first : new boolean[] {true, false}) {
                Pair p = gauss(dt, 777), g = gauss(dt, 777), buf = gauss(dt, 777);
                cpu.sgdStep(p.c, g.c, buf.c, 0.1, 0.9, 0.1, 5e-4, nesterov, first);
                gpu.sgdStep(p.g, g.g, buf.g, 0.1, 0.9, 0.1, 5e-4, nesterov, first);
                same("sgd param nesterov=" + nesterov + " first=" + first + " " + dt, p, t);
                same("sgd buffer " + dt, buf, t);
            }
        }
        for (boolean decoupled : new boolean[] {false, true}) {
            Pair p = gauss(dt, 777), g = gauss(dt, 777), m = gauss(dt, 777), v = uniform(dt, 0, 1, 777);
            cpu.adamStep(p.c, g.c, m.c, v.c, 1e-3, 0.9, 0.999, 1e-8, 1e-2, decoupled, 7);
            gpu.adamStep(p.g, g.g, m.g, v.g, 1e-3, 0.9, 0.999, 1e-8, 1e-2, decoupled, 7);
            same("adam param decoupled=" + decoupled + " " + dt, p, t);
            same("adam m " + dt, m, t);
            same("adam v " + dt, v, t);
        }
        for (RandomKind kind : RandomKind.values()) {
            Pair y = out(dt, 4099);
            cpu.random(kind, y.c, 1234, 77, 0.3, 2.0);
            gpu.random(kind, y.g, 1234, 77, 0.3, 2.0);
            same("random " + kind + " " + dt, y, t);
        }
        int n = 9, d = 3 * 17 * 13;
        for (Norm norm : Norm.values()) {
            for (int variant = 0; variant < 3; variant++) {
                String tag = norm + " variant " + variant + " " + dt;
                Pair x0 = uniform(dt, 0, 1, n, d), g = gauss(dt, n, d);
                double[] xs = host(x0.c);
                for (int i = 0; i < xs.length; i++) xs[i] = Math.min(1, Math.max(0, xs[i] + 0.05 * r.nextGaussian()));
                Pair x = of(dt, xs, n, d);
                double alpha = norm == Norm.LINF ? 2 / 255.0 : 0.2, eps = norm == Norm.LINF ? 8 / 255.0 : 0.5;
                Pair alphas = variant == 1 ? uniform(dt, 0, alpha, n) : null, epss = variant == 1 ? uniform(dt, 0, eps, n) : null;
                Pair active = variant == 2 ? of(dt, new double[] {1, 0, 1, 1, 0, 0, 1, 0, 1}, n) : null;
                cpu.attackStep(norm, x0.c, x.c, variant == 2 ? null : g.c, alpha, alphas == null ? null : alphas.c, eps,
                        epss == null ? null : epss.c, active == null ? null : active.c, 0, 1);
                gpu.attackStep(norm, x0.g, x.g, variant == 2 ? null : g.g, alpha, alphas == null ? null : alphas.g, eps,
                        epss == null ? null : epss.g, active == null ? null : active.g, 0, 1);
                same("attack step " + tag, x, t);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32"})
    void badDataInAKernelSurfacesAtTheNextSynchronisation(DType dt) {
        Pair z = gauss(dt, 4, 3), loss = out(dt, 4);
        Pair lab = of(dt, new double[] {0, 1, 7, 2}, 4);
        gpu.softmaxCrossEntropy(z.g, lab.g, null, 0, loss.g, null, null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, gpu::synchronize);
        assertTrue(e.getMessage().contains("label is not an integer class index"), e.getMessage());
        gpu.synchronize();  // reported once, then cleared
        IllegalArgumentException onCpu = assertThrows(IllegalArgumentException.class,
                () -> cpu.softmaxCrossEntropy(z.c, lab.c, null, 0, loss.c, null, null));
        assertTrue(onCpu.getMessage().contains("label"), onCpu.getMessage());
        Tensor host = cpu.empty(dt, Shape.of(4));
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class, () -> gpu.fill(host, 0));
        assertTrue(mixed.getMessage().contains("is on cpu, expected cuda:0"), mixed.getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32"})
    void steadyLoopsDoNotCallCudaMalloc(DType dt) {
        Pair x0 = uniform(dt, 0, 1, 64, 3 * 32 * 32), x = uniform(dt, 0, 1, 64, 3 * 32 * 32);
        Runnable iteration = () -> {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor g = gpu.empty(dt, x.g.shape());
                gpu.random(RandomKind.NORMAL, g, 1, 0, 0, 1);
                Tensor sq = gpu.empty(dt, x.g.shape());
                gpu.unary(UnaryOp.SQUARE, g, sq, 0, 0);
                gpu.attackStep(Norm.LINF, x0.g, x.g, sq, 0.01, null, 0.03, null, null, 0, 1);
            }
        };
        iteration.run();
        long before = gpu.allocatorStats().systemAllocations();
        for (int i = 0; i < 20; i++) iteration.run();
        gpu.synchronize();
        assertEquals(before, gpu.allocatorStats().systemAllocations(), "the pool served every block after iteration 1");
    }
}
