package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;

import java.util.Random;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks (float64) of NnOps.reluConv2d, conv2d(relu(x)) with the ReLU fused
 * into the convolution, through the public op: on a layer the CPU backend runs with Winograd in
 * all three directions (16 -> 16 channels, 3x3, stride 1; the ReLU in the input transform, the
 * mask in the input gradient's output transform) and on layers it runs with im2col / depthwise
 * (a rectified copy, a masking pass). Inputs keep |x| >= 0.05, so the central difference
 * (h = 1e-6) never straddles the ReLU's kink; default tolerance 1e-6 relative (float64 rounding
 * is ~1e-14 here, far below the difference's truncation error).
 */
class ReluConvGradientTest {
    private final Random r = new Random(11);
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    /** Uniform in +-[0.05, 1.05): both signs, away from 0. */
    private Tensor awayFromZero(long... shape) {
        Tensor t = random(r, shape);
        double[] v = org.advmia.backend.Backends.toDoubleArray(t);
        for (int i = 0; i < v.length; i++) v[i] = Math.signum(v[i] == 0 ? 1 : v[i]) * (0.05 + Math.abs(v[i]));
        return GradCheck.values(v, shape);
    }

    @Test
    void winogradLayerPad1WithBias() {
        check("relu conv winograd pad 1", v -> NnOps.reluConv2d(v[0], v[1], v[2], 1, 1, 1, 1),
                awayFromZero(2, 16, 5, 6), random(r, 16, 16, 3, 3), random(r, 16));
    }

    @Test
    void winogradLayerPad0OddOutput() {
        check("relu conv winograd pad 0", v -> NnOps.reluConv2d(v[0], v[1], null, 1, 0, 1, 1),
                awayFromZero(1, 16, 7, 5), random(r, 24, 16, 3, 3));
    }

    @Test
    void im2colLayerStride2() {
        check("relu conv stride 2", v -> NnOps.reluConv2d(v[0], v[1], v[2], 2, 1, 1, 1),
                awayFromZero(2, 3, 7, 6), random(r, 5, 3, 3, 3), random(r, 5));
    }

    /**
     * NnOps.conv2dMaxPool2 (conv, or conv of relu, then a fused 2x2 max-pool) on Winograd layers.
     * Gaussian weights make ties within a pool window (where the difference would jump) unlikely.
     */
    @Test
    void convMaxPoolFused() {
        check("relu conv + max-pool", v -> NnOps.conv2dMaxPool2(v[0], v[1], v[2], 1, 0, 1, 1, true),
                awayFromZero(2, 16, 6, 8), random(r, 16, 16, 3, 3), random(r, 16));
        check("conv + max-pool pad 1", v -> NnOps.conv2dMaxPool2(v[0], v[1], null, 1, 1, 1, 1, false),
                random(r, 1, 16, 4, 6), random(r, 16, 16, 3, 3));
        check("relu conv + max-pool, im2col", v -> NnOps.conv2dMaxPool2(v[0], v[1], v[2], 1, 1, 1, 1, true),
                awayFromZero(2, 3, 4, 4), random(r, 5, 3, 3, 3), random(r, 5));
    }

    @Test
    void depthwiseLayer() {
        check("relu conv depthwise", v -> NnOps.reluConv2d(v[0], v[1], v[2], 1, 1, 1, 4),
                awayFromZero(2, 4, 5, 5), random(r, 4, 1, 3, 3), random(r, 4));
    }
}
