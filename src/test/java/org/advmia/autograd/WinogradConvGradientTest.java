package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;

import java.util.Random;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.tensor.MemoryScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks (float64) of conv2d on layers wide enough (>= 16 channels in and out,
 * 3x3, stride 1) that the CPU backend computes the forward and the input gradient with Winograd
 * F(2x2,3x3), so the autograd path through that kernel is checked, not only the kernel itself
 * (backend/cpu/WinogradConvolutionTest). Default tolerance (1e-6 relative): in float64 the
 * Winograd rounding (~1e-14 here) is far below the central difference's truncation error.
 * AUTO picks F(2x2) or F(4x4) per layer and direction (advmia_conv.h), so each test sets the tile
 * size (CpuBackend.setWinogradTileForTests): the F(2x2) checks run every direction through
 * F(2x2,3x3), the F4 ones through F(4x4,3x3).
 */
class WinogradConvGradientTest {
    private final Random r = new Random(7);
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
    void conv3x3Pad1() {
        withTile(2, () -> check("winograd conv pad 1", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 1, 1, 1),
                random(r, 2, 16, 5, 6), random(r, 16, 16, 3, 3), random(r, 16)));
    }

    @Test
    void conv3x3Pad0OddOutput() {
        withTile(2, () -> check("winograd conv pad 0", v -> NnOps.conv2d(v[0], v[1], null, 1, 0, 1, 1),
                random(r, 1, 16, 7, 5), random(r, 24, 16, 3, 3)));
    }

    @Test
    void conv3x3Pad1F4() {
        withTile(4, () -> check("winograd F4 conv pad 1", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 1, 1, 1),
                random(r, 2, 16, 9, 6), random(r, 16, 16, 3, 3), random(r, 16)));
    }

    @Test
    void conv3x3Pad0OddOutputF4() {
        withTile(4, () -> check("winograd F4 conv pad 0", v -> NnOps.conv2d(v[0], v[1], null, 1, 0, 1, 1),
                random(r, 1, 16, 7, 11), random(r, 24, 16, 3, 3)));
    }

    private static void withTile(int tile, Runnable body) {
        CpuBackend.get().setWinogradTileForTests(tile);
        try {
            body.run();
        } finally {
            CpuBackend.get().setWinogradTileForTests(0);
        }
    }
}
