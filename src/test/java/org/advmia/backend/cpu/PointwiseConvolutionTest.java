package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.backwardData;
import static org.advmia.backend.cpu.ConvRuns.forward;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.tensor.DType;
import org.junit.jupiter.api.Test;

/**
 * Pointwise (1x1, stride 1) convolutions run one GEMM per image in blocks of 128 pixel columns
 * (advmia_conv.h, pointwise_gemm). Forward (with bias) and backward-data against a float64 direct
 * sum, on planes of one block, several whole blocks (256 pixels), and whole blocks plus a partial
 * one (210 and 320 pixels), batch 1 (the blocks then run on the pool) and several images (the
 * images run on the pool, the blocks in sequence), channel counts off the vector width.
 *
 * <p>Tolerance: each output is one dot product of length n (C forward, Cout backward-data) plus the
 * bias; in float64 and float32 alike |computed - exact| <= gamma_{n+1} (sum |w||x| + |b|), gamma_k =
 * k u / (1 - k u), whatever order the GEMM sums in. A block written from the wrong columns, or a
 * partial block left out, gives errors of the order of the outputs (or NaN: ConvRuns fills the
 * outputs with NaN first).
 */
class PointwiseConvolutionTest {
    private static final int[][] SHAPES = {
        // n, c, h, w, cout
        {3, 20, 14, 15, 7},   // 210 pixels: one block and a partial one
        {1, 24, 16, 20, 9},   // 320 pixels, batch 1: two blocks and a partial one, on the pool
        {2, 5, 16, 16, 24},   // 256 pixels: two whole blocks; few input channels
        {4, 33, 8, 8, 3},     // 64 pixels: one partial block
    };

    @Test
    void forwardAndBackwardDataMatchTheDirectSumInEveryBlock() {
        for (int[] sh : SHAPES) {
            ConvGeometry g = new ConvGeometry(sh[0], sh[1], sh[2], sh[3], sh[4], 1, 1, 1, 1, 0, 0, 1, 1, 1);
            Random r = new Random(31L * sh[1] + sh[2]);
            double[] x = floats(r, (long) sh[0] * sh[1] * sh[2] * sh[3]);
            double[] w = floats(r, (long) sh[4] * sh[1]);
            double[] b = floats(r, sh[4]);
            double[] gy = floats(r, (long) sh[0] * sh[4] * sh[2] * sh[3]);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double u = dt == DType.FLOAT32 ? 0x1p-24 : 0x1p-53;
                check(g, "forward " + dt, forward(g, dt, x, w, b, ConvAlgorithm.AUTO), x, w, b, gy, false, u);
                check(g, "backward-data " + dt, backwardData(g, dt, gy, w, ConvAlgorithm.AUTO), x, w, b, gy, true, u);
            }
        }
    }

    private static void check(ConvGeometry g, String what, double[] got, double[] x, double[] w, double[] b,
            double[] gy, boolean backward, double u) {
        int n = (int) g.n(), c = (int) g.c(), co = (int) g.cout(), hw = (int) (g.h() * g.w());
        int inner = backward ? co : c, outer = backward ? c : co;
        double gamma = (inner + 1) * u / (1 - (inner + 1) * u);
        long checked = 0;
        for (int img = 0; img < n; img++)
            for (int o = 0; o < outer; o++)
                for (int p = 0; p < hw; p++) {
                    double exact = backward ? 0 : b[o], mag = backward ? 0 : Math.abs(b[o]);
                    for (int k = 0; k < inner; k++) {
                        double prod = backward ? w[k * c + o] * gy[(img * co + k) * hw + p]
                                : w[o * c + k] * x[(img * c + k) * hw + p];
                        exact += prod;
                        mag += Math.abs(prod);
                    }
                    double v = got[(img * outer + o) * hw + p], err = Math.abs(v - exact);
                    if (!(err <= gamma * mag))
                        throw new AssertionError(String.format("%s %dx%dx%dx%d -> %d: image %d channel %d pixel %d is %s,"
                                + " expected %s (error %.3g > bound %.3g)", what, n, c, g.h(), g.w(), co, img, o, p, v,
                                exact, err, gamma * mag));
                    checked++;
                }
        assertTrue(checked == (long) n * outer * hw && got.length == checked, what + ": " + checked + " of " + got.length);
    }

    private static double[] floats(Random r, long count) {
        double[] v = new double[(int) count];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
