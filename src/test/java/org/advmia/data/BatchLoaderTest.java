package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.advmia.backend.Backends;
import org.advmia.tensor.MemoryScope;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {
    /** Sample i is an image filled with i / 1000 and label (i < minority ? 1 : 0) or i % classes. */
    static final class Counting implements Dataset {
        final AtomicInteger gets = new AtomicInteger();
        final int n, failAt, minority;
        final DatasetInfo info = new DatasetInfo("counting", Task.CLASSIFICATION, 1, 4, 4, 3, DatasetInfo.numberedClasses(3));

        Counting(int n, int failAt, int minority) {
            this.n = n;
            this.failAt = failAt;
            this.minority = minority;
        }

        public DatasetInfo info() {
            return info;
        }

        public int size(Split s) {
            return n;
        }

        public Sample get(Split s, int i) {
            gets.incrementAndGet();
            if (i == failAt) throw new IllegalArgumentException("counting: sample " + i + " is broken");
            float[] img = new float[16];
            Arrays.fill(img, i / 1000f);
            return new Sample(img, label(s, i));
        }

        public float[] label(Split s, int i) {
            return new float[] {minority > 0 ? (i < minority ? 1 : 0) : i % 3};
        }
    }

    static List<float[]> drain(BatchLoader loader, int epoch) {
        List<float[]> out = new ArrayList<>();
        try (BatchLoader.Epoch e = loader.epoch(epoch)) {
            for (Batch b : e) {
                out.add(Backends.toFloatArray(b.images()));
                out.add(Backends.toFloatArray(b.labels()));
            }
        }
        return out;
    }

    @Test
    void shapesCoverageAndDropLast() {
        Counting d = new Counting(10, -1, 0);
        BatchLoader keep = BatchLoader.builder(d, Split.TRAIN).batchSize(4).shuffle(1).build();
        assertEquals(3, keep.batchesPerEpoch());
        List<Integer> seen = new ArrayList<>();
        try (BatchLoader.Epoch e = keep.epoch(0)) {
            int k = 0;
            for (Batch b : e) {
                int expect = k++ < 2 ? 4 : 2;
                assertEquals(expect, b.size());
                assertEquals(org.advmia.tensor.Shape.of(expect, 1, 4, 4), b.images().shape());
                assertEquals(org.advmia.tensor.Shape.of(expect), b.labels().shape());
                float[] img = Backends.toFloatArray(b.images()), lab = Backends.toFloatArray(b.labels());
                int[] idx = b.indices();
                for (int j = 0; j < expect; j++) {
                    assertEquals(idx[j] / 1000f, img[j * 16 + 5], "images follow the indices");
                    assertEquals(idx[j] % 3, lab[j], "labels follow the indices");
                    seen.add(idx[j]);
                }
            }
        }
        seen.sort(null);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), seen, "each sample once per epoch");
        BatchLoader drop = BatchLoader.builder(d, Split.TRAIN).batchSize(4).dropLast(true).build();
        assertEquals(2, drop.batchesPerEpoch());
        assertEquals(4, drain(drop, 0).size());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, drop.order(3), "no shuffle: dataset order");
        assertFalse(Arrays.equals(keep.order(0), keep.order(1)), "a new order each epoch");
    }

    @Test
    void batchesDoNotDependOnThreadTiming() {
        Dataset d = DataSpec.open("synthetic:lesion-seg?size=24&channels=3&n=40&seed=2");
        List<float[]> ref = null;
        for (int[] wp : new int[][] {{1, 1}, {3, 2}, {2, 6}}) {
            BatchLoader l = BatchLoader.builder(d, Split.TRAIN).batchSize(6).shuffle(7)
                    .augmentation(Augmentation.standard()).workers(wp[0]).prefetch(wp[1]).build();
            List<float[]> got = drain(l, 2);
            if (ref == null) {
                ref = got;
            } else {
                assertEquals(ref.size(), got.size());
                for (int i = 0; i < ref.size(); i++) assertArrayEquals(ref.get(i), got.get(i), "workers/prefetch " + Arrays.toString(wp));
            }
        }
        BatchLoader other = BatchLoader.builder(d, Split.TRAIN).batchSize(6).shuffle(8).augmentation(Augmentation.standard()).build();
        assertFalse(Arrays.equals(ref.get(0), drain(other, 2).get(0)), "the seed matters");
    }

    @Test
    void workersStayAtMostPrefetchBatchesAhead() throws Exception {
        Counting d = new Counting(400, -1, 0);
        BatchLoader l = BatchLoader.builder(d, Split.TRAIN).batchSize(5).workers(2).prefetch(3).build();
        try (BatchLoader.Epoch e = l.epoch(0)) {
            awaitAtLeast(d.gets, 15);
            Thread.sleep(200);
            assertEquals(15, d.gets.get(), "3 batches of 5 prepared, then the workers wait");
            e.next();
            awaitAtLeast(d.gets, 20);
            Thread.sleep(200);
            assertEquals(20, d.gets.get(), "taking one batch lets exactly one more be made");
        }
    }

    static void awaitAtLeast(AtomicInteger counter, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (counter.get() < n && System.nanoTime() < deadline) Thread.sleep(5);
    }

    @Test
    void noNativeMemoryLeaksAcrossEpochsEarlyExitsAndErrors() {
        Dataset d = DataSpec.open("synthetic:lesions?size=28&n=64&seed=1");
        BatchLoader l = BatchLoader.builder(d, Split.TRAIN).batchSize(8).shuffle(1).workers(2).prefetch(4).build();
        drain(l, 0); // warm the allocator's pool
        long before = Backends.defaultBackend().allocatorStats().bytesInUse();
        for (int epoch = 1; epoch < 4; epoch++) drain(l, epoch);
        try (BatchLoader.Epoch e = l.epoch(9)) {
            e.next(); // stop early with batches in flight
        }
        Batch kept;
        try (BatchLoader.Epoch e = l.epoch(10)) {
            kept = e.next().keep();
            e.next();
        }
        assertFalse(kept.images().isClosed(), "keep() hands the batch to the caller");
        kept.close();
        Counting bad = new Counting(40, 13, 0);
        BatchLoader failing = BatchLoader.builder(bad, Split.TRAIN).batchSize(4).workers(2).build();
        try (BatchLoader.Epoch e = failing.epoch(0)) {
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> {
                while (e.hasNext()) e.next();
            });
            assertEquals("counting: sample 13 is broken", x.getMessage(), "the worker's error, unchanged");
            assertFalse(e.hasNext());
        }
        assertEquals(before, Backends.defaultBackend().allocatorStats().bytesInUse(), "every batch tensor was freed");
    }

    @Test
    void batchTensorsBelongToTheBatchNotToTheCallersScope() {
        Counting d = new Counting(8, -1, 0);
        BatchLoader l = BatchLoader.builder(d, Split.VAL).batchSize(4).build();
        try (MemoryScope scope = MemoryScope.open(); BatchLoader.Epoch e = l.epoch(0)) {
            Batch b = e.next();
            assertEquals(0, scope.size());
            e.next();
            assertTrue(b.images().isClosed(), "the previous batch is closed by next()");
        }
    }

    @Test
    void classBalancedSamplingEvensOutARareClass() {
        Counting d = new Counting(1000, -1, 100); // 10% class 1
        BatchLoader l = BatchLoader.builder(d, Split.TRAIN).batchSize(100).balanced(true).shuffle(3).build();
        int ones = 0;
        for (int i : l.order(0)) ones += (int) d.label(Split.TRAIN, i)[0];
        assertTrue(ones > 440 && ones < 560, "about half the draws are the rare class: " + ones);
        assertEquals(1000, l.order(0).length, "an epoch draws size(split) samples");
        Dataset seg = DataSpec.open("synthetic:lesion-seg?size=16&n=10");
        assertThrows(IllegalArgumentException.class, () -> BatchLoader.builder(seg, Split.TRAIN).balanced(true).build());
    }

    @Test
    void flipsAndRotationsMoveImageAndMaskTogether() {
        float[] img = new float[2 * 3 * 4], mask = new float[12];
        for (int i = 0; i < 12; i++) {
            img[i] = i;
            img[12 + i] = 100 + i;
            mask[i] = i % 2;
        }
        float[] out = new float[24], mOut = new float[12];
        new Augmentation(0, 1, 0).apply(img, 2, 3, 4, out, 0, mask, mOut, 0, new java.util.SplittableRandom(0));
        assertArrayEquals(new float[] {3, 2, 1, 0}, Arrays.copyOfRange(out, 0, 4), "horizontal flip");
        assertEquals(103, out[12]);
        assertArrayEquals(new float[] {1, 0, 1, 0}, Arrays.copyOfRange(mOut, 0, 4));
        new Augmentation(0, 0, 1).apply(img, 2, 3, 4, out, 0, mask, mOut, 0, new java.util.SplittableRandom(0));
        assertArrayEquals(new float[] {8, 9, 10, 11}, Arrays.copyOfRange(out, 0, 4), "vertical flip");

        Dataset seg = DataSpec.open("synthetic:lesion-seg?size=32&channels=1&n=4");
        Sample s = seg.get(Split.TRAIN, 0);
        float[] r = new float[1024], rm = new float[1024];
        new Augmentation(20, 0, 0).apply(s.image(), 1, 32, 32, r, 0, s.label(), rm, 0, new java.util.SplittableRandom(5));
        assertFalse(Arrays.equals(s.image(), r), "rotated");
        int lesion = 0, before = 0;
        for (int p = 0; p < 1024; p++) {
            assertTrue(rm[p] == 0 || rm[p] == 1, "masks stay class indices");
            assertTrue(r[p] >= 0 && r[p] <= 1);
            lesion += (int) rm[p];
            before += (int) s.label()[p];
        }
        assertTrue(Math.abs(lesion - before) < before / 5, "rotation keeps the lesion's area: " + before + " -> " + lesion);
    }
}
