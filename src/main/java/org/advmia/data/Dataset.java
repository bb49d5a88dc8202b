package org.advmia.data;

/**
 * A labelled image dataset with train, val and test splits and random access to samples. Open
 * one from a spec string with {@link DataSpec#open}; stream batches with {@link BatchLoader}.
 * Implementations are thread-safe: loader workers call {@link #get} concurrently.
 */
public interface Dataset {
    DatasetInfo info();

    int size(Split split);

    /** Sample i of a split (0 <= i < size(split)); errors name the file and row or offset. */
    Sample get(Split split, int index);

    /** Just the label of sample i; datasets override it when labels are cheaper than images. */
    default float[] label(Split split, int index) {
        return get(split, index).label();
    }

    /** Checks an index against a split's size. */
    default void checkIndex(Split split, int index) {
        int n = size(split);
        if (index < 0 || index >= n) {
            throw new IndexOutOfBoundsException(info().name() + ": " + split.key() + " index " + index
                    + " outside [0, " + n + ")");
        }
    }
}
