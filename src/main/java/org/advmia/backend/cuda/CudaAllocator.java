package org.advmia.backend.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import org.advmia.backend.AllocatorStats;

/**
 * The device memory pool: freed blocks go to an exact-size free list and are handed out again,
 * so an attack or training loop that requests the same sizes every iteration stops calling
 * cudaMalloc (which synchronises the device) after its first iteration.
 *
 * <p>While a CUDA graph is captured and alive, the addresses it recorded must not be handed to
 * anyone else: every block allocated or freed during the capture belongs to the graph until it is
 * destroyed. Blocks freed during the capture are reused later in the same capture (the graph
 * orders those uses), and once freed after it they are parked, not cached (see {@link CudaGraph}).
 * Parked blocks count as cached in {@link #stats()}.
 */
final class CudaAllocator {
    /** 512-byte granularity: cudaMalloc aligns to 256 and cuDNN prefers 128-byte aligned rows. */
    static final long GRANULE = 512;

    private final HashMap<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long systemAllocations;
    private long bytesInUse;
    private long bytesCached;

    private boolean capturing;
    private boolean graphAlive;
    private final HashSet<Long> graphOwned = new HashSet<>();
    private final HashMap<Long, ArrayDeque<Long>> captureFree = new HashMap<>();
    private final List<long[]> parked = new ArrayList<>();

    static long roundUp(long bytes) {
        return (Math.max(bytes, 1) + GRANULE - 1) / GRANULE * GRANULE;
    }

    synchronized long allocate(long bytes) {
        long size = roundUp(bytes);
        long addr = capturing ? pop(captureFree, size) : 0;
        if (addr == 0) addr = pop(free, size);
        if (addr == 0) {
            if (capturing) {
                throw new IllegalStateException("CUDA graph capture needs a block of " + size + " bytes that the pool does"
                        + " not hold (cudaMalloc is illegal while capturing): run the captured region once eagerly first");
            }
            addr = CudaNative.advc_malloc(size);
            if (addr == 0) {
                trimLocked();
                addr = CudaNative.advc_malloc(size);
                if (addr == 0) {
                    throw new OutOfMemoryError("CUDA allocation of " + size + " bytes failed: " + CudaNative.advc_last_error()
                            + " (pool: " + bytesInUse + " bytes in use)");
                }
            }
            systemAllocations++;
        }
        bytesInUse += size;
        if (capturing) graphOwned.add(addr);
        return addr;
    }

    private long pop(HashMap<Long, ArrayDeque<Long>> lists, long size) {
        ArrayDeque<Long> list = lists.get(size);
        if (list == null || list.isEmpty()) return 0;
        bytesCached -= size;
        return list.pop();
    }

    synchronized void release(long addr, long bytes) {
        long size = roundUp(bytes);
        bytesInUse -= size;
        bytesCached += size;
        if (capturing) {
            // Reusable later in the same capture (the graph orders it), never outside while the graph lives.
            graphOwned.add(addr);
            captureFree.computeIfAbsent(size, k -> new ArrayDeque<>()).push(addr);
        } else if (graphAlive && graphOwned.contains(addr)) {
            parked.add(new long[] {addr, size});
        } else {
            free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(addr);
        }
    }

    synchronized void beginCapture() {
        if (graphAlive) throw new IllegalStateException("a CUDA graph is already alive; close it before capturing another");
        capturing = true;
        graphAlive = true;
    }

    synchronized void endCapture() {
        capturing = false;
        for (var e : captureFree.entrySet()) {
            for (long a : e.getValue()) parked.add(new long[] {a, e.getKey()});
        }
        captureFree.clear();
    }

    /** The graph is gone: its blocks are free for anyone again. */
    synchronized void graphDestroyed() {
        if (capturing) endCapture();
        graphAlive = false;
        graphOwned.clear();
        for (long[] b : parked) free.computeIfAbsent(b[1], k -> new ArrayDeque<>()).push(b[0]);
        parked.clear();
    }

    /** Returns every cached block to the device. */
    synchronized void trim() {
        trimLocked();
    }

    private void trimLocked() {
        for (var e : free.entrySet()) {
            for (long a : e.getValue()) {
                CudaNative.advc_free(a);
                bytesCached -= e.getKey();
            }
        }
        free.clear();
    }

    synchronized AllocatorStats stats() {
        return new AllocatorStats(systemAllocations, bytesInUse, bytesCached);
    }
}
