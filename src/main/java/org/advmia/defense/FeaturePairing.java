package org.advmia.defense;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * Adversarial feature pairing, a feature-level robustness regulariser: PGD adversarial training
 * plus a penalty on how far the adversarial example moves the network's last convolutional
 * feature map (the {@link FeatureMaps} split, the layer Grad-CAM reads):
 * <pre>
 *   loss = CE(f(x'), y) + lambda * (1 / N) sum_i ||phi(x_i) - phi(x'_i)||^2 / D
 * </pre>
 * where phi is the feature map [N, C, h, w], D = C h w (so lambda does not depend on the layer's
 * size) and x' is the L-inf PGD example of {@link PgdAdversarialTraining}. It is the feature-space
 * form of adversarial logit pairing (Kannan, Kurakin and Goodfellow, "Adversarial Logit
 * Pairing", 2018), which pairs the logits instead; pairing intermediate features is the
 * feature-consistency idea of, e.g., Xie et al. (CVPR 2019), who argue that adversarial noise is
 * amplified in the feature maps. Gradients flow through both phi(x) and phi(x'), as in ALP.
 * Default lambda = 1 (config.beta is not reused: TRADES' beta 6 is for a KL term of another scale).
 */
public final class FeaturePairing extends Defense {
    public static final double DEFAULT_WEIGHT = 1.0;
    private final double weight;

    public FeaturePairing(DefenseConfig config, double weight) {
        super(config);
        if (!(weight >= 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("--pairing-weight must be a finite number >= 0, got " + weight);
        }
        this.weight = weight;
    }

    @Override
    public String name() {
        return "feature-pairing";
    }

    @Override
    public double relativeCost() {
        return 2 + config.steps();
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        requireSingleLabelClassification(model, y);
        if (!(model instanceof FeatureMaps)) {
            throw new IllegalArgumentException("feature-pairing needs a model split at its last convolutional feature map"
                    + " (smallcnn, resnet18, preact-resnet18, wrn-D-W, densenet121, mobilenetv2); " + model.name()
                    + " is not");
        }
        return pgd(model, x, y, config.steps(), config.stepSize(), true);
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        FeatureMaps split = (FeatureMaps) model;
        Variable advFeatures = split.features(Variable.constant(adv));
        Variable cleanFeatures = split.features(Variable.constant(x));
        Variable ce = Losses.crossEntropy(split.head(advFeatures), y);
        return Ops.add(ce, Ops.scale(pairingPenalty(cleanFeatures, advFeatures), weight));
    }

    /** (1 / N) sum_i ||a_i - b_i||^2 / D for feature maps [N, ...] with D values per sample: the mean squared difference. */
    public static Variable pairingPenalty(Variable a, Variable b) {
        return Ops.mean(Ops.square(Ops.sub(a, b)));
    }
}
