package org.advmia.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.PoolKind;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The 2x2 / stride-2 max-pool forward (advmia_spatial.h, maxpool2x2_fwd: eight windows per step,
 * branchless, then a scalar tail) against the rule written out here: scan the window in row-major
 * order, a value replaces the current best if it is greater or NaN; the index is the position of
 * the last replacement within the plane. Exact comparison of values and indices (a max involves no
 * rounding), float32 and float64. Values come from {-1, 0, 1, 2} plus NaN and -inf, so ties,
 * all-negative windows and NaN in every window position occur; widths give 3 (tail only), 8
 * (exactly one vector step), 9, 17 output columns, and odd widths/heights leave an unused last
 * column/row.
 */
class MaxPoolFastPathTest {
    private final CpuBackend cpu = CpuBackend.get();

    @Test
    void matchesScalarRuleWithTiesNaNAndInfinities() {
        int[][] hw = {{4, 6}, {5, 16}, {4, 17}, {6, 18}, {3, 34}, {8, 35}};
        Random r = new Random(21);
        for (int[] s : hw) {
            int n = 2, c = 3, h = s[0], w = s[1], oh = h / 2, ow = w / 2;
            double[] x = new double[n * c * h * w];
            double[] pool = {-1, 0, 1, 2, Double.NaN, Double.NEGATIVE_INFINITY};
            for (int i = 0; i < x.length; i++) x[i] = r.nextInt(10) < 8 ? pool[r.nextInt(4)] : pool[4 + r.nextInt(2)];
            double[] wantY = new double[n * c * oh * ow], wantI = new double[wantY.length];
            for (int p = 0; p < n * c; p++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        int bi = 2 * i * w + 2 * j;
                        double best = x[p * h * w + bi];
                        for (int q = 1; q < 4; q++) {
                            int at = (2 * i + q / 2) * w + 2 * j + q % 2;
                            double v = x[p * h * w + at];
                            if (v > best || Double.isNaN(v)) {
                                best = v;
                                bi = at;
                            }
                        }
                        wantY[(p * oh + i) * ow + j] = best;
                        wantI[(p * oh + i) * ow + j] = bi;
                    }
            PoolGeometry g = new PoolGeometry(PoolKind.MAX, n, c, h, w, 2, 2, 2, 2, 0, 0, oh, ow, false);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                try (MemoryScope sc = MemoryScope.open()) {
                    Tensor xt = cpu.empty(dt, Shape.of(n, c, h, w));
                    cpu.copyFromHost(x, xt);
                    Tensor y = cpu.empty(dt, Shape.of(n, c, oh, ow)), idx = cpu.empty(dt, Shape.of(n, c, oh, ow));
                    cpu.fill(y, 12345);
                    cpu.fill(idx, -7);
                    cpu.pool2d(g, xt, y, idx);
                    double[] gotY = new double[wantY.length], gotI = new double[wantI.length];
                    cpu.copyToHost(y, gotY);
                    cpu.copyToHost(idx, gotI);
                    for (int i = 0; i < gotY.length; i++) {
                        String at = h + "x" + w + " " + dt + " output " + i;
                        assertEquals(wantY[i], gotY[i], 0.0, at + " value");  // assertEquals treats NaN == NaN
                        assertEquals(wantI[i], gotI[i], 0.0, at + " index");
                    }
                }
            }
        }
    }

    /**
     * The 2x2 / stride-2 backward against the scatter rule written out here: a zero plane, then
     * gx[idx] += gy. Compared bit for bit (doubleToLongBits), so a -0 gradient must come out as
     * 0 + (-0) = +0; gy also holds NaN and infinities. Indices come from the forward, except in one
     * plane where one index is moved into a neighbouring window and one to a position that no window
     * of an odd height reads (the gradients of two windows then meet at one position). Widths and
     * heights as in the forward test; gx is filled with garbage beforehand. (A one-pass kernel that
     * writes each window's four positions instead of zero-filling and scattering was tried against
     * this test and measured no faster: see benchmarks/README.md.)
     */
    @Test
    void backwardMatchesScatterRule() {
        int[][] hw = {{4, 6}, {5, 16}, {4, 17}, {6, 18}, {3, 34}, {8, 35}};
        Random r = new Random(22);
        for (int[] s : hw) {
            int n = 2, c = 3, h = s[0], w = s[1], oh = h / 2, ow = w / 2, planes = n * c;
            double[] gy = new double[planes * oh * ow], idx = new double[gy.length];
            double[] special = {-0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
            for (int i = 0; i < gy.length; i++)
                gy[i] = r.nextInt(10) < 7 ? r.nextInt(7) - 3 + 0.25 : special[r.nextInt(special.length)];
            for (int p = 0; p < planes; p++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        int q = r.nextInt(4);
                        idx[(p * oh + i) * ow + j] = (2 * i + q / 2) * w + 2 * j + q % 2;
                    }
            // Plane 4: an index in the next window's column, and one in the last row (no window of
            // an odd height reads it; with an even height, the last row of the last window).
            int moved = 4 * oh * ow;
            idx[moved] = 2;
            idx[moved + ow - 1] = (h - 1) * w;
            double[] want = new double[planes * h * w];
            for (int p = 0; p < planes; p++)
                for (int o = 0; o < oh * ow; o++) want[p * h * w + (int) idx[p * oh * ow + o]] += gy[p * oh * ow + o];
            PoolGeometry g = new PoolGeometry(PoolKind.MAX, n, c, h, w, 2, 2, 2, 2, 0, 0, oh, ow, false);
            for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                try (MemoryScope sc = MemoryScope.open()) {
                    Tensor gyt = cpu.empty(dt, Shape.of(n, c, oh, ow)), it = cpu.empty(dt, Shape.of(n, c, oh, ow));
                    cpu.copyFromHost(gy, gyt);
                    cpu.copyFromHost(idx, it);
                    Tensor gx = cpu.empty(dt, Shape.of(n, c, h, w));
                    cpu.fill(gx, 777);
                    cpu.pool2dBackward(g, gyt, it, gx);
                    double[] got = new double[want.length];
                    cpu.copyToHost(gx, got);
                    for (int i = 0; i < got.length; i++) {
                        // float32 rounds the sums of the moved plane; the inputs are exact in both.
                        double expect = dt == DType.FLOAT32 ? (double) (float) want[i] : want[i];
                        assertEquals(Double.doubleToLongBits(expect), Double.doubleToLongBits(got[i]),
                                h + "x" + w + " " + dt + " gradient " + i + ": want " + expect + ", got " + got[i]);
                    }
                }
            }
        }
    }
}
