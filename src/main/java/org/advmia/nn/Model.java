package org.advmia.nn;

import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;

/**
 * A complete network that maps images [N, C, H, W] in [0, 1] to logits: [N, classes] for
 * classification (single- or multi-label), [N, classes, H, W] for segmentation.
 * {@link #logits} validates the input before running {@link #forward}.
 */
public abstract class Model extends Module {
    public enum Task { CLASSIFICATION, SEGMENTATION }

    private final String name;
    private final int inChannels, numClasses;
    private final Task task;

    protected Model(String name, int inChannels, int numClasses, Task task) {
        if (inChannels <= 0) throw new IllegalArgumentException(name + ": in_channels must be positive, got " + inChannels);
        if (numClasses <= 0) throw new IllegalArgumentException(name + ": classes must be positive, got " + numClasses);
        this.name = name;
        this.inChannels = inChannels;
        this.numClasses = numClasses;
        this.task = task;
    }

    public String name() {
        return name;
    }

    public int inChannels() {
        return inChannels;
    }

    public int numClasses() {
        return numClasses;
    }

    public Task task() {
        return task;
    }

    /** Checks shape and finiteness of a batch, then runs the network. */
    public Variable logits(Variable x) {
        if (x.shape().rank() != 4 || x.shape().dim(1) != inChannels) {
            throw new IllegalArgumentException(name + ": input batch " + x.shape() + " is not [N, " + inChannels
                    + ", H, W]");
        }
        long bad = Backends.of(x.value()).countNonFinite(x.value());
        if (bad > 0) {
            throw new IllegalArgumentException(name + ": input batch " + x.shape() + " contains " + bad
                    + " NaN or infinite values");
        }
        return forward(x);
    }
}
