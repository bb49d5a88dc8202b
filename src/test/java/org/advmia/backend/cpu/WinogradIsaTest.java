package org.advmia.backend.cpu;

import static org.advmia.backend.cpu.WinogradConvolutionTest.checkBackwardData;
import static org.advmia.backend.cpu.WinogradConvolutionTest.checkBackwardFilter;
import static org.advmia.backend.cpu.WinogradConvolutionTest.checkForward;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Winograd kernels are compiled twice into the CPU library, for AVX2 and with AVX-512
 * (advmia_winograd_kernels.h), and picked per call from what the CPU has. The other Winograd tests
 * run whichever copy the CPU picks; this class forces each copy in turn through the same checks as
 * WinogradConvolutionTest and WinogradF4ConvolutionTest (F(2x2) and F(4x4); forward, backward-data,
 * backward-filter; float32 and float64 against the float64 direct convolution, with their derived
 * bounds), so that on an AVX-512 machine the AVX2 copy, which AVX2-only machines run, is checked
 * too. The AVX-512 run is skipped where the CPU lacks it.
 */
class WinogradIsaTest {
    private final CpuBackend cpu = CpuBackend.get();

    @ParameterizedTest(name = "{0}-bit copy")
    @ValueSource(ints = {256, 512})
    void bothTileSizesPassTheirBoundsOnEachCopy(int bits) {
        assumeTrue(bits == 256 || cpu.hasAvx512(), "this CPU has no AVX-512");
        try {
            assertEquals(bits, cpu.setWinogradIsaForTests(bits), "the forced instruction set is not the one in use");
            checkForward(WinogradBounds.F2, WinogradConvolutionTest.CASES, bits + "-bit F2 ");
            checkBackwardData(WinogradBounds.F2, WinogradConvolutionTest.CASES, bits + "-bit F2 ");
            checkBackwardFilter(WinogradBounds.F2, WinogradConvolutionTest.CASES, bits + "-bit F2 ", false);
            checkForward(WinogradBounds.F4, WinogradF4ConvolutionTest.CASES, bits + "-bit F4 ");
            checkBackwardData(WinogradBounds.F4, WinogradF4ConvolutionTest.CASES, bits + "-bit F4 ");
            checkBackwardFilter(WinogradBounds.F4, WinogradF4ConvolutionTest.CASES, bits + "-bit F4 ", true);
        } finally {
            cpu.setWinogradIsaForTests(0);
        }
    }

    @Test
    void theSetterRejectsUnknownSetsAndRestoresTheCpusChoice() {
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> cpu.setWinogradIsaForTests(128));
        assertTrue(bad.getMessage().contains("set_wino_isa") && bad.getMessage().contains("128"), bad.getMessage());
        if (!cpu.hasAvx512()) {
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> cpu.setWinogradIsaForTests(512));
            assertTrue(none.getMessage().contains("lacks AVX-512"), none.getMessage());
        }
        assertEquals(cpu.hasAvx512() ? 512 : 256, cpu.setWinogradIsaForTests(0));
    }
}
