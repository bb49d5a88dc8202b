package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;

import java.util.Random;
import org.advmia.tensor.MemoryScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks (float64) of conv2d with groups == in == out channels, which the CPU
 * backend computes with the depthwise kernels (advmia_depthwise.h) in all three directions, so
 * the autograd path through them is checked, not only the kernels
 * (backend/cpu/DepthwiseConvolutionTest). Default tolerance (1e-6 relative, see GradCheck): the
 * kernels' float64 rounding (~1e-15 here) is far below the central difference's error.
 */
class DepthwiseConvGradientTest {
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

    @Test
    void mobileNetStride1() {
        check("depthwise 3x3 stride 1 pad 1", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 1, 1, 4), random(r, 2, 4, 6, 5),
                random(r, 4, 1, 3, 3), random(r, 4));
    }

    @Test
    void mobileNetStride2() {
        check("depthwise 3x3 stride 2 pad 1", v -> NnOps.conv2d(v[0], v[1], null, 2, 1, 1, 3), random(r, 2, 3, 7, 8),
                random(r, 3, 1, 3, 3));
    }

    @Test
    void kernel5Stride3Dilation2() {
        check("depthwise 5x5 stride 3 pad 2", v -> NnOps.conv2d(v[0], v[1], v[2], 3, 2, 1, 2), random(r, 1, 2, 9, 10),
                random(r, 2, 1, 5, 5), random(r, 2));
        check("depthwise 3x3 dilation 2 pad 2", v -> NnOps.conv2d(v[0], v[1], null, 1, 2, 2, 3), random(r, 2, 3, 5, 6),
                random(r, 3, 1, 3, 3));
    }
}
