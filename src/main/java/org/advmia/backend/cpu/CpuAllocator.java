package org.advmia.backend.cpu;

import java.util.ArrayList;
import org.advmia.backend.AllocatorStats;

/**
 * A caching allocator: freed blocks go to an exact-size free list and are handed out again.
 * Attack and training loops request the same sizes every iteration, so after the first one
 * they allocate nothing from the system.
 *
 * <p>What it gives back, and when. A cache that only grows makes the working sets of different
 * phases of one process add up (an attack on one batch shape, then training, then an
 * evaluation): sizes that only an earlier phase used sit in the pool for good. So on every pool
 * miss, and only then, the allocator returns to the system the cached blocks of every size that
 * has gone unrequested for longer than it ever went between two requests before (twice that, and
 * at least {@link #MIN_IDLE} allocations). Why this keeps the hot-loop guarantee:
 * <ul>
 *   <li>A loop that has warmed up misses nothing, so it never triggers a release: its pool stays
 *       exactly as it is, however long the loop runs, and the allocator does no extra work in it.
 *       (A periodic look, every MIN_IDLE allocations, was tried: it changed nothing on the
 *       benchmark rows and made the hot loops' Java allocation per step depend on when it ran.)</li>
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
        /** Cached blocks, a stack of raw addresses (no boxing: the hot loops' Java allocation is checked too). */
        long[] blocks = new long[4];
        int count;
        /** Allocation clock at the last request for this size or the last return of a block of it. */
        long lastUse;
        /** Longest stretch of allocations seen between two uses of this size. */
        long longestGap;

        void push(long addr) {
            if (count == blocks.length) blocks = java.util.Arrays.copyOf(blocks, 2 * count);
            blocks[count++] = addr;
        }

        long pop() {
            return blocks[--count];
        }
    }

    private final SystemMemory system;
    /**
     * Size -> class, open addressing with linear probing over primitive keys (0 = empty slot;
     * sizes are at least 64), so that a lookup boxes nothing.
     */
    private long[] keys = new long[256];
    private SizeClass[] classes = new SizeClass[256];
    private int classCount;
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
        SizeClass sc = find(size);
        if (sc == null) {
            sc = add(size);
        } else {
            sc.longestGap = Math.max(sc.longestGap, clock - sc.lastUse);
        }
        sc.lastUse = clock;
        long addr;
        if (sc.count > 0) {
            addr = sc.pop();
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
        SizeClass sc = find(size);
        if (sc == null) sc = add(size);
        sc.push(addr);
        sc.lastUse = clock;
        bytesInUse -= size;
        bytesCached += size;
    }

    /** Returns the cached blocks of every size idle past its limit (see the class comment). */
    private void releaseIdleLocked() {
        boolean forget = classCount > MAX_TRACKED_SIZES, forgotten = false;
        for (int i = 0; i < keys.length; i++) {
            SizeClass sc = classes[i];
            if (sc == null || (sc.count == 0 && !forget)) continue;
            if (clock - sc.lastUse <= Math.max(MIN_IDLE, 2 * sc.longestGap)) continue;
            freeBlocks(keys[i], sc);
            // The class itself stays: its recorded gap is what stops the size from being released
            // early again. Only a program whose shapes keep changing would grow the table without
            // bound, so past MAX_TRACKED_SIZES idle classes are forgotten (they start over if the
            // size comes back).
            if (forget) {
                classes[i] = null;
                forgotten = true;
            }
        }
        if (forgotten) rehash(keys.length);
    }

    private void freeBlocks(long size, SizeClass sc) {
        while (sc.count > 0) {
            system.free(sc.pop());
            systemFrees++;
            bytesCached -= size;
        }
    }

    private static int slot(long size, int mask) {
        return (int) (((size >>> 6) * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    }

    private SizeClass find(long size) {
        int mask = keys.length - 1;
        for (int i = slot(size, mask); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == size) return classes[i];
            if (k == 0) return null;
        }
    }

    private SizeClass add(long size) {
        if (2 * (classCount + 1) > keys.length) rehash(2 * keys.length);
        SizeClass sc = new SizeClass();
        insert(size, sc);
        classCount++;
        return sc;
    }

    private void insert(long size, SizeClass sc) {
        int mask = keys.length - 1;
        int i = slot(size, mask);
        while (keys[i] != 0) i = (i + 1) & mask;
        keys[i] = size;
        classes[i] = sc;
    }

    /** Rebuilds the table at the given capacity, dropping slots whose class was set to null. */
    private void rehash(int capacity) {
        long[] oldKeys = keys;
        SizeClass[] oldClasses = classes;
        keys = new long[capacity];
        classes = new SizeClass[capacity];
        classCount = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != 0 && oldClasses[i] != null) {
                insert(oldKeys[i], oldClasses[i]);
                classCount++;
            }
        }
    }

    /** Returns every cached block to the system. */
    synchronized void trim() {
        trimLocked();
    }

    private void trimLocked() {
        for (int i = 0; i < keys.length; i++) if (classes[i] != null) freeBlocks(keys[i], classes[i]);
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

    /** Number of block sizes the allocator currently remembers, for tests. */
    synchronized int trackedSizes() {
        return classCount;
    }

    /** Sizes with cached blocks, for tests. */
    synchronized ArrayList<Long> cachedSizes() {
        ArrayList<Long> out = new ArrayList<>();
        for (int i = 0; i < keys.length; i++) if (classes[i] != null && classes[i].count > 0) out.add(keys[i]);
        return out;
    }

    synchronized AllocatorStats stats() {
        return new AllocatorStats(systemAllocations, bytesInUse, bytesCached);
    }
}
