package org.advmia.data;

import java.util.ArrayList;
import java.util.List;

/**
 * What a dataset holds: every sample is an image of channels x height x width with values in
 * [0, 1], and a label for the given task over the given classes.
 */
public record DatasetInfo(String name, Task task, int channels, int height, int width, int classes,
                          List<String> classNames) {
    public DatasetInfo {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException(name + ": images must have 1 or 3 channels, got " + channels);
        }
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException(name + ": image size " + height + "x" + width + " is not positive");
        }
        if (classes < 2) throw new IllegalArgumentException(name + ": needs at least 2 classes, got " + classes);
        if (classNames.size() != classes) {
            throw new IllegalArgumentException(name + ": " + classes + " classes but " + classNames.size() + " names");
        }
        classNames = List.copyOf(classNames);
    }

    /** Class names "0", "1", ... for datasets that carry none. */
    public static List<String> numberedClasses(int classes) {
        List<String> names = new ArrayList<>(classes);
        for (int i = 0; i < classes; i++) names.add(Integer.toString(i));
        return names;
    }

    /** Floats per image: channels * height * width. */
    public int imageSize() {
        return channels * height * width;
    }

    /** Floats per label: 1, classes, or height * width. */
    public int labelSize() {
        return switch (task) {
            case CLASSIFICATION -> 1;
            case MULTILABEL -> classes;
            case SEGMENTATION -> height * width;
        };
    }

    /** The shape of a batch's label tensor for n samples. */
    public long[] labelShape(int n) {
        return switch (task) {
            case CLASSIFICATION -> new long[] {n};
            case MULTILABEL -> new long[] {n, classes};
            case SEGMENTATION -> new long[] {n, height, width};
        };
    }
}
