package org.advmia.backend.cpu;

import java.util.ArrayDeque;
import java.util.HashMap;
import org.advmia.backend.AllocatorStats;

/**
 * A caching allocator: freed blocks go to an exact-size free list and are handed out again.
 * Attack and training loops request the same sizes every iteration, so after the first one
 * they allocate nothing from the system.
 */
final class CpuAllocator {
    private final HashMap<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long systemAllocations;
    private long bytesInUse;
    private long bytesCached;

    static long roundUp(long bytes) {
        return (Math.max(bytes, 1) + 63) & ~63L;
    }

    synchronized long allocate(long bytes) {
        long size = roundUp(bytes);
        ArrayDeque<Long> list = free.get(size);
        if (list != null && !list.isEmpty()) {
            bytesCached -= size;
            bytesInUse += size;
            return list.pop();
        }
        long addr = CpuNative.adv_alloc(size);
        if (addr == 0) {
            trimLocked();
            addr = CpuNative.adv_alloc(size);
            if (addr == 0) throw new OutOfMemoryError("native allocation of " + size + " bytes failed");
        }
        systemAllocations++;
        bytesInUse += size;
        return addr;
    }

    synchronized void release(long addr, long bytes) {
        long size = roundUp(bytes);
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(addr);
        bytesInUse -= size;
        bytesCached += size;
    }

    /** Returns every cached block to the system. */
    synchronized void trim() {
        trimLocked();
    }

    private void trimLocked() {
        for (ArrayDeque<Long> list : free.values()) {
            for (long a : list) CpuNative.adv_free(a);
        }
        free.clear();
        bytesCached = 0;
    }

    synchronized AllocatorStats stats() {
        return new AllocatorStats(systemAllocations, bytesInUse, bytesCached);
    }
}
