package org.advmia.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.UnaryOp;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

class CpuBackendSmokeTest {
    private final CpuBackend cpu = CpuBackend.get();

    @Test
    void reluRoundTrip() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = cpu.empty(DType.FLOAT32, Shape.of(4));
            Tensor y = cpu.empty(DType.FLOAT32, Shape.of(4));
            cpu.copyFromHost(new float[] {1, -2, 3, -4}, x);
            cpu.unary(UnaryOp.RELU, x, y, 0, 0);
            float[] out = new float[4];
            cpu.copyToHost(y, out);
            assertArrayEquals(new float[] {1, 0, 3, 0}, out);
        }
    }

    @Test
    void nativeRejectsOutOfBoundsInsteadOfCrashing() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = cpu.empty(DType.FLOAT32, Shape.of(4));
            // Ask the raw binding to read 1000 elements from a 4-element buffer.
            int rc = CpuNative.adv_unary(0, UnaryOp.RELU.code(), x.address(), 4, x.address(), 4, 1000, 0, 0);
            assertTrue(rc != 0);
            assertTrue(CpuNative.adv_last_error().contains("holds 4 elements but the op needs 1000"),
                    CpuNative.adv_last_error());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.unary(UnaryOp.RELU, x, cpu.empty(DType.FLOAT32, Shape.of(5)), 0, 0));
            assertTrue(e.getMessage().contains("output"), e.getMessage());
        }
    }

    @Test
    void mixedDtypesAreRejectedBeforeNativeCode() {
        try (MemoryScope s = MemoryScope.open()) {
            // float32 labels next to float64 logits would make the kernel read 8-byte values from a
            // 4-byte buffer: the Java check must stop it.
            Tensor logits = cpu.empty(DType.FLOAT64, Shape.of(2, 3));
            Tensor labels = cpu.empty(DType.FLOAT32, Shape.of(2));
            cpu.fill(logits, 0);
            cpu.fill(labels, 1);
            Tensor loss = cpu.empty(DType.FLOAT64, Shape.of(2));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.softmaxCrossEntropy(logits, labels, null, 0, loss, null, null));
            assertTrue(e.getMessage().contains("share one dtype"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> cpu.dlr(logits, cpu.empty(DType.FLOAT64, Shape.of(2)),
                    labels, loss, null, null));
        }
    }
}
