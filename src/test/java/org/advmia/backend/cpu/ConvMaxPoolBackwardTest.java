package org.advmia.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.backend.Backend;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The fused backward of conv + 2x2 max-pool (CpuBackend.conv2dMaxPool2Backward; advmia_conv.h
 * conv_pool_bwd_impl: the pool's scatter and the convolution's backward passes a chunk of images
 * at a time) against the same ops in sequence over the whole batch (pool2dBackward into the
 * convolution's full output gradient, then backward-data and backward-filter), which is
 * Backend's default. Both run the same algorithm on the same numbers; they differ only in how the
 * batch is cut (the GEMMs' shapes, so their accumulation order, and the order in which the
 * filter and bias gradients sum over images). So:
 *
 * <ul>
 *   <li>float64: |fused - sequence| <= 1e-10 max|sequence| per gradient. Each result is within
 *       ~K u64 |terms| of the exact one (K <= 9 * 16 * 70 terms per output here, u64 = 1.1e-16, and
 *       Winograd's transforms scale terms by at most ~100): ~1e-11 of the largest output at worst,
 *       so 1e-10 holds with margin, while any indexing or chunking bug is of the order of the
 *       outputs themselves.</li>
 *   <li>float32: the same with 5e-5: F(4x4)'s float32 error was measured up to 1.2e-5 of the
 *       largest output (benchmarks/README.md, "Winograd F(4x4, 3x3)"), and two results each within
 *       that differ by at most twice it; the sums over up to 70 images add u32 * 70 = 8e-6.</li>
 * </ul>
 * Shapes: batches cut into several chunks of two sizes (70 images of 8 x 16 x 16 outputs, at most
 * 64 (float32) or 32 (float64) per chunk, each thread's equal share cut into near-equal chunks:
 * with 2 threads 35 + 35 in float32, 17 + 18 + 17 + 18 in float64), one chunk, batch 1, padding
 * 0/1, odd channel counts; with and without the fused input ReLU; AUTO, im2col and Winograd; every
 * subset of the gradients. Indices come from the fused forward; the bias gradient is checked as
 * well.
 */
class ConvMaxPoolBackwardTest {
    private final CpuBackend cpu = CpuBackend.get();

    private static final ConvGeometry[] SHAPES = {
        geom(70, 3, 18, 18, 8, 0),
        geom(70, 16, 16, 16, 8, 1),
        geom(5, 9, 12, 10, 7, 1),
        geom(1, 16, 10, 10, 16, 0),
    };

    private static ConvGeometry geom(int n, int c, int h, int w, int cout, int pad) {
        return new ConvGeometry(n, c, h, w, cout, 3, 3, 1, 1, pad, pad, 1, 1, 1);
    }

    @Test
    void matchesPoolBackwardThenConvolutionBackward() {
        Random r = new Random(31);
        for (ConvGeometry g : SHAPES) {
            PoolGeometry pg = Backend.maxPool2Geometry(g);
            double[] x = gaussians(r, g.n() * g.c() * g.h() * g.w());
            double[] w = gaussians(r, g.cout() * g.c() * 9);
            double[] b = gaussians(r, g.cout());
            double[] gy = gaussians(r, g.n() * g.cout() * (g.outH() / 2) * (g.outW() / 2));
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double tol = dt == DType.FLOAT64 ? 1e-10 : 5e-5;
                for (ConvAlgorithm algo : ConvAlgorithm.values()) {
                    for (boolean relu : new boolean[] {false, true}) {
                        for (int mask = 1; mask < 8; mask++) {
                            String at = g + " " + dt + " " + algo + (relu ? " relu" : "") + " grads " + mask;
                            compare(g, pg, dt, algo, relu, x, w, b, gy, (mask & 1) != 0, (mask & 2) != 0,
                                    (mask & 4) != 0, tol, at);
                        }
                    }
                }
            }
        }
    }

    private void compare(ConvGeometry g, PoolGeometry pg, DType dt, ConvAlgorithm algo, boolean relu, double[] x,
                         double[] w, double[] b, double[] gy, boolean wantX, boolean wantW, boolean wantB, double tol,
                         String at) {
        try (MemoryScope sc = MemoryScope.open()) {
            Tensor xt = tensor(dt, x, g.inputShape()), wt = tensor(dt, w, g.weightShape());
            Tensor bt = tensor(dt, b, new long[] {g.cout()}), gyt = tensor(dt, gy, pg.outputShape());
            Tensor y = cpu.empty(dt, Shape.of(pg.outputShape())), idx = cpu.empty(dt, Shape.of(pg.outputShape()));
            cpu.conv2dMaxPool2(g, relu, xt, wt, bt, y, idx, algo);

            Tensor gc = cpu.empty(dt, Shape.of(g.outputShape()));
            cpu.pool2dBackward(pg, gyt, idx, gc);
            Tensor gxRef = cpu.empty(dt, Shape.of(g.inputShape())), gwRef = cpu.empty(dt, Shape.of(g.weightShape()));
            Tensor gbRef = cpu.empty(dt, Shape.of(g.cout()));
            if (relu) {
                cpu.conv2dReluInputBackwardData(g, gc, wt, xt, gxRef, algo);
                cpu.conv2dReluInputBackwardFilter(g, xt, gc, gwRef, gbRef, algo);
            } else {
                cpu.conv2dBackwardData(g, gc, wt, gxRef, algo);
                cpu.conv2dBackwardFilter(g, xt, gc, gwRef, gbRef, algo);
            }

            Tensor gx = wantX ? filled(dt, g.inputShape()) : null;
            Tensor gw = wantW ? filled(dt, g.weightShape()) : null;
            Tensor gb = wantB ? filled(dt, new long[] {g.cout()}) : null;
            cpu.conv2dMaxPool2Backward(g, relu, xt, wt, gyt, idx, gx, gw, gb, algo);
            if (gx != null) assertClose(gxRef, gx, tol, at + " input gradient");
            if (gw != null) assertClose(gwRef, gw, tol, at + " weight gradient");
            if (gb != null) assertClose(gbRef, gb, tol, at + " bias gradient");
        }
    }

    @Test
    void rejectsIndicesOutsideThePlaneAndWrongShapes() {
        ConvGeometry g = geom(3, 4, 10, 10, 5, 0);
        PoolGeometry pg = Backend.maxPool2Geometry(g);
        try (MemoryScope sc = MemoryScope.open()) {
            Tensor x = filled(DType.FLOAT32, g.inputShape()), w = filled(DType.FLOAT32, g.weightShape());
            Tensor gy = filled(DType.FLOAT32, pg.outputShape()), idx = cpu.empty(DType.FLOAT32, Shape.of(pg.outputShape()));
            Tensor gx = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
            cpu.fill(idx, g.outH() * g.outW());  // one past the plane
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> cpu.conv2dMaxPool2Backward(g, false, x, w, gy, idx, gx, null, null));
            assertTrue(e.getMessage().contains("indices out of range"), e.getMessage());
            Tensor wrong = cpu.empty(DType.FLOAT32, Shape.of(g.inputShape()));
            e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.conv2dMaxPool2Backward(g, false, x, w, wrong, idx, gx, null, null));
            assertTrue(e.getMessage().contains("output gradient"), e.getMessage());
            Tensor x64 = filled(DType.FLOAT64, g.inputShape());
            e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.conv2dMaxPool2Backward(g, false, x64, w, gy, idx, gx, null, null));
            assertTrue(e.getMessage().contains("dtype"), e.getMessage());
        }
    }

    private Tensor tensor(DType dt, double[] v, long[] shape) {
        Tensor t = cpu.empty(dt, Shape.of(shape));
        cpu.copyFromHost(v, t);
        return t;
    }

    /** Filled with a value no gradient here takes, so that an element left unwritten shows. */
    private Tensor filled(DType dt, long[] shape) {
        Tensor t = cpu.empty(dt, Shape.of(shape));
        cpu.fill(t, 12345);
        return t;
    }

    private void assertClose(Tensor want, Tensor got, double tol, String at) {
        double[] a = new double[(int) want.numel()], c = new double[(int) got.numel()];
        cpu.copyToHost(want, a);
        cpu.copyToHost(got, c);
        double max = 0;
        for (double v : a) max = Math.max(max, Math.abs(v));
        assertTrue(max > 0, at + ": the reference gradient is all zero, so this case checks nothing");
        for (int i = 0; i < a.length; i++)
            assertEquals(a[i], c[i], tol * max, at + " element " + i);
    }

    private static double[] gaussians(Random r, long n) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        return v;
    }
}
