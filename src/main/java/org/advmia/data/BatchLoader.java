package org.advmia.data;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Streams one split of a dataset as batches of engine tensors. Each {@link #epoch(int)} starts
 * a small pool of worker threads that decode, augment and copy whole batches into native
 * memory, at most {@code prefetch} batches ahead of the consumer (a bounded window: workers
 * stop when it is full, which is the back-pressure). Batch k of epoch e depends only on the
 * seed, e and k, never on thread timing: the order (shuffled or class-balanced) is drawn per
 * epoch, and each sample's augmentation comes from a stream seeded by (seed, epoch, position).
 *
 * <pre>{@code
 * BatchLoader train = BatchLoader.builder(data, Split.TRAIN).batchSize(128).shuffle(seed)
 *         .augmentation(Augmentation.standard()).build();
 * BatchLoader val = BatchLoader.builder(data, Split.VAL).batchSize(256).build();  // select on VAL
 * for (int e = 0; e < epochs; e++) {
 *     try (BatchLoader.Epoch batches = train.epoch(e)) {
 *         for (Batch b : batches) { ... b.images() ... b.labels() ... }
 *     }
 * }
 * }</pre>
 */
public final class BatchLoader {
    private final Dataset data;
    private final Split split;
    private final DatasetInfo info;
    private final int batchSize, prefetch, workers;
    private final boolean shuffle, balanced, dropLast;
    private final long seed;
    private final Augmentation augmentation;
    private final Backend backend;
    private final double[] cumulativeWeights;
    private final ConcurrentLinkedQueue<float[]> imageBuffers = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<float[]> labelBuffers = new ConcurrentLinkedQueue<>();

    public static Builder builder(Dataset data, Split split) {
        return new Builder(data, split);
    }

    private BatchLoader(Builder b) {
        this.data = b.data;
        this.split = b.split;
        this.info = data.info();
        this.batchSize = b.batchSize;
        this.prefetch = b.prefetch > 0 ? b.prefetch : 2 * b.workers;
        this.workers = b.workers;
        this.shuffle = b.shuffle;
        this.balanced = b.balanced;
        this.dropLast = b.dropLast;
        this.seed = b.seed;
        this.augmentation = b.augmentation == null || b.augmentation.isIdentity() ? null : b.augmentation;
        this.backend = b.backend != null ? b.backend : Backends.defaultBackend();
        if (data.size(split) == 0) throw new IllegalArgumentException(info.name() + ": the " + split.key() + " split is empty");
        this.cumulativeWeights = balanced ? ClassBalance.cumulativeWeights(data, split) : null;
        if (batchesPerEpoch() == 0) {
            throw new IllegalArgumentException(info.name() + ": " + split.key() + " has " + data.size(split)
                    + " samples, fewer than one batch of " + batchSize + " with dropLast");
        }
    }

    public DatasetInfo info() {
        return info;
    }

    public Split split() {
        return split;
    }

    /** Samples per epoch: the split's size (class-balanced sampling draws that many with replacement). */
    public int samplesPerEpoch() {
        return data.size(split);
    }

    public int batchesPerEpoch() {
        int n = samplesPerEpoch();
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize;
    }

    /** The dataset indices that epoch e visits, in order. */
    public int[] order(int epoch) {
        int n = samplesPerEpoch();
        if (balanced) return ClassBalance.draw(cumulativeWeights, n, new SplittableRandom(Splits.mix(seed, epoch, 7)));
        if (shuffle) return Splits.permutation(n, new SplittableRandom(Splits.mix(seed, epoch, 5)));
        int[] id = new int[n];
        for (int i = 0; i < n; i++) id[i] = i;
        return id;
    }

    /** Starts epoch e; close it (try-with-resources) to stop its workers and free unread batches. */
    public Epoch epoch(int e) {
        return new Epoch(e);
    }

    /** Builds batch k of an epoch (on a worker thread); null once the epoch is closing. */
    private Batch produce(int epoch, int[] order, int k, java.util.function.BooleanSupplier closing) {
        if (closing.getAsBoolean()) return null;
        int start = k * batchSize, count = Math.min(batchSize, order.length - start);
        int imageSize = info.imageSize(), labelSize = info.labelSize();
        boolean full = count == batchSize;
        float[] img = full ? take(imageBuffers, count * imageSize) : new float[count * imageSize];
        float[] lab = full ? take(labelBuffers, count * labelSize) : new float[count * labelSize];
        int[] indices = new int[count];
        for (int j = 0; j < count; j++) {
            if (closing.getAsBoolean()) return null;
            int idx = order[start + j];
            indices[j] = idx;
            Sample s = data.get(split, idx);
            check(s, idx, imageSize, labelSize);
            if (augmentation != null) {
                SplittableRandom rng = new SplittableRandom(Splits.mix(seed, epoch, start + j, 11));
                boolean seg = info.task() == Task.SEGMENTATION;
                augmentation.apply(s.image(), info.channels(), info.height(), info.width(), img, j * imageSize,
                        seg ? s.label() : null, lab, j * labelSize, rng);
                if (!seg) System.arraycopy(s.label(), 0, lab, j * labelSize, labelSize);
            } else {
                System.arraycopy(s.image(), 0, img, j * imageSize, imageSize);
                System.arraycopy(s.label(), 0, lab, j * labelSize, labelSize);
            }
        }
        Tensor images = null, labels = null;
        try {
            images = backend.empty(DType.FLOAT32, Shape.of(count, info.channels(), info.height(), info.width()));
            backend.copyFromHost(img, images);
            labels = backend.empty(DType.FLOAT32, Shape.of(info.labelShape(count)));
            backend.copyFromHost(lab, labels);
        } catch (RuntimeException e) {
            if (images != null) images.close();
            if (labels != null) labels.close();
            throw e;
        }
        if (full) {
            imageBuffers.offer(img);
            labelBuffers.offer(lab);
        }
        return new Batch(images, labels, indices);
    }

    private static float[] take(ConcurrentLinkedQueue<float[]> pool, int length) {
        float[] a = pool.poll();
        return a != null && a.length == length ? a : new float[length];
    }

    /** A sample that does not match the dataset's info is a loader bug; say which one. */
    private void check(Sample s, int idx, int imageSize, int labelSize) {
        String where = info.name() + " " + split.key() + " sample " + idx;
        if (s.image().length != imageSize || s.label().length != labelSize) {
            throw new IllegalStateException(where + ": image of " + s.image().length + " and label of " + s.label().length
                    + " values, expected " + imageSize + " and " + labelSize);
        }
        if (info.task() == Task.MULTILABEL) return;
        for (float v : s.label()) {
            if (v < 0 || v >= info.classes() || v != Math.rint(v)) {
                throw new IllegalStateException(where + ": label " + v + " is not a class in [0, " + info.classes() + ")");
            }
        }
    }

    /** One pass over the split: an iterator of batches that owns its worker threads. */
    public final class Epoch implements Iterator<Batch>, Iterable<Batch>, AutoCloseable {
        private final int epoch, batches;
        private final int[] order;
        private final ExecutorService pool;
        private final ArrayDeque<Future<Batch>> window = new ArrayDeque<>();
        private int submitted, consumed;
        private Batch last;
        private boolean closed;
        private volatile boolean closing;
        private long waitNanos;

        private Epoch(int epoch) {
            this.epoch = epoch;
            this.order = order(epoch);
            this.batches = batchesPerEpoch();
            AtomicInteger n = new AtomicInteger();
            this.pool = Executors.newFixedThreadPool(workers, r -> {
                Thread t = new Thread(r, "advmia-data-" + info.name() + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            while (submitted < Math.min(prefetch, batches)) submitNext();
        }

        private void submitNext() {
            int k = submitted++;
            window.add(pool.submit(() -> produce(epoch, order, k, () -> closing)));
        }

        @Override
        public Iterator<Batch> iterator() {
            return this;
        }

        @Override
        public boolean hasNext() {
            return !closed && consumed < batches;
        }

        @Override
        public Batch next() {
            if (closed) throw new IllegalStateException("epoch " + epoch + " of " + info.name() + " is closed");
            if (consumed >= batches) throw new NoSuchElementException();
            releaseLast();
            Future<Batch> f = window.poll();
            long t0 = System.nanoTime();
            Batch b;
            try {
                b = f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a batch", e);
            } catch (ExecutionException e) {
                close();
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) throw r;
                if (c instanceof Error err) throw err;
                throw new IllegalStateException(c);
            } finally {
                waitNanos += System.nanoTime() - t0;
            }
            consumed++;
            if (submitted < batches) submitNext();
            last = b;
            return b;
        }

        private void releaseLast() {
            if (last != null && !last.isKept()) last.close();
            last = null;
        }

        /** Time next() spent waiting for workers so far: near zero when loading keeps up. */
        public double waitSeconds() {
            return waitNanos / 1e9;
        }

        public int batchesConsumed() {
            return consumed;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            closing = true;
            releaseLast();
            // No cancel(): a running task would still make its batch, and nobody would close it.
            // Queued tasks see the flag and return null; running ones stop at the next sample.
            boolean interrupted = false;
            for (Future<Batch> f : window) {
                while (true) {
                    try {
                        Batch b = f.get();
                        if (b != null) b.close();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                    } catch (ExecutionException e) {
                        break; // a failed batch holds no tensors
                    }
                }
            }
            if (interrupted) Thread.currentThread().interrupt();
            window.clear();
            pool.shutdown();
        }
    }

    /** Loader settings; defaults: batch 64, no shuffle, no augmentation, keep the last partial batch. */
    public static final class Builder {
        private final Dataset data;
        private final Split split;
        private int batchSize = 64, prefetch, workers = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        private boolean shuffle, balanced, dropLast;
        private long seed;
        private Augmentation augmentation;
        private Backend backend;

        private Builder(Dataset data, Split split) {
            if (data == null || split == null) throw new IllegalArgumentException("BatchLoader needs a dataset and a split");
            this.data = data;
            this.split = split;
        }

        public Builder batchSize(int n) {
            if (n <= 0) throw new IllegalArgumentException("batch size must be positive, got " + n);
            batchSize = n;
            return this;
        }

        /** Reshuffles every epoch from this seed (also seeds augmentation and balanced sampling). */
        public Builder shuffle(long seed) {
            this.shuffle = true;
            this.seed = seed;
            return this;
        }

        /** Seeds augmentation without shuffling. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder augmentation(Augmentation a) {
            augmentation = a;
            return this;
        }

        /**
         * Class-balanced sampling, like PyTorch's WeightedRandomSampler with replacement: each
         * epoch draws size(split) samples with probability inversely proportional to their
         * class's frequency (multi-label: the rarest positive class; none positive counts as a
         * class of its own). Not for segmentation.
         */
        public Builder balanced(boolean on) {
            balanced = on;
            return this;
        }

        public Builder dropLast(boolean on) {
            dropLast = on;
            return this;
        }

        /** Batches prepared ahead of the consumer (default 2 x workers). */
        public Builder prefetch(int n) {
            if (n <= 0) throw new IllegalArgumentException("prefetch must be positive, got " + n);
            prefetch = n;
            return this;
        }

        /** Worker threads per epoch (default min(4, cores)). */
        public Builder workers(int n) {
            if (n <= 0) throw new IllegalArgumentException("workers must be positive, got " + n);
            workers = n;
            return this;
        }

        /** Where batch tensors live (default: the process default backend). */
        public Builder backend(Backend b) {
            backend = b;
            return this;
        }

        public BatchLoader build() {
            return new BatchLoader(this);
        }
    }
}
