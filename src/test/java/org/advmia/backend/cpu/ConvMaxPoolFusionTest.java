package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.host;
import static org.advmia.backend.cpu.ConvRuns.nan;
import static org.advmia.backend.cpu.ConvRuns.tensor;
import static org.advmia.backend.cpu.WinogradConvolutionTest.forwardReference;
import static org.advmia.backend.cpu.WinogradConvolutionTest.im2colBound;
import static org.advmia.backend.cpu.WinogradConvolutionTest.roundToFloat;
import static org.advmia.backend.cpu.WinogradConvolutionTest.unitRoundoff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.backend.Backend;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.backend.cpu.WinogradConvolutionTest.Reference;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The convolution with a 2x2 / stride-2 max-pool fused into it (CpuBackend.conv2dMaxPool2;
 * advmia_winograd.h wino_output_pool_tiles and advmia_winograd4.h wino4_output_pool_tiles take each
 * pool window's max in the output transform),
 * with and without the fused input ReLU, on the Winograd and the im2col paths, float32 and float64.
 *
 * <ul>
 *   <li>Against a float64 direct convolution written in the test (WinogradConvolutionTest's
 *       reference), of relu(x) where the ReLU is fused: each pooled output's index must lie in its
 *       window, its value must be within the convolution's rounding bound of the reference at that
 *       index (Winograd's per-output first-order bound, or im2col's gamma_{9C+1} sum |w||x|; see
 *       WinogradConvolutionTest), and no other element of the window may exceed it by more than
 *       the two bounds together (a wrong max).</li>
 *   <li>Bit-identical, values and indices, to the convolution followed by the separate max-pool
 *       (the same float operations; the pool scans in the same order with the same NaN rule).</li>
 * </ul>
 * Shapes: even outputs from 2x2 (one pooled pixel) to 26x26 (13 tiles per row: a partial group of
 * the 8 vector lanes), padding 0/1/2 and asymmetric, channel counts off the lanes, batch 1, and
 * SmallCNN's conv2 and conv4; for F(4x4) (4 pool windows per tile) also outputs that are 2 mod 4
 * (the last tile row or column holds only one window row or column) and rows of 16 tiles (the
 * whole-vector store); odd outputs are rejected.
 */
class ConvMaxPoolFusionTest {
    private final CpuBackend cpu = CpuBackend.get();

    private static final ConvGeometry[] SHAPES = {
        geom(2, 16, 10, 10, 24, 0, 0),
        geom(1, 8, 12, 12, 8, 1, 1),
        geom(3, 5, 10, 20, 3, 1, 1),
        geom(2, 12, 8, 6, 10, 1, 0),
        geom(2, 4, 4, 4, 6, 2, 2),
        geom(3, 9, 4, 4, 7, 0, 0),
        geom(2, 16, 28, 28, 16, 0, 0),
        geom(5, 32, 26, 26, 32, 0, 0),
        geom(4, 64, 10, 10, 64, 0, 0),
        geom(1, 3, 66, 66, 2, 0, 0),
        geom(1, 2, 70, 72, 3, 1, 0),
    };

    private static ConvGeometry geom(int n, int c, int h, int w, int cout, int ph, int pw) {
        return new ConvGeometry(n, c, h, w, cout, 3, 3, 1, 1, ph, pw, 1, 1, 1);
    }

    @Test
    void matchesFloat64ReferenceAndUnfusedOps() {
        Random r = new Random(2);
        for (ConvGeometry g : SHAPES) {
            double[] x = roundToFloat(gaussians(r, g.n() * g.c() * g.h() * g.w()));
            double[] w = roundToFloat(gaussians(r, g.cout() * g.c() * 9));
            double[] b = roundToFloat(gaussians(r, g.cout()));
            PoolGeometry pg = Backend.maxPool2Geometry(g);
            int ph = (int) pg.outH(), pw = (int) pg.outW(), oh = (int) g.outH(), ow = (int) g.outW();
            for (boolean relu : new boolean[] {false, true}) {
                double[] in = relu ? relu(x) : x;
                Reference ref = forwardReference(g, in, w, b);
                for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                    for (ConvAlgorithm algo : new ConvAlgorithm[] {ConvAlgorithm.WINOGRAD, ConvAlgorithm.WINOGRAD4,
                            ConvAlgorithm.IM2COL}) {
                        String what = g + " relu=" + relu + " " + dt + " " + algo;
                        double[][] fused = fused(g, relu, dt, algo, x, w, b);
                        double[][] plain = unfused(g, relu, dt, algo, x, w, b);
                        assertArrayEquals(plain[0], fused[0], 0.0, what + ": values vs unfused");
                        assertArrayEquals(plain[1], fused[1], 0.0, what + ": indices vs unfused");
                        WinogradBounds v = WinogradBounds.of(algo);
                        double[] bound = v != null ? v.forward(g, in, w, b, unitRoundoff(dt))
                                : im2colBound(ref.absSum(), g.c(), b, (long) oh * ow, g.cout(), unitRoundoff(dt));
                        for (int p = 0; p < g.n() * g.cout(); p++)
                            for (int i = 0; i < ph; i++)
                                for (int j = 0; j < pw; j++) {
                                    int o = (p * ph + i) * pw + j;
                                    int idx = (int) fused[1][o];
                                    int ii = idx / ow, jj = idx % ow;
                                    assertTrue(fused[1][o] == idx && ii / 2 == i && jj / 2 == j,
                                            what + ": index " + fused[1][o] + " of output " + o + " outside its window");
                                    int at = p * oh * ow + idx;
                                    assertTrue(Math.abs(fused[0][o] - ref.value()[at]) <= bound[at],
                                            what + ": output " + o + " is " + fused[0][o] + ", reference " + ref.value()[at]);
                                    for (int q = 0; q < 4; q++) {
                                        int e = p * oh * ow + (2 * i + q / 2) * ow + 2 * j + q % 2;
                                        assertTrue(ref.value()[e] - bound[e] <= fused[0][o] + bound[at],
                                                what + ": output " + o + " = " + fused[0][o] + " is not its window's max ("
                                                        + ref.value()[e] + ")");
                                    }
                                }
                    }
                }
            }
        }
    }

    @Test
    void rejectsOddOutputsAndWrongShapes() {
        ConvGeometry odd = geom(1, 16, 7, 8, 16, 0, 0);  // 5x6 output
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = cpu.empty(DType.FLOAT32, Shape.of(odd.inputShape()));
            Tensor w = cpu.empty(DType.FLOAT32, Shape.of(odd.weightShape()));
            Tensor y = cpu.empty(DType.FLOAT32, Shape.of(1, 16, 2, 3)), idx = cpu.empty(DType.FLOAT32, Shape.of(1, 16, 2, 3));
            assertThrows(IllegalArgumentException.class, () -> cpu.conv2dMaxPool2(odd, false, x, w, null, y, idx));
            int rc = CpuNative.adv_conv2d_pool_fwd(0, 0, 0, odd.toArray(), x.address(), x.numel(), w.address(), w.numel(),
                    0, 0, y.address(), y.numel(), idx.address(), idx.numel());
            assertEquals(-1, rc, "odd output must be rejected natively");
            ConvGeometry g = geom(1, 16, 8, 8, 16, 0, 0);  // 6x6 -> 3x3
            Tensor x2 = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
            Tensor small = cpu.empty(DType.FLOAT32, Shape.of(1, 16, 2, 3));
            int rc2 = CpuNative.adv_conv2d_pool_fwd(0, 0, 0, g.toArray(), x2.address(), x2.numel(), w.address(),
                    w.numel(), 0, 0, small.address(), small.numel(), small.address(), small.numel());
            assertEquals(-1, rc2, "an output buffer too small for 3x3 pooled planes must be rejected natively");
        }
    }

    private double[][] fused(ConvGeometry g, boolean relu, DType dt, ConvAlgorithm algo, double[] x, double[] w,
                             double[] b) {
        try (MemoryScope s = MemoryScope.open()) {
            PoolGeometry pg = Backend.maxPool2Geometry(g);
            Tensor y = nan(dt, pg.outputShape()), idx = nan(dt, pg.outputShape());
            cpu.conv2dMaxPool2(g, relu, tensor(dt, x, g.inputShape()), tensor(dt, w, g.weightShape()),
                    tensor(dt, b, new long[] {g.cout()}), y, idx, algo);
            return new double[][] {host(y), host(idx)};
        }
    }

    private double[][] unfused(ConvGeometry g, boolean relu, DType dt, ConvAlgorithm algo, double[] x, double[] w,
                               double[] b) {
        try (MemoryScope s = MemoryScope.open()) {
            PoolGeometry pg = Backend.maxPool2Geometry(g);
            Tensor c = nan(dt, g.outputShape()), y = nan(dt, pg.outputShape()), idx = nan(dt, pg.outputShape());
            cpu.conv2d(g, tensor(dt, relu ? relu(x) : x, g.inputShape()), tensor(dt, w, g.weightShape()),
                    tensor(dt, b, new long[] {g.cout()}), c, algo);
            cpu.pool2d(pg, c, y, idx);
            return new double[][] {host(y), host(idx)};
        }
    }

    private static double[] relu(double[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
        return out;
    }

    private static double[] gaussians(Random r, long n) {
        double[] v = new double[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }
}
