package org.advmia.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import org.advmia.backend.AllocatorStats;
import org.junit.jupiter.api.Test;

/**
 * The CPU pool's bookkeeping against a fake system allocator that hands out fake addresses and
 * fails on a double or unknown free: reuse, release of idle sizes on a miss, trim, stats and
 * thread safety. Nothing here touches native memory.
 */
class CpuAllocatorTest {
    /** Fake system memory: live blocks by address, a capacity, counts per size. */
    static final class FakeSystem implements CpuAllocator.SystemMemory {
        final HashMap<Long, Long> live = new HashMap<>();
        final HashMap<Long, Integer> allocationsBySize = new HashMap<>();
        long next = 1 << 20, liveBytes, capacity = Long.MAX_VALUE;
        int allocations, frees;

        @Override
        public synchronized long allocate(long bytes) {
            if (liveBytes + bytes > capacity) return 0;
            long a = next;
            next += bytes + 4096;
            live.put(a, bytes);
            liveBytes += bytes;
            allocations++;
            allocationsBySize.merge(bytes, 1, Integer::sum);
            return a;
        }

        @Override
        public synchronized void free(long address) {
            Long bytes = live.remove(address);
            if (bytes == null) throw new AssertionError("free of " + address + ", which is not live (double free?)");
            liveBytes -= bytes;
            frees++;
        }
    }

    /** What the allocator holds (in use + cached) is exactly what the system has handed it. */
    static void assertConsistent(CpuAllocator a, FakeSystem sys) {
        AllocatorStats s = a.stats();
        assertEquals(sys.liveBytes, s.bytesInUse() + s.bytesCached(), "in use + cached = bytes live in the system");
        assertEquals(sys.allocations, s.systemAllocations(), "system allocations counted");
        assertEquals(sys.frees, a.systemFrees(), "system frees counted");
        assertTrue(s.bytesInUse() >= 0 && s.bytesCached() >= 0, s.toString());
    }

    @Test
    void aFreedBlockIsReusedForTheSameRoundedSizeOnly() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        long p = a.allocate(1000);
        a.release(p, 1000);
        assertEquals(p, a.allocate(1001), "1000 and 1001 bytes round to the same 1024-byte block");
        long q = a.allocate(1000);
        assertNotEquals(p, q, "a block in use is not handed out again");
        assertEquals(2, sys.allocations);
        assertEquals(2048, a.stats().bytesInUse());
        a.release(q, 1000);
        long r = a.allocate(2000);
        assertNotEquals(q, r, "a cached 1024-byte block does not serve a 2048-byte request");
        assertConsistent(a, sys);
        assertThrows(IllegalArgumentException.class, () -> a.allocate(-1));
    }

    @Test
    void randomTrafficNeverHandsOutABlockTwiceAndKeepsStatsExact() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        Random r = new Random(1);
        long[] sizes = {64, 100, 4096, 5000, 1 << 20, 3 << 20};
        HashMap<Long, Long> out = new HashMap<>();   // address -> requested bytes
        List<Long> order = new ArrayList<>();
        for (int i = 0; i < 200_000; i++) {
            // Phases with different size mixes, so that idle sizes are released along the way.
            int phase = i / 20_000;
            if (out.isEmpty() || (out.size() < 50 && r.nextBoolean())) {
                // Now and then a size never seen before: a miss, which looks for idle sizes to return.
                long bytes = i % 4999 == 0 ? (1 << 22) + 64L * i
                        : sizes[(r.nextInt(3) + phase) % sizes.length] + (phase % 3) * 64L;
                long addr = a.allocate(bytes);
                assertFalse(out.containsKey(addr), "address " + addr + " handed out twice");
                assertTrue(sys.live.containsKey(addr), "address " + addr + " is not live system memory");
                assertTrue(sys.live.get(addr) >= bytes, "block smaller than the request");
                out.put(addr, bytes);
                order.add(addr);
            } else {
                long addr = order.remove(r.nextInt(order.size()));
                a.release(addr, out.remove(addr));
            }
            if (i % 997 == 0) assertConsistent(a, sys);
        }
        assertTrue(sys.frees > 0, "idle sizes of earlier phases were returned to the system");
        for (long addr : order) a.release(addr, out.get(addr));
        a.trim();
        assertConsistent(a, sys);
        assertEquals(0, sys.liveBytes, "after releasing everything and trimming, nothing is held");
        assertEquals(0, a.stats().bytesInUse());
    }

    /** One iteration of a loop: allocate blocks of the given sizes, then release them all. */
    static void iteration(CpuAllocator a, long... sizes) {
        long[] addr = new long[sizes.length];
        for (int i = 0; i < sizes.length; i++) addr[i] = a.allocate(sizes[i]);
        for (int i = sizes.length - 1; i >= 0; i--) a.release(addr[i], sizes[i]);
    }

    @Test
    void aWarmLoopNeverReachesTheSystemAndAnEarlierPhaseIsReleasedOnTheNextMiss() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        long[] phase1 = {1 << 20, 1 << 20, 256 << 10, 64};
        long[] phase2 = {3 << 20, 512 << 10, 64};
        iteration(a, phase1);
        int allocs = sys.allocations;
        for (int i = 0; i < 10 * (int) CpuAllocator.MIN_IDLE; i++) iteration(a, phase1);
        assertEquals(allocs, sys.allocations, "a warm loop allocates nothing, however long it runs");
        assertEquals(0, sys.frees, "and releases nothing");
        // Phase 2 first misses on its new sizes: phase 1's 1 MB and 256 KB blocks were used a
        // moment ago, so they stay for now.
        iteration(a, phase2);
        assertTrue(a.cachedSizes().contains(1L << 20), "recently used sizes are kept");
        for (int i = 0; i < CpuAllocator.MIN_IDLE; i++) iteration(a, phase2);
        assertEquals(allocs + 2, sys.allocations, "phase 2 warmed up after one iteration (64 B was shared)");
        assertTrue(a.cachedSizes().contains(1L << 20), "a warm phase misses nothing, so it releases nothing");
        // The next miss (a new size) finds phase 1's sizes idle for longer than ever before.
        long p = a.allocate(7 << 20);
        a.release(p, 7 << 20);
        assertFalse(a.cachedSizes().contains(1L << 20), "phase 1's 1 MB blocks were returned");
        assertFalse(a.cachedSizes().contains(256L << 10), "phase 1's 256 KB block was returned");
        assertTrue(a.cachedSizes().contains(64L), "a size both phases use stays");
        assertEquals(3, sys.frees);
        int frees = sys.frees;
        allocs = sys.allocations;
        for (int i = 0; i < 10 * (int) CpuAllocator.MIN_IDLE; i++) iteration(a, phase2);
        assertEquals(allocs, sys.allocations, "phase 2 stays warm");
        assertEquals(frees, sys.frees, "and keeps its blocks");
        assertConsistent(a, sys);
    }

    @Test
    void aSizeWithALongPeriodIsReleasedEarlyAtMostOnce() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        long rare = 9 << 20, period = 3 * CpuAllocator.MIN_IDLE;
        long fresh = 1 << 30;
        for (int run = 0; run < 20; run++) {
            iteration(a, rare);
            for (long i = 0; i < period; i++) {
                // Every 500th allocation is a size never seen before: a miss that looks for idle sizes.
                if (i % 500 == 0) iteration(a, fresh += 64);
                else iteration(a, 128);
            }
        }
        assertTrue(sys.allocationsBySize.get(rare) <= 2,
                "the 9 MB block is released early once at most, then its period is known: "
                        + sys.allocationsBySize.get(rare) + " system allocations");
        assertConsistent(a, sys);
    }

    @Test
    void everChangingSizesDoNotGrowTheBookkeepingWithoutBound() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        long longLived = a.allocate(12345 * 64);   // its class is idle (never requested again) while it is out
        for (int i = 0; i < 4 * CpuAllocator.MAX_TRACKED_SIZES; i++) {
            iteration(a, 64L * (100_000 + i));   // a new size every time: each one a miss
            iteration(a, 256);                    // and one that stays warm
            assertTrue(a.trackedSizes() <= CpuAllocator.MAX_TRACKED_SIZES + 2 * CpuAllocator.MIN_IDLE + 2,
                    "sizes tracked: " + a.trackedSizes());
        }
        assertTrue(a.cachedSizes().contains(256L), "the warm size keeps its block");
        a.release(longLived, 12345 * 64);   // its class may have been forgotten meanwhile
        assertTrue(a.cachedSizes().contains(12345L * 64));
        assertConsistent(a, sys);
        a.trim();
        assertEquals(0, sys.liveBytes);
        assertConsistent(a, sys);
    }

    @Test
    void trimReturnsEveryCachedBlockAndOnlyThose() {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        long kept = a.allocate(4096);
        iteration(a, 100, 200, 300, 1 << 20);
        assertEquals(5, sys.live.size());
        a.trim();
        assertEquals(1, sys.live.size(), "only the block in use is left");
        assertTrue(sys.live.containsKey(kept));
        assertEquals(0, a.stats().bytesCached());
        a.trim();   // idempotent: no double free
        a.release(kept, 4096);
        assertEquals(kept, a.allocate(4096), "a block released after a trim is cached again");
        assertConsistent(a, sys);
    }

    @Test
    void aFailedSystemAllocationTrimsAndRetries() {
        FakeSystem sys = new FakeSystem();
        sys.capacity = 4 << 20;
        CpuAllocator a = new CpuAllocator(sys);
        iteration(a, 3 << 20);   // cached, and recently used, so not idle
        long p = a.allocate(2 << 20);
        assertEquals(1, sys.frees, "the cached 3 MB block made room");
        a.release(p, 2 << 20);
        sys.capacity = 1 << 20;
        assertThrows(OutOfMemoryError.class, () -> a.allocate(3 << 20));
        assertConsistent(a, sys);
    }

    @Test
    void concurrentUseNeverSharesABlock() throws InterruptedException {
        FakeSystem sys = new FakeSystem();
        CpuAllocator a = new CpuAllocator(sys);
        ConcurrentHashMap<Long, Boolean> out = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            final int seed = t;
            threads[t] = new Thread(() -> {
                Random r = new Random(seed);
                try {
                    for (int i = 0; i < 20_000; i++) {
                        long bytes = 64L << r.nextInt(6);
                        long addr = a.allocate(bytes);
                        if (out.putIfAbsent(addr, Boolean.TRUE) != null) throw new AssertionError("block shared: " + addr);
                        out.remove(addr);
                        a.release(addr, bytes);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) t.join();
        if (failure.get() != null) throw new AssertionError(failure.get());
        assertEquals(0, a.stats().bytesInUse());
        assertConsistent(a, sys);
    }
}
