package org.advmia.backend.cpu;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import org.advmia.backend.AllocatorStats;

/**
 * A caching allocator: freed blocks go to an exact-size free list and are handed out again.
 * Attack and training loops request the same sizes every iteration, so after the first one
 * they allocate nothing from the system.
 *
 * <p>What it gives back, and when. A cache that only grows makes the working sets of different
 * phases of one process add up (an attack on one batch shape, then training, then an
 * evaluation): sizes that only an earlier phase used sit in the pool for good. So on every pool
 * miss, and every {@link #MIN_IDLE} allocations, the allocator returns to the system the cached
 * blocks of every size that has gone unrequested for longer than it ever went between two
 * requests before (twice that, and at least MIN_IDLE allocations). Why this keeps the hot-loop
 * guarantee:
 * <ul>
 *   <li>A loop that has warmed up requests each of its sizes within its period, so none of them
 *       is idle past its limit: its pool stays exactly as it is, however long the loop runs.</li>
 *   <li>A size that a periodic loop still uses recurs within its period, which the allocator has
 *       seen as a gap; a release needs twice the longest gap seen, so it never hits such a size.
 *       If a phase releases a size too early anyway (one first seen in the previous phase), the
 *       next request for it records the longer gap, so each size can be released early at most
 *       a logarithmic number of times (each early release at least doubles its recorded gap), and
 *       the pool settles.</li>
 * </ul>
 * Time is counted in allocations, not seconds: the policy is deterministic and independent of
 * machine speed. {@link #trim} still returns every cached block at once.
 */
final class CpuAllocator {
    /** Where blocks come from; a test substitutes one that checks for double frees. */
    interface SystemMemory {
        long allocate(long bytes);

        void free(long address);
    }

    static final SystemMemory NATIVE = new SystemMemory() {
        @Override
        public long allocate(long bytes) {
            return CpuNative.adv_alloc(bytes);
        }

        @Override
        public void free(long address) {
            CpuNative.adv_free(address);
        }
    };

    /**
     * A size must have been idle for at least this many allocations before a miss may release it:
     * a few training steps of a small model, so that the first iterations of a loop, whose gaps the
     * allocator has not measured yet, do not release each other's blocks.
     */
    static final long MIN_IDLE = 4096;

    /** Block sizes remembered at most (with their gaps) before idle ones are forgotten. */
    static final int MAX_TRACKED_SIZES = 4096;

    /** The free list of one block size and when that size was last requested or returned. */
    private static final class SizeClass {
        final ArrayDeque<Long> blocks = new ArrayDeque<>();
        /** Allocation clock at the last request for this size or the last return of a block of it. */
        long lastUse;
        /** Longest stretch of allocations seen between two uses of this size. */
        long longestGap;
    }

    private final SystemMemory system;
    private final HashMap<Long, SizeClass> sizes = new HashMap<>();
    /** Counts allocate() calls: the allocator's clock. */
    private long clock;
    private long systemAllocations;
    private long systemFrees;
    private long bytesInUse;
    private long bytesCached;
    private long peakInUse;

    CpuAllocator() {
        this(NATIVE);
    }

    CpuAllocator(SystemMemory system) {
        this.system = system;
    }

    static long roundUp(long bytes) {
        return (Math.max(bytes, 1) + 63) & ~63L;
    }

    synchronized long allocate(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation size " + bytes);
        long size = roundUp(bytes);
        clock++;
        SizeClass sc = sizes.get(size);
        if (sc == null) {
            sc = new SizeClass();
            sizes.put(size, sc);
        } else {
            sc.longestGap = Math.max(sc.longestGap, clock - sc.lastUse);
        }
        sc.lastUse = clock;
        // Also look every MIN_IDLE allocations, not only on misses: a phase that has warmed up
        // misses nothing, and would otherwise keep the previous phase's blocks beside its own.
        if (clock % MIN_IDLE == 0) releaseIdleLocked();
        long addr;
        if (!sc.blocks.isEmpty()) {
            addr = sc.blocks.pop();
            bytesCached -= size;
        } else {
            releaseIdleLocked();
            addr = system.allocate(size);
            if (addr == 0) {
                trimLocked();
                addr = system.allocate(size);
                if (addr == 0) throw new OutOfMemoryError("native allocation of " + size + " bytes failed");
            }
            systemAllocations++;
        }
        bytesInUse += size;
        if (bytesInUse > peakInUse) peakInUse = bytesInUse;
        return addr;
    }

    synchronized void release(long addr, long bytes) {
        long size = roundUp(bytes);
        if (bytesInUse < size) {
            throw new IllegalStateException("release of " + size + " bytes with only " + bytesInUse + " in use");
        }
        // The class may have been dropped while its only block was out (a long-lived tensor).
        SizeClass sc = sizes.computeIfAbsent(size, k -> new SizeClass());
        sc.blocks.push(addr);
        sc.lastUse = clock;
        bytesInUse -= size;
        bytesCached += size;
    }

    /** Returns the cached blocks of every size idle past its limit (see the class comment). */
    private void releaseIdleLocked() {
        for (Iterator<java.util.Map.Entry<Long, SizeClass>> it = sizes.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            SizeClass sc = e.getValue();
            if (sc.blocks.isEmpty() && sizes.size() <= MAX_TRACKED_SIZES) continue;
            if (clock - sc.lastUse <= Math.max(MIN_IDLE, 2 * sc.longestGap)) continue;
            freeBlocks(e.getKey(), sc);
            // The class itself stays: its recorded gap is what stops the size from being released
            // early again. Only a program whose shapes keep changing would grow the map without
            // bound, so past MAX_TRACKED_SIZES idle classes are forgotten (they start over if the
            // size comes back).
            if (sizes.size() > MAX_TRACKED_SIZES) it.remove();
        }
    }

    private void freeBlocks(long size, SizeClass sc) {
        // Polling, not a for-each: a sweep can run inside a hot loop (it finds stale sizes of an
        // earlier phase), and the loop's Java allocation per step is checked too.
        while (!sc.blocks.isEmpty()) {
            system.free(sc.blocks.pollFirst());
            systemFrees++;
            bytesCached -= size;
        }
    }

    /** Returns every cached block to the system. */
    synchronized void trim() {
        trimLocked();
    }

    private void trimLocked() {
        for (var e : sizes.entrySet()) freeBlocks(e.getKey(), e.getValue());
    }

    /** High-water mark of bytes in use since the last call; resets it to the current use. */
    synchronized long resetPeak() {
        long p = peakInUse;
        peakInUse = bytesInUse;
        return p;
    }

    synchronized long systemFrees() {
        return systemFrees;
    }

    /** Sizes with cached blocks, for tests. */
    synchronized ArrayList<Long> cachedSizes() {
        ArrayList<Long> out = new ArrayList<>();
        for (var e : sizes.entrySet()) if (!e.getValue().blocks.isEmpty()) out.add(e.getKey());
        return out;
    }

    synchronized AllocatorStats stats() {
        return new AllocatorStats(systemAllocations, bytesInUse, bytesCached);
    }
}
