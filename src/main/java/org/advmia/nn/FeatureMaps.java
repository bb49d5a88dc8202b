package org.advmia.nn;

import org.advmia.autograd.Variable;

/**
 * A classification network split at its last convolutional feature map, the layer that
 * class-activation methods (Grad-CAM) read: {@code forward(x)} is exactly
 * {@code head(features(x))}, op for op, so the split adds no numerical difference.
 *
 * <p>{@link #features} returns [N, C, h, w] after the last convolutional stage's activation and
 * before any global pooling or flattening; {@link #head} maps that to the logits [N, classes].
 * Neither validates the input the way {@link Model#logits} does.
 */
public interface FeatureMaps {
    /** The last convolutional feature map [N, C, h, w] of the batch x. */
    Variable features(Variable x);

    /** The logits [N, classes] computed from a feature map returned by {@link #features}. */
    Variable head(Variable features);
}
