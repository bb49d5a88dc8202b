package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.ConvRuns.backwardData;
import static org.advmia.backend.cpu.ConvRuns.backwardFilter;
import static org.advmia.backend.cpu.ConvRuns.forward;
import static org.advmia.backend.cpu.WinogradConvolutionTest.checkBackwardData;
import static org.advmia.backend.cpu.WinogradConvolutionTest.checkBackwardFilter;
import static org.advmia.backend.cpu.WinogradConvolutionTest.checkForward;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.backend.cpu.WinogradConvolutionTest.Case;
import org.advmia.backend.cpu.WinogradConvolutionTest.Inputs;
import org.advmia.backend.cpu.WinogradConvolutionTest.Reference;
import org.advmia.tensor.DType;
import org.junit.jupiter.api.Test;

/**
 * The Winograd F(4x4,3x3) path (advmia_winograd4.h, ConvAlgorithm.WINOGRAD4) against the float64
 * direct convolution and the im2col path, forward, backward-data and backward-filter, on
 * WinogradConvolutionTest's shape classes plus the edges of 4x4 tiles: output sizes 1, 2, 3, 5, 6,
 * 7 (and 8, 9: one full tile plus a partial one), padding 0, 1, 2, one channel, batch 1, channel
 * counts off the 8 lanes, narrow rows (fewer than 8 tiles) and rows of more than 8 tiles.
 *
 * <p>Tolerance: the same first-order bound as WinogradConvolutionTest, derived for F(4x4)'s
 * matrices (advmia_winograd4.h; points 0, +-1, +-2): for one output,
 *   |y_computed - y| <= gamma_n (|A^T| (sum_c (|G| |g_c| |G^T|) .* (|B^T| |d_c| |B|)) |A|) + |bias| u,
 * n = C + 21. Rounding stages per element, as the kernel groups its sums (w4_bt, w4_g, w4_at):
 * the GEMM over C channels, C (one product, C - 1 additions); the input transform 3 per
 * dimension, 6 (e.g. 4 (d0 - d2) + (d4 - d2): the multiples of 2 and 4 are exact); the filter
 * transform 4 per dimension, 8 (two additions, the rounded constant 1/6 or 1/24, the product);
 * the output transform 3 per dimension, 6; the bias addition 1. |B^T|, |G| and |A^T| have entries
 * up to 5, 1/4 and 8, so this bound is wider than F(2x2)'s by the coefficients' growth, which is
 * the real price of F(4x4) in accuracy, not slack. Backward-filter: gamma_{P+20} (|G^T| (sum_t
 * (|A| |gY_t| |A^T|) .* (|B^T| |d_t| |B|)) |G|), P the number of tiles: input transform 6, gradient
 * tile 2 per dimension (4), G^T . G 5 per dimension (10). Any wrong coefficient, tile edge or
 * sign gives errors of the order of the outputs, far above these bounds. WinogradBounds.F4 holds
 * these matrices and counts; the bounds' code is the one WinogradBounds implementation shared
 * with F(2x2), and the checks are WinogradConvolutionTest's, with the run-to-run check added for
 * backward-filter.
 */
class WinogradF4ConvolutionTest {
    private final CpuBackend cpu = CpuBackend.get();

    static final Case[] CASES = cases();

    private static Case[] cases() {
        List<Case> all = new ArrayList<>(List.of(WinogradConvolutionTest.CASES));
        all.add(new Case("F4: output 1x1, one channel", 1, 1, 3, 3, 1, 0, 0, true));
        all.add(new Case("F4: output 2x2, pad 2", 2, 3, 2, 2, 5, 2, 2, false));
        all.add(new Case("F4: output 3x5", 1, 9, 5, 7, 11, 0, 0, true));
        all.add(new Case("F4: output 5x5, pad 1", 2, 6, 5, 5, 3, 1, 1, true));
        all.add(new Case("F4: output 6x7, pad 1", 2, 10, 6, 7, 6, 1, 1, true));
        all.add(new Case("F4: output 7x6, pad 2", 1, 7, 5, 4, 9, 2, 2, false));
        all.add(new Case("F4: output 8x9, asymmetric", 2, 17, 8, 11, 12, 1, 0, true));
        all.add(new Case("F4: 9 tiles per row, batch 1", 1, 8, 36, 38, 8, 1, 1, false));
        all.add(new Case("F4: SmallCNN conv4 class", 3, 64, 10, 10, 64, 0, 0, true));
        // Backward-data as the adjoint of the forward tiles (WinogradBounds.takesAdjoint):
        all.add(new Case("F4 adjoint: 8x8 from 10x10, batch 1", 1, 16, 10, 10, 24, 0, 0, true));
        all.add(new Case("F4 adjoint: 4x4 from 6x6, 40 images (several chunks)", 40, 8, 6, 6, 8, 0, 0, false));
        all.add(new Case("F4 adjoint: 8x4 from 10x6, channels off 8", 3, 5, 10, 6, 3, 0, 0, true));
        all.add(new Case("F4 adjoint: 4x10 from 6x10, padding 0 / 1", 2, 6, 6, 10, 7, 0, 1, false));
        all.add(new Case("F4: one output channel", 2, 12, 9, 9, 1, 1, 1, true));
        // 16-tile groups (more than 8 tiles per chunk) gather column pairs (wino4_gather_group16):
        // padding 1 with clean pairs, and widths where one element of a pair is past the image's
        // right edge for some lanes (the single-column fallback), at both pairings.
        all.add(new Case("F4 pairs: pad 1, width 8, 3 images", 3, 5, 6, 8, 4, 1, 1, true));
        all.add(new Case("F4 pairs: pad 1, width 7 (split pair), 3 images", 3, 5, 6, 7, 4, 1, 1, false));
        all.add(new Case("F4 pairs: pad 0, width 11 (split pair), 4 images", 4, 3, 6, 11, 5, 0, 0, true));
        return all.toArray(new Case[0]);
    }

    @Test
    void forwardMatchesFloat64ReferenceAndIm2col() {
        checkForward(WinogradBounds.F4, CASES, "F4 ");
    }

    @Test
    void backwardDataMatchesFloat64ReferenceAndIm2col() {
        checkBackwardData(WinogradBounds.F4, CASES, "F4 ");
    }

    @Test
    void backwardFilterMatchesFloat64ReferenceAndIm2colAndIsDeterministic() {
        checkBackwardFilter(WinogradBounds.F4, CASES, "F4 ", true);
    }

    /**
     * Input positions that no non-zero output gradient reaches (their 3x3 window of outputs zero in
     * every channel) have an exactly zero gradient: im2col returns 0 there (sums of 0 * w), and a
     * sign attack must not step on rounding noise. The adjoint's 6x6 transforms would put noise of
     * the tile's other positions there, so the kernel zeroes them (found per image from gy). On a
     * 10x10 -> 8x8 layer (the adjoint): image 0's output row 7 and column 7 (a 2x2 pool's floor
     * drops such), image 1's rows 6 and 7, and image 0's block of rows 2-5 and columns 1-6 (the
     * windows of pooled units whose ReLU is off) are zero in every channel. Every input position the
     * test finds unreached must be exactly 0 (in float32 and float64), and the reached ones within
     * the adjoint bound.
     */
    @Test
    void adjointBackwardDataIsExactlyZeroWhereNoGradientReaches() {
        int n = 2, c = 8, k = 16;
        ConvGeometry g = new ConvGeometry(n, c, 10, 10, k, 3, 3, 1, 1, 0, 0, 1, 1, 1);
        assertTrue(WinogradBounds.F4.takesAdjoint(g));
        java.util.Random r = new java.util.Random(77);
        double[] w = WinogradConvolutionTest.roundToFloat(WinogradConvolutionTest.random(r, (long) k * c * 9));
        double[] gy = WinogradConvolutionTest.roundToFloat(WinogradConvolutionTest.random(r, (long) n * k * 64));
        for (int ch = 0; ch < k; ch++)
            for (int p = 0; p < 8; p++)
                for (int q = 0; q < 8; q++) {
                    boolean zero0 = p == 7 || q == 7 || (p >= 2 && p <= 5 && q >= 1 && q <= 6);
                    if (zero0) gy[(ch * 8 + p) * 8 + q] = 0;
                    if (p >= 6) gy[((k + ch) * 8 + p) * 8 + q] = 0;
                }
        Reference ref = WinogradConvolutionTest.backwardDataReference(g, gy, w);
        int unreached = 0;
        for (DType dt : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[] gx = backwardData(g, dt, gy, w, ConvAlgorithm.WINOGRAD4);
            double[] bound = WinogradBounds.F4.backwardData(g, gy, w, WinogradConvolutionTest.unitRoundoff(dt));
            unreached = 0;
            for (int img = 0; img < n; img++)
                for (int ih = 0; ih < 10; ih++)
                    for (int iw = 0; iw < 10; iw++) {
                        boolean reached = false;
                        for (int ch = 0; ch < k; ch++)
                            for (int p = Math.max(0, ih - 2); p <= Math.min(7, ih); p++)
                                for (int q = Math.max(0, iw - 2); q <= Math.min(7, iw); q++)
                                    reached |= gy[((img * k + ch) * 8 + p) * 8 + q] != 0;
                        for (int ch = 0; ch < c; ch++) {
                            int i = ((img * c + ch) * 10 + ih) * 10 + iw;
                            if (reached) {
                                assertTrue(Math.abs(gx[i] - ref.value()[i]) <= bound[i], dt + ": element " + i);
                                continue;
                            }
                            assertEquals(0.0, ref.value()[i], "reference");
                            assertEquals(0.0, gx[i], dt + ": image " + img + " channel " + ch + " (" + ih + ", " + iw + ")");
                            unreached++;
                        }
                    }
        }
        // image 0: row 9, column 9 and rows 4-5 x columns 3-8 (columns 7 and 8 read output column 7,
        // which is zero too): 19 + 12; image 1: rows 8-9, 20.
        assertEquals(c * (19 + 12 + 20), unreached);
    }

    @Test
    void autoPicksF4WhereWholeTilesFit() {
        // An 8x8 output with 64 input channels: advmia_conv.h's wino4_wins_* pick F(4x4) in all
        // three directions, so AUTO must equal the forced F(4x4) bit for bit (and not F(2x2)).
        Case k = new Case("auto picks F4", 2, 64, 8, 8, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Inputs in = Inputs.of(k, 6);
        double[] x = in.x(), w = in.w(), b = in.b(), gy = in.gy();
        double[] y4 = forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD4);
        assertArrayEquals(y4, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
        assertFalse(java.util.Arrays.equals(y4, forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD)));
        assertArrayEquals(backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.WINOGRAD4),
                backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.AUTO));
        assertArrayEquals(backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4),
                backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.AUTO));
    }

    @Test
    void autoWithTileOverrideEqualsForcedF4() {
        Case k = new Case("auto F4", 3, 32, 11, 11, 32, 1, 1, true);
        ConvGeometry g = k.geometry();
        Inputs in = Inputs.of(k, 5);
        double[] x = in.x(), w = in.w(), b = in.b(), gy = in.gy();
        cpu.setWinogradTileForTests(4);
        try {
            assertArrayEquals(forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.WINOGRAD4),
                    forward(g, DType.FLOAT32, x, w, b, ConvAlgorithm.AUTO));
            assertArrayEquals(backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.WINOGRAD4),
                    backwardData(g, DType.FLOAT32, gy, w, ConvAlgorithm.AUTO));
            assertArrayEquals(backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.WINOGRAD4),
                    backwardFilter(g, DType.FLOAT32, x, gy, ConvAlgorithm.AUTO));
        } finally {
            cpu.setWinogradTileForTests(0);
        }
    }
}
