package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.host;
import static org.advmia.backend.cpu.ConvRuns.nan;
import static org.advmia.backend.cpu.ConvRuns.tensor;
import static org.advmia.backend.cpu.WinogradConvolutionTest.CASES;
import static org.advmia.backend.cpu.WinogradConvolutionTest.assertWithin;
import static org.advmia.backend.cpu.WinogradConvolutionTest.backwardDataReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.backwardFilterReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.forwardReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.im2colBound;
import static org.advmia.backend.cpu.WinogradConvolutionTest.roundToFloat;
import static org.advmia.backend.cpu.WinogradConvolutionTest.unitRoundoff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
 * The convolution with a ReLU fused into its input (CpuBackend.conv2dReluInput and its two
 * backward ops; advmia_conv.h / advmia_winograd.h): y = conv(relu(x)) + b, gx = conv^T(gy) where
 * x > 0 and 0 elsewhere, gw = the filter gradient of conv(relu(x)).
 *
 * <p>Two kinds of check, in float32 and float64, on both the Winograd path (the ReLU applied to
 * the split input rows, the mask to each tile row of the input gradient) and the im2col path (a
 * rectified copy of x, a masking pass):
 * <ul>
 *   <li>against a float64 direct convolution of relu(x) written in the test (the references of
 *       WinogradConvolutionTest), over its nine shape classes (partial tiles, padding 0/1/2 and
 *       asymmetric, batch 1, channel counts off the 8 lanes, 1 to 20 tiles per row, several
 *       chunks). Tolerance: the same first-order rounding bounds as WinogradConvolutionTest
 *       (Winograd's per-output bound evaluated on relu(x); im2col's gamma_{9C+1} sum |w| |x|),
 *       since relu is exact and adds no rounding; where x <= 0 the input gradient must be exactly
 *       0 (bound 0).</li>
 *   <li>bit-identical to the unfused ops applied to relu(x) computed in the test (and to the
 *       unfused input gradient masked in the test): the fused kernels do the same float operations
 *       in the same order, so any difference is a bug. This runs also on geometries only the im2col
 *       / depthwise kernels take (stride 2, 5x5, groups, depthwise, 1x1).</li>
 * </ul>
 * The inputs contain exact zeros, so relu'(0) = 0 (PyTorch's convention) is checked.
 */
class ReluConvolutionTest {
    private final CpuBackend cpu = CpuBackend.get();
    private static final ConvAlgorithm[] ALGOS = {ConvAlgorithm.WINOGRAD, ConvAlgorithm.WINOGRAD4, ConvAlgorithm.IM2COL};

    /** Gaussian values with about one in eight set to exactly 0 (the ReLU's kink). */
    private static double[] input(Random r, long count) {
        double[] v = new double[Math.toIntExact(count)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextInt(8) == 0 ? 0 : r.nextGaussian();
        return v;
    }

    private static double[] relu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
        return out;
    }

    @Test
    void forwardMatchesFloat64ReferenceOfReluInput() {
        for (Case k : CASES) {
            Random r = new Random(k.name().hashCode());
            ConvGeometry g = k.geometry();
            double[] x = input(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] w = input(r, (long) k.cout() * k.c() * 9);
            double[] b = k.bias() ? input(r, k.cout()) : null;
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    w = roundToFloat(w);
                    if (b != null) b = roundToFloat(b);
                }
                double[] rx = relu(x);
                Reference ref = forwardReference(g, rx, w, b);
                for (ConvAlgorithm algo : ALGOS) {
                    double[] fused = run(g, dt, algo, Op.FWD, x, w, b, null);
                    WinogradBounds v = WinogradBounds.of(algo);
                    double[] bound = v != null ? v.forward(g, rx, w, b, unitRoundoff(dt))
                            : im2colBound(ref.absSum(), g.c(), b, g.outH() * g.outW(), g.cout(), unitRoundoff(dt));
                    String what = k.name() + " relu-conv forward " + dt + " " + algo;
                    assertWithin(what + " vs float64", fused, ref.value(), bound, null);
                    assertArrayEquals(run(g, dt, algo, Op.PLAIN_FWD, rx, w, b, null), fused, 0.0, what + " vs unfused");
                }
            }
        }
    }

    /** CASES and a shape whose F(4x4) backward-data runs as the adjoint of the forward tiles (masked there per plane). */
    private static final Case[] MASK_CASES = java.util.stream.Stream.concat(java.util.Arrays.stream(CASES),
            java.util.stream.Stream.of(new Case("F4 adjoint class", 2, 16, 10, 10, 24, 0, 0, true))).toArray(Case[]::new);

    @Test
    void backwardDataMatchesFloat64ReferenceMasked() {
        for (Case k : MASK_CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(31 * k.name().hashCode());
            double[] x = input(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] gy = input(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            double[] w = input(r, (long) k.cout() * k.c() * 9);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    gy = roundToFloat(gy);
                    w = roundToFloat(w);
                }
                Reference ref = backwardDataReference(g, gy, w);
                double[] want = ref.value().clone();
                for (int i = 0; i < want.length; i++) if (!(x[i] > 0)) want[i] = 0;
                for (ConvAlgorithm algo : ALGOS) {
                    double[] fused = run(g, dt, algo, Op.BWD_DATA, gy, w, null, x);
                    WinogradBounds v = WinogradBounds.of(algo);
                    double[] bound = v != null ? v.backwardData(g, gy, w, unitRoundoff(dt))
                            : im2colBound(ref.absSum(), g.cout(), null, g.h() * g.w(), g.c(), unitRoundoff(dt));
                    for (int i = 0; i < bound.length; i++) if (!(x[i] > 0)) bound[i] = 0;  // exactly zero there
                    String what = k.name() + " relu-conv backward-data " + dt + " " + algo;
                    assertWithin(what + " vs float64", fused, want, bound, null);
                    double[] plain = run(g, dt, algo, Op.PLAIN_BWD_DATA, gy, w, null, null);
                    for (int i = 0; i < plain.length; i++) if (!(x[i] > 0)) plain[i] = 0;
                    assertArrayEquals(plain, fused, 0.0, what + " vs unfused");
                }
            }
        }
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceOfReluInput() {
        for (Case k : CASES) {
            ConvGeometry g = k.geometry();
            Random r = new Random(17 * k.name().hashCode());
            double[] x = input(r, (long) k.n() * k.c() * k.h() * k.w());
            double[] gy = input(r, (long) k.n() * k.cout() * g.outH() * g.outW());
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                if (dt == DType.FLOAT32) {
                    x = roundToFloat(x);
                    gy = roundToFloat(gy);
                }
                double[] rx = relu(x);
                Reference ref = backwardFilterReference(g, rx, gy);
                for (ConvAlgorithm algo : ALGOS) {
                    double[] fused = run(g, dt, algo, Op.BWD_FILTER, x, gy, null, null);
                    WinogradBounds v = WinogradBounds.of(algo);
                    double[] bound = v != null ? v.backwardFilter(g, rx, gy, unitRoundoff(dt))
                            : im2colBound(ref.absSum(), g.n() * g.outH() * g.outW() / 9.0, null, 1, 1,
                                    unitRoundoff(dt));
                    String what = k.name() + " relu-conv backward-filter " + dt + " " + algo;
                    assertWithin(what + " vs float64", fused, ref.value(), bound, null);
                    assertArrayEquals(run(g, dt, algo, Op.PLAIN_BWD_FILTER, rx, gy, null, null), fused, 0.0,
                            what + " vs unfused");
                }
            }
        }
    }

    /** Geometries the Winograd path does not take: the fused ops fall back to a rectified copy / a mask pass. */
    @Test
    void otherGeometriesEqualUnfusedOpsOnReluInput() {
        ConvGeometry[] gs = {
            new ConvGeometry(2, 3, 9, 11, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1),    // stride 2
            new ConvGeometry(2, 4, 8, 8, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1),     // 5x5
            new ConvGeometry(3, 4, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, 2),     // groups 2
            new ConvGeometry(2, 6, 7, 9, 6, 3, 3, 1, 1, 1, 1, 1, 1, 6),     // depthwise
            new ConvGeometry(2, 5, 6, 6, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1),     // 1x1
            new ConvGeometry(128, 1, 28, 28, 32, 3, 3, 1, 1, 0, 0, 1, 1, 1), // SmallCNN conv1 (AUTO: im2col)
        };
        Random r = new Random(5);
        for (ConvGeometry g : gs) {
            long wn = g.cout() * (g.c() / g.groups()) * g.kh() * g.kw();
            double[] x = roundToFloat(input(r, g.n() * g.c() * g.h() * g.w()));
            double[] w = roundToFloat(input(r, wn));
            double[] b = roundToFloat(input(r, g.cout()));
            double[] gy = roundToFloat(input(r, g.n() * g.cout() * g.outH() * g.outW()));
            double[] rx = relu(x);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                String what = g + " " + dt;
                assertArrayEquals(run(g, dt, ConvAlgorithm.AUTO, Op.PLAIN_FWD, rx, w, b, null),
                        run(g, dt, ConvAlgorithm.AUTO, Op.FWD, x, w, b, null), 0.0, what + " forward");
                double[] plain = run(g, dt, ConvAlgorithm.AUTO, Op.PLAIN_BWD_DATA, gy, w, null, null);
                for (int i = 0; i < plain.length; i++) if (!(x[i] > 0)) plain[i] = 0;
                assertArrayEquals(plain, run(g, dt, ConvAlgorithm.AUTO, Op.BWD_DATA, gy, w, null, x), 0.0,
                        what + " backward-data");
                assertArrayEquals(run(g, dt, ConvAlgorithm.AUTO, Op.PLAIN_BWD_FILTER, rx, gy, null, null),
                        run(g, dt, ConvAlgorithm.AUTO, Op.BWD_FILTER, x, gy, null, null), 0.0,
                        what + " backward-filter");
            }
        }
    }

    /** The bias gradient does not depend on the ReLU; the fused op computes it like the plain one. */
    @Test
    void biasGradientEqualsPlainOne() {
        ConvGeometry g = CASES[CASES.length - 1].geometry();
        Random r = new Random(3);
        double[] x = input(r, g.n() * g.c() * g.h() * g.w());
        double[] gy = input(r, g.n() * g.cout() * g.outH() * g.outW());
        try (MemoryScope s = MemoryScope.open()) {
            Tensor xt = tensor(DType.FLOAT64, x, g.inputShape()), gyt = tensor(DType.FLOAT64, gy, g.outputShape());
            Tensor gb1 = cpu.empty(DType.FLOAT64, Shape.of(g.cout())), gb2 = cpu.empty(DType.FLOAT64, Shape.of(g.cout()));
            cpu.fill(gb1, Double.NaN);
            cpu.fill(gb2, Double.NaN);
            cpu.conv2dReluInputBackwardFilter(g, xt, gyt, null, gb1);
            cpu.conv2dBackwardFilter(g, xt, gyt, null, gb2);
            assertArrayEquals(host(gb2), host(gb1), 0.0);
        }
    }

    /** The Java checks and the native ones reject a mask (x) of the wrong size before touching memory. */
    @Test
    void rejectsWrongShapes() {
        ConvGeometry g = new ConvGeometry(2, 16, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gy = cpu.empty(DType.FLOAT32, Shape.of(g.outputShape()));
            Tensor w = cpu.empty(DType.FLOAT32, Shape.of(g.weightShape()));
            Tensor gx = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
            Tensor smallX = cpu.empty(DType.FLOAT32, Shape.of(1, 16, 6, 6));
            assertThrows(IllegalArgumentException.class, () -> cpu.conv2dReluInputBackwardData(g, gy, w, smallX, gx));
            long[] geom = g.toArray();
            int rc = CpuNative.adv_conv2d_relu_bwd_data(0, 0, geom, gy.address(), gy.numel(), w.address(), w.numel(),
                    smallX.address(), smallX.numel(), gx.address(), gx.numel());
            assertEquals(-1, rc);
            int rc0 = CpuNative.adv_conv2d_relu_bwd_data(0, 0, geom, gy.address(), gy.numel(), w.address(), w.numel(),
                    0, 0, gx.address(), gx.numel());
            assertEquals(-1, rc0, "a null input (mask) must be rejected");
        }
    }

    // ---- running the backend -------------------------------------------------------------------

    private enum Op { FWD, BWD_DATA, BWD_FILTER, PLAIN_FWD, PLAIN_BWD_DATA, PLAIN_BWD_FILTER }

    /**
     * FWD / PLAIN_FWD: (x=a, w=b2, bias); BWD_DATA / PLAIN_BWD_DATA: (gy=a, w=b2, mask x);
     * BWD_FILTER / PLAIN_BWD_FILTER: (x=a, gy=b2). Outputs are pre-filled with NaN, so an element
     * the kernel does not write fails the comparison.
     */
    private double[] run(ConvGeometry g, DType dt, ConvAlgorithm algo, Op op, double[] a, double[] b2, double[] bias,
                         double[] mask) {
        try (MemoryScope s = MemoryScope.open()) {
            switch (op) {
                case FWD, PLAIN_FWD -> {
                    Tensor xt = tensor(dt, a, g.inputShape()), wt = tensor(dt, b2, g.weightShape());
                    Tensor bt = bias == null ? null : tensor(dt, bias, new long[] {g.cout()});
                    Tensor y = nan(dt, g.outputShape());
                    if (op == Op.FWD) cpu.conv2dReluInput(g, xt, wt, bt, y, algo);
                    else cpu.conv2d(g, xt, wt, bt, y, algo);
                    return host(y);
                }
                case BWD_DATA, PLAIN_BWD_DATA -> {
                    Tensor gyt = tensor(dt, a, g.outputShape()), wt = tensor(dt, b2, g.weightShape());
                    Tensor gx = nan(dt, g.inputShape());
                    if (op == Op.BWD_DATA) cpu.conv2dReluInputBackwardData(g, gyt, wt, tensor(dt, mask, g.inputShape()), gx, algo);
                    else cpu.conv2dBackwardData(g, gyt, wt, gx, algo);
                    return host(gx);
                }
                default -> {
                    Tensor xt = tensor(dt, a, g.inputShape()), gyt = tensor(dt, b2, g.outputShape());
                    Tensor gw = nan(dt, g.weightShape());
                    if (op == Op.BWD_FILTER) cpu.conv2dReluInputBackwardFilter(g, xt, gyt, gw, null, algo);
                    else cpu.conv2dBackwardFilter(g, xt, gyt, gw, null, algo);
                    return host(gw);
                }
            }
        }
    }
}
