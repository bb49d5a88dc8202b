package org.advmia.defense.detect;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * The layers detectors read, from one forward pass through a model's {@link FeatureMaps} split:
 * the last convolutional feature map [N, C, h, w], its channel means [N, C] (the global-average-
 * pooled "last hidden layer" that feeds the classifier in ResNet-style models, and the
 * spatial-mean feature Lee et al. use), and the logits [N, classes]. {@code forward(x)} equals
 * {@code head(features(x))} op for op, so these logits are the model's own.
 */
record FeatureLayers(Variable map, Variable pooled, Variable logits) {
    static FeatureLayers of(Model model, Variable x) {
        FeatureMaps split = requireSplit(model, "detector");
        checkInput(model, x.value(), "input");
        Variable map = split.features(x);
        long n = map.shape().dim(0), c = map.shape().dim(1);
        Variable pooled = Ops.mean(Ops.reshape(map, n, c, -1), 2, false);
        return new FeatureLayers(map, pooled, split.head(map));
    }

    /** The feature map flattened to [N, C * h * w]. */
    Variable flatMap() {
        return Ops.reshape(map, map.shape().dim(0), -1);
    }

    static FeatureMaps requireSplit(Model model, String who) {
        if (model.task() != Model.Task.CLASSIFICATION || !(model instanceof FeatureMaps split)) {
            throw new IllegalArgumentException(who + ": needs a classification model that exposes its feature map"
                    + " (org.advmia.nn.FeatureMaps); model '" + model.name() + "' does not");
        }
        return split;
    }

    static void checkInput(Model model, Tensor x, String what) {
        if (x.rank() != 4 || x.dim(1) != model.inChannels()) {
            throw new IllegalArgumentException("detector: " + what + " batch " + x.shape() + " is not [N, "
                    + model.inChannels() + ", H, W] for model '" + model.name() + "'");
        }
        long bad = Backends.of(x).countNonFinite(x);
        if (bad > 0) {
            throw new IllegalArgumentException("detector: " + what + " batch " + x.shape() + " contains " + bad
                    + " NaN or infinite values");
        }
    }
}
