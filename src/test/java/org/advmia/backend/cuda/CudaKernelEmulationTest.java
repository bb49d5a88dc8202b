package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Random;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.PoolKind;
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
 * The pooling, upsampling, median and loss CUDA kernels' per-element code
 * (src/main/cuda/spatial_index.cuh, loss_rows.cuh), run on the host by the CUDA library's
 * emulation entries, against the CPU kernels. Their index arithmetic (gathering backward passes,
 * candidate windows, binary searches over source coordinates, top-k bookkeeping) is the part of
 * the CUDA backend most likely to be wrong, and this checks it without a GPU. It needs the CUDA
 * library (built wherever nvcc exists), not a device.
 *
 * <p>Tolerance: both sides add the same terms in the same order, so they agree to the last bit
 * except where one compiler fuses a multiply-add (FMA) and the other does not: 1e-6 relative per
 * tensor in float32 and 1e-13 in float64 (a few ulps of the largest value). Indices and medians
 * (selections, no arithmetic) must match exactly.
 */
class CudaKernelEmulationTest {
    private final Random r = new Random(99);
    private final CpuBackend cpu = CpuBackend.get();
    private MemoryScope scope;

    /** Per test, not per class: surefire then reports each test as skipped rather than none at all. */
    @BeforeEach
    void libraryBuilt() {
        String why = CudaNative.unavailableReason();
        assumeTrue(why == null || !why.startsWith("CUDA library did not load"), () -> "skipped: " + why);
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) scope.close();
    }

    private Tensor gauss(DType dt, long... shape) {
        Tensor t = cpu.empty(dt, Shape.of(shape));
        double[] d = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
        cpu.copyFromHost(d, t);
        return t;
    }

    private static double[] host(Tensor t) {
        double[] d = new double[Math.toIntExact(t.numel())];
        CpuBackend.get().copyToHost(t, d);
        return d;
    }

    private static void close(String what, Tensor expected, Tensor actual, DType dt) {
        double[] e = host(expected), a = host(actual);
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < e.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(e[i]));
            maxErr = Math.max(maxErr, Math.abs(e[i] - a[i]));
        }
        double tol = dt == DType.FLOAT64 ? 1e-13 : 1e-6;
        assertTrue(maxErr <= tol * Math.max(maxRef, 1e-30), what + ": max|emulated - cpu| = " + maxErr + " (max|cpu| "
                + maxRef + ")");
    }

    private static void ok(int rc) {
        assertEquals(0, rc, () -> CudaNative.advc_last_error());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void poolingMatchesTheCpu(DType dt) {
        for (long[] in : new long[][] {{2, 3, 13, 11}, {1, 2, 8, 8}, {2, 1, 7, 16}}) {
            PoolGeometry[] pools = {
                PoolGeometry.of(PoolKind.MAX, in, 2, 2, 2, 2, 0, 0, false, true),
                PoolGeometry.of(PoolKind.MAX, in, 3, 3, 2, 2, 1, 1, true, true),
                PoolGeometry.of(PoolKind.MAX, in, 3, 2, 1, 2, 1, 0, false, true),
                PoolGeometry.of(PoolKind.AVG, in, 3, 3, 2, 2, 1, 1, false, true),
                PoolGeometry.of(PoolKind.AVG, in, 3, 3, 2, 2, 1, 1, true, false),
                PoolGeometry.of(PoolKind.AVG, in, 2, 2, 1, 1, 0, 0, false, true),
                PoolGeometry.adaptive(in, 4, 3),
                PoolGeometry.adaptive(in, 5, 7),
                PoolGeometry.adaptive(in, 1, 1),
            };
            for (PoolGeometry g : pools) {
                String tag = g + " " + dt;
                boolean max = g.kind() == PoolKind.MAX;
                Tensor x = gauss(dt, g.inputShape());
                Tensor y = cpu.empty(dt, Shape.of(g.outputShape())), ye = cpu.empty(dt, Shape.of(g.outputShape()));
                Tensor idx = max ? cpu.empty(dt, Shape.of(g.outputShape())) : null;
                Tensor idxe = max ? cpu.empty(dt, Shape.of(g.outputShape())) : null;
                cpu.pool2d(g, x, y, idx);
                ok(CudaNative.advc_emulate_pool2d_fwd(dt.code, g.toArray(), x.address(), x.numel(), ye.address(),
                        ye.numel(), idxe == null ? 0 : idxe.address(), idxe == null ? 0 : idxe.numel()));
                close("pool forward " + tag, y, ye, dt);
                if (max) assertArrayEquals(host(idx), host(idxe), "pool indices " + tag);
                Tensor gy = gauss(dt, g.outputShape());
                Tensor gx = cpu.empty(dt, Shape.of(g.inputShape())), gxe = gauss(dt, g.inputShape());
                cpu.pool2dBackward(g, gy, idx, gx);
                ok(CudaNative.advc_emulate_pool2d_bwd(dt.code, g.toArray(), gy.address(), gy.numel(),
                        idx == null ? 0 : idx.address(), idx == null ? 0 : idx.numel(), gxe.address(), gxe.numel()));
                close("pool backward " + tag, gx, gxe, dt);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void upsamplingMatchesTheCpu(DType dt) {
        long[][] sizes = {{5, 6, 10, 12}, {5, 7, 8, 11}, {9, 8, 4, 3}, {1, 1, 4, 4}, {3, 3, 3, 3}, {4, 5, 13, 29},
            {7, 7, 224, 224}, {2, 3, 1, 1}};
        for (int mode = 0; mode < 2; mode++) {
            for (int ac = 0; ac < (mode == 1 ? 2 : 1); ac++) {
                for (long[] s : sizes) {
                    String tag = (mode == 1 ? "bilinear" : "nearest") + " ac=" + ac + " " + Arrays.toString(s) + " " + dt;
                    boolean bilinear = mode == 1, alignCorners = ac == 1;
                    Tensor x = gauss(dt, 1, 2, s[0], s[1]);
                    Tensor y = cpu.empty(dt, Shape.of(1, 2, s[2], s[3])), ye = gauss(dt, 1, 2, s[2], s[3]);
                    cpu.upsample(bilinear, alignCorners, x, y);
                    ok(CudaNative.advc_emulate_upsample(dt.code, 0, mode, ac, 1, 2, s[0], s[1], s[2], s[3], x.address(),
                            x.numel(), ye.address(), ye.numel()));
                    close("upsample " + tag, y, ye, dt);
                    Tensor gy = gauss(dt, 1, 2, s[2], s[3]);
                    Tensor gx = cpu.empty(dt, Shape.of(1, 2, s[0], s[1])), gxe = gauss(dt, 1, 2, s[0], s[1]);
                    cpu.upsampleBackward(bilinear, alignCorners, gy, gx);
                    ok(CudaNative.advc_emulate_upsample(dt.code, 1, mode, ac, 1, 2, s[0], s[1], s[2], s[3], gy.address(),
                            gy.numel(), gxe.address(), gxe.numel()));
                    close("upsample backward " + tag, gx, gxe, dt);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void medianFilterMatchesTheCpu(DType dt) {
        for (int k : new int[] {1, 3, 5, 7}) {
            for (long[] s : new long[][] {{2, 3, 17, 9}, {1, 1, 4, 4}, {1, 2, 9, 30}}) {
                Tensor x = gauss(dt, s), y = cpu.empty(dt, Shape.of(s)), ye = gauss(dt, s);
                cpu.medianFilter(x, k, y);
                long h = s[2], w = s[3];
                ok(CudaNative.advc_emulate_median_filter(dt.code, x.numel() / (h * w), h, w, k, x.address(), x.numel(),
                        ye.address(), ye.numel()));
                assertArrayEquals(host(y), host(ye), "median k=" + k + " " + Arrays.toString(s) + " " + dt);
            }
        }
    }

    private Tensor labels(DType dt, int n, int classes, int shift) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = (i * 7 + shift) % classes;
        Tensor t = cpu.empty(dt, Shape.of(n));
        cpu.copyFromHost(d, t);
        return t;
    }

    private Tensor uniform(DType dt, double lo, double hi, long... shape) {
        Tensor t = cpu.empty(dt, Shape.of(shape));
        double[] d = new double[Math.toIntExact(t.numel())];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r.nextDouble();
        cpu.copyFromHost(d, t);
        return t;
    }

    private static long a(Tensor t) {
        return t == null ? 0 : t.address();
    }

    private static long n(Tensor t) {
        return t == null ? 0 : t.numel();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32", "FLOAT64"})
    void lossesMatchTheCpu(DType dt) {
        int n = 33;
        for (int classes : new int[] {2, 4, 10, 257}) {
            String tag = classes + " classes " + dt;
            Tensor z = gauss(dt, n, classes), lab = labels(dt, n, classes, 0), gl = gauss(dt, n);
            Tensor ls = cpu.empty(dt, Shape.of(n, classes)), lse = gauss(dt, n, classes);
            cpu.logSoftmax(z, ls);
            ok(CudaNative.advc_emulate_log_softmax(dt.code, 0, n, classes, z.address(), z.numel(), lse.address(),
                    lse.numel(), 0, 0, 0, 0));
            close("log_softmax " + tag, ls, lse, dt);
            Tensor gy = gauss(dt, n, classes), gx = cpu.empty(dt, Shape.of(n, classes)), gxe = gauss(dt, n, classes);
            cpu.logSoftmaxBackward(ls, gy, gx);
            ok(CudaNative.advc_emulate_log_softmax(dt.code, 1, n, classes, 0, 0, ls.address(), ls.numel(), gy.address(),
                    gy.numel(), gxe.address(), gxe.numel()));
            close("log_softmax backward " + tag, gx, gxe, dt);
            for (Tensor w : new Tensor[] {null, uniform(dt, 0.2, 2, classes)}) {
                for (double smoothing : new double[] {0, 0.1}) {
                    String sub = tag + " weights=" + (w != null) + " smoothing=" + smoothing;
                    Tensor loss = cpu.empty(dt, Shape.of(n)), losse = gauss(dt, n);
                    cpu.softmaxCrossEntropy(z, lab, w, smoothing, loss, null, null);
                    ok(CudaNative.advc_emulate_softmax_ce(dt.code, 0, n, classes, smoothing, z.address(), z.numel(),
                            lab.address(), lab.numel(), a(w), n(w), losse.address(), losse.numel(), 0, 0, 0, 0));
                    close("cross_entropy " + sub, loss, losse, dt);
                    Tensor gz = cpu.empty(dt, Shape.of(n, classes)), gze = gauss(dt, n, classes);
                    cpu.softmaxCrossEntropy(z, lab, w, smoothing, null, gl, gz);
                    ok(CudaNative.advc_emulate_softmax_ce(dt.code, 1, n, classes, smoothing, z.address(), z.numel(),
                            lab.address(), lab.numel(), a(w), n(w), 0, 0, gl.address(), gl.numel(), gze.address(),
                            gze.numel()));
                    close("cross_entropy backward " + sub, gz, gze, dt);
                }
            }
            Tensor m = cpu.empty(dt, Shape.of(n)), me = gauss(dt, n);
            cpu.margin(z, lab, m, null, null);
            ok(CudaNative.advc_emulate_margin(dt.code, 0, n, classes, z.address(), z.numel(), lab.address(), lab.numel(),
                    me.address(), me.numel(), 0, 0, 0, 0));
            close("margin " + tag, m, me, dt);
            Tensor gm = cpu.empty(dt, Shape.of(n, classes)), gme = gauss(dt, n, classes);
            cpu.margin(z, lab, null, gl, gm);
            ok(CudaNative.advc_emulate_margin(dt.code, 1, n, classes, z.address(), z.numel(), lab.address(), lab.numel(),
                    0, 0, gl.address(), gl.numel(), gme.address(), gme.numel()));
            close("margin backward " + tag, gm, gme, dt);
            if (classes >= 4) {
                for (Tensor tgt : new Tensor[] {null, labels(dt, n, classes, 1)}) {
                    String sub = tag + " targeted=" + (tgt != null);
                    Tensor d = cpu.empty(dt, Shape.of(n)), de = gauss(dt, n);
                    cpu.dlr(z, lab, tgt, d, null, null);
                    ok(CudaNative.advc_emulate_dlr(dt.code, 0, n, classes, z.address(), z.numel(), lab.address(),
                            lab.numel(), a(tgt), n(tgt), de.address(), de.numel(), 0, 0, 0, 0));
                    close("dlr " + sub, d, de, dt);
                    Tensor gd = cpu.empty(dt, Shape.of(n, classes)), gde = gauss(dt, n, classes);
                    cpu.dlr(z, lab, tgt, null, gl, gd);
                    ok(CudaNative.advc_emulate_dlr(dt.code, 1, n, classes, z.address(), z.numel(), lab.address(),
                            lab.numel(), a(tgt), n(tgt), 0, 0, gl.address(), gl.numel(), gde.address(), gde.numel()));
                    close("dlr backward " + sub, gd, gde, dt);
                }
            }
            Tensor targets = uniform(dt, 0, 1, n, classes), glb = gauss(dt, n, classes);
            for (Tensor pw : new Tensor[] {null, uniform(dt, 0.5, 3, classes)}) {
                String sub = tag + " pos_weight=" + (pw != null);
                Tensor l = cpu.empty(dt, Shape.of(n, classes)), le = gauss(dt, n, classes);
                cpu.bceWithLogits(z, targets, pw, l, null, null);
                ok(CudaNative.advc_emulate_bce_logits(dt.code, 0, z.numel(), classes, z.address(), z.numel(),
                        targets.address(), targets.numel(), a(pw), n(pw), le.address(), le.numel(), 0, 0, 0, 0));
                close("bce " + sub, l, le, dt);
                Tensor gb = cpu.empty(dt, Shape.of(n, classes)), gbe = gauss(dt, n, classes);
                cpu.bceWithLogits(z, targets, pw, null, glb, gb);
                ok(CudaNative.advc_emulate_bce_logits(dt.code, 1, z.numel(), classes, z.address(), z.numel(),
                        targets.address(), targets.numel(), a(pw), n(pw), 0, 0, glb.address(), glb.numel(),
                        gbe.address(), gbe.numel()));
                close("bce backward " + sub, gb, gbe, dt);
            }
        }
        Tensor z = gauss(dt, 2, 3), loss = gauss(dt, 2);
        Tensor bad = cpu.empty(dt, Shape.of(2));
        cpu.copyFromHost(new double[] {1, 3}, bad);
        assertEquals(-1, CudaNative.advc_emulate_softmax_ce(dt.code, 0, 2, 3, 0, z.address(), 6, bad.address(), 2, 0, 0,
                loss.address(), 2, 0, 0, 0, 0));
        assertTrue(CudaNative.advc_last_error().contains("label is not an integer class index"),
                CudaNative.advc_last_error());
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT32"})
    void emulationChecksArgumentsLikeTheDeviceEntries(DType dt) {
        long[] geom = PoolGeometry.of(PoolKind.MAX, new long[] {1, 1, 4, 4}, 2, 2, 2, 2, 0, 0, false, true).toArray();
        assertEquals(-1, CudaNative.advc_emulate_pool2d_fwd(dt.code, geom, 4096, 16, 4096, 3, 0, 0));
        assertTrue(CudaNative.advc_last_error().contains("pool2d_fwd: output holds 3 elements but the op needs 4"),
                CudaNative.advc_last_error());
        Tensor gy = gauss(dt, 1, 1, 2, 2), gx = gauss(dt, 1, 1, 4, 4);
        double[] bad = {0, 1, 99, 2};
        Tensor idx = cpu.empty(dt, Shape.of(1, 1, 2, 2));
        cpu.copyFromHost(bad, idx);
        assertEquals(-1, CudaNative.advc_emulate_pool2d_bwd(dt.code, geom, gy.address(), 4, idx.address(), 4,
                gx.address(), 16));
        assertTrue(CudaNative.advc_last_error().contains("indices out of range"), CudaNative.advc_last_error());
    }
}
