package org.advmia.data;

import org.advmia.tensor.Tensor;

/**
 * One batch in engine tensors: images [N, C, H, W] in [0, 1] and labels ([N] class indices,
 * [N, classes] 0/1, or [N, H, W] masks), plus the dataset indices of its samples.
 *
 * <p>Ownership: the tensors belong to no MemoryScope (loader threads create them); the batch
 * owns them. A batch returned by {@link BatchLoader.Epoch#next()} is closed by the epoch at the
 * following next() or at the epoch's close, unless {@link #keep()} was called, in which case
 * the caller closes it. Closing twice is harmless.
 */
public final class Batch implements AutoCloseable {
    private final Tensor images, labels;
    private final int[] indices;
    private boolean kept;

    Batch(Tensor images, Tensor labels, int[] indices) {
        this.images = images;
        this.labels = labels;
        this.indices = indices;
    }

    public Tensor images() {
        return images;
    }

    public Tensor labels() {
        return labels;
    }

    /** Number of samples. */
    public int size() {
        return indices.length;
    }

    /** The dataset index (within the split) of each sample, in batch order. */
    public int[] indices() {
        return indices.clone();
    }

    /** Takes ownership away from the epoch: the caller now closes this batch. */
    public Batch keep() {
        kept = true;
        return this;
    }

    boolean isKept() {
        return kept;
    }

    @Override
    public void close() {
        images.close();
        labels.close();
    }
}
