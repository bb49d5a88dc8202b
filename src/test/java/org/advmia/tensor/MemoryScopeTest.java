package org.advmia.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.AllocatorStats;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.junit.jupiter.api.Test;

class MemoryScopeTest {
    private final Backend cpu = Backends.defaultBackend();

    @Test
    void scopeClosesWhatItOwnsAndKeepMovesOwnership() {
        Tensor kept;
        Tensor dropped;
        try (MemoryScope s = MemoryScope.open()) {
            dropped = cpu.empty(DType.FLOAT32, Shape.of(10));
            kept = cpu.empty(DType.FLOAT32, Shape.of(10)).keep();
            assertEquals(1, s.size());
        }
        assertTrue(dropped.isClosed());
        assertFalse(kept.isClosed());
        kept.close();
        assertTrue(kept.isClosed());
    }

    @Test
    void viewsKeepStorageAliveUntilLastReference() {
        Tensor view;
        try (MemoryScope outer = MemoryScope.open()) {
            Tensor base;
            try (MemoryScope inner = MemoryScope.open()) {
                base = cpu.empty(DType.FLOAT32, Shape.of(2, 3));
                cpu.copyFromHost(new float[] {1, 2, 3, 4, 5, 6}, base);
                view = base.narrow0(1, 1).escape();
            }
            assertTrue(base.isClosed());
            float[] out = new float[3];
            cpu.copyToHost(view, out);
            assertEquals(4f, out[0]);
            assertEquals(6f, out[2]);
        }
        assertTrue(view.isClosed());
    }

    @Test
    void useAfterCloseIsAnExceptionNotACrash() {
        Tensor t;
        try (MemoryScope s = MemoryScope.open()) {
            t = cpu.empty(DType.FLOAT32, Shape.of(4));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cpu.fill(t, 1));
        assertTrue(e.getMessage().contains("used after it was closed"), e.getMessage());
    }

    @Test
    void scopesMustCloseInnermostFirst() {
        MemoryScope a = MemoryScope.open();
        MemoryScope b = MemoryScope.open();
        assertThrows(IllegalStateException.class, a::close);
        b.close();
        a.close();
    }

    @Test
    void freedMemoryIsReusedWithoutSystemAllocation() {
        try (MemoryScope s = MemoryScope.open()) {
            cpu.empty(DType.FLOAT32, Shape.of(1000, 17));
        }
        AllocatorStats before = cpu.allocatorStats();
        for (int i = 0; i < 100; i++) {
            try (MemoryScope s = MemoryScope.open()) {
                cpu.empty(DType.FLOAT32, Shape.of(1000, 17));
            }
        }
        assertEquals(before.systemAllocations(), cpu.allocatorStats().systemAllocations());
    }

    @Test
    void shapeErrorsNameTheProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -1));
        assertTrue(e.getMessage().contains("negative"));
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, 3).reshape(4, -1));
        assertTrue(e.getMessage().contains("cannot reshape [2, 3]"), e.getMessage());
    }
}
