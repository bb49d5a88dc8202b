package org.advmia.nn.models;

import org.advmia.autograd.Variable;
import org.advmia.nn.Activation;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Dropout;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.Pool2d;
import org.advmia.nn.Sequential;

/**
 * The standard small robustness CNN (TRADES / MART MNIST network): 3x3 convolutions without
 * padding, conv(32) ReLU conv(32) ReLU maxpool2 conv(64) ReLU conv(64) ReLU maxpool2, then
 * fc(200) ReLU dropout(0.5) fc(200) ReLU fc(classes). Names: features.{0,2,5,7},
 * classifier.{0,3,5}; the flattened size follows from the input size.
 */
public final class SmallCnn extends Model implements FeatureMaps {
    /**
     * Index of the final max-pool in {@code features}; the feature map for Grad-CAM stops before
     * it, as Selvaraju et al. do for VGG-16 (relu5_3: the last conv's ReLU, before pool5). It has
     * twice the resolution of the pooled map (8x8 instead of 4x4 on 28x28 inputs), and since the
     * pool hands each output's gradient to one input, the channel weights (spatial means of the
     * gradient) are those of the pooled map up to one common factor, which the normalisation
     * removes.
     */
    private static final int LAST_POOL = 9;
    private final Sequential features, classifier;

    public SmallCnn(int inChannels, int classes, int height, int width, Init init) {
        super("smallcnn", inChannels, classes, Task.CLASSIFICATION);
        features = register("features", new Sequential(
                new Conv2d(inChannels, 32, 3, 0, init), Activation.relu(),
                new Conv2d(32, 32, 3, 0, init), Activation.relu(),
                Pool2d.max(2),
                new Conv2d(32, 64, 3, 0, init), Activation.relu(),
                new Conv2d(64, 64, 3, 0, init), Activation.relu(),
                Pool2d.max(2)));
        long fh = ((height - 4) / 2 - 4) / 2, fw = ((width - 4) / 2 - 4) / 2;
        if (fh <= 0 || fw <= 0) {
            throw new IllegalArgumentException("smallcnn: input " + height + "x" + width
                    + " is too small (needs >= 16x16)");
        }
        classifier = register("classifier", new Sequential(
                new Linear(Math.toIntExact(64 * fh * fw), 200, init), Activation.relu(),
                new Dropout(0.5, init),
                new Linear(200, 200, init), Activation.relu(),
                new Linear(200, classes, init)));
    }

    /**
     * The same function as {@code head(features(x))}, in fewer passes over memory: each ReLU
     * that feeds a convolution is fused into it ({@link Conv2d#forwardRelu}), and the ReLUs before
     * the max-pools move after them (max and ReLU commute: relu(max(a, b)) = max(relu(a),
     * relu(b)), and where the window's max is <= 0 both orders give the gradient 0), so they run
     * on a quarter of the elements. The float operations are the same (relu is exact), so logits
     * and gradients are bit-identical to head(features(x)) (SmallCnnFusedConvTest).
     */
    @Override
    public Variable forward(Variable x) {
        Variable h = features.get(0).forward(x);                       // conv1, before its ReLU
        Conv2d conv2 = (Conv2d) features.get(2), conv4 = (Conv2d) features.get(7);
        // max-pool(conv2(relu(.))), before conv2's ReLU; the pool is fused into the convolution
        // where its output has even size (always on 28x28 inputs), else the two run in sequence.
        h = evenOutput(h, 2) ? conv2.forwardMaxPool2(h, true) : features.get(4).forward(conv2.forwardRelu(h));
        h = ((Conv2d) features.get(5)).forwardRelu(h);                 // conv3(relu(.))
        h = evenOutput(h, 2) ? conv4.forwardMaxPool2(h, true) : features.get(LAST_POOL).forward(conv4.forwardRelu(h));
        return classifier.forward(features.get(8).forward(h));         // conv4's ReLU, after the pool
    }

    /** Whether a 3x3 unpadded convolution of h has an even output (its 2x2 pool windows are whole tiles). */
    private static boolean evenOutput(Variable h, int shrink) {
        return (h.shape().dim(2) - shrink) % 2 == 0 && (h.shape().dim(3) - shrink) % 2 == 0;
    }

    /** The last conv's ReLU output, before the final max-pool ([N, 64, 8, 8] on 28x28 inputs). */
    @Override
    public Variable features(Variable x) {
        Variable h = x;
        for (int i = 0; i < LAST_POOL; i++) h = features.get(i).forward(h);
        return h;
    }

    @Override
    public Variable head(Variable featureMap) {
        Variable h = featureMap;
        for (int i = LAST_POOL; i < features.size(); i++) h = features.get(i).forward(h);
        return classifier.forward(h);
    }
}
