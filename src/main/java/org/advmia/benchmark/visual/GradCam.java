package org.advmia.benchmark.visual;

import java.util.ArrayList;
import java.util.List;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Grad-CAM (Selvaraju et al., ICCV 2017) for the classification models that expose their last
 * feature map A = features(x) through {@link FeatureMaps}: channel weights
 * w_k = mean over (i, j) of d score_c / d A_k[i, j], map = ReLU(sum_k w_k A_k), divided by its
 * maximum. The score is the logit (pre-softmax), as in the paper. An all-zero map (no positive
 * evidence anywhere) stays all zero rather than being divided by zero.
 *
 * <p>The map is normalised twice: once at the feature map's resolution ({@link Maps#coarse}), and
 * again after the bilinear upsampling to the input size (align_corners = false, PyTorch's
 * F.interpolate convention). Bilinear interpolation lands between the coarse samples, so the
 * upsampled maximum is usually below 1; renormalising makes the colour map reach its hottest
 * colour at the hottest visible pixel. Both steps divide by a positive scalar, so the shape of
 * the map is unchanged.
 *
 * <p>The model runs in eval mode (BatchNorm running statistics, no Dropout), and its parameters
 * are frozen for the backward pass so that no weight gradient is computed or accumulated; its
 * training flag and each parameter's requires-grad flag are restored afterwards.
 */
public final class GradCam {
    private GradCam() {}

    /**
     * Heat maps of a batch: {@code coarse[n]} is [featureHeight * featureWidth] and
     * {@code upsampled[n]} is [height * width] (row-major), both in [0, 1].
     */
    public record Maps(int featureHeight, int featureWidth, float[][] coarse, int height, int width,
                       float[][] upsampled) {}

    /**
     * Grad-CAM of images [N, C, H, W] for classes[n] (one class per image, e.g. the predicted
     * one), upsampled to H x W. Returns N maps of H * W values in [0, 1], row-major. The batch
     * runs as one forward and backward pass, so its activations must fit in memory at once; eval
     * mode makes every image's map independent of the others, so callers may split large batches.
     */
    public static float[][] compute(Model model, Tensor images, int[] classes) {
        return maps(model, images, classes).upsampled();
    }

    /** Like {@link #compute}, also returning the maps at the feature map's own resolution. */
    public static Maps maps(Model model, Tensor images, int[] classes) {
        if (!(model instanceof FeatureMaps split)) {
            throw new IllegalArgumentException("Grad-CAM needs a classification model that exposes its last feature "
                    + "map (org.advmia.nn.FeatureMaps); model '" + model.name() + "' ("
                    + model.getClass().getSimpleName() + ") does not");
        }
        Shape s = images.shape();
        if (s.rank() != 4 || s.dim(1) != model.inChannels()) {
            throw new IllegalArgumentException("Grad-CAM: " + model.name() + " needs images [N, " + model.inChannels()
                    + ", H, W], got " + s);
        }
        int n = Math.toIntExact(s.dim(0)), height = Math.toIntExact(s.dim(2)), width = Math.toIntExact(s.dim(3));
        if (classes == null || classes.length != n) {
            throw new IllegalArgumentException("Grad-CAM: " + n + " images need " + n + " classes, got "
                    + (classes == null ? "null" : classes.length));
        }
        for (int i = 0; i < n; i++) {
            if (classes[i] < 0 || classes[i] >= model.numClasses()) {
                throw new IllegalArgumentException("Grad-CAM: class " + classes[i] + " of image " + i
                        + " is outside [0, " + model.numClasses() + ") for " + model.name());
            }
        }
        Backend b = Backends.of(images);
        long bad = b.countNonFinite(images);
        if (bad > 0) throw new IllegalArgumentException("Grad-CAM: images contain " + bad + " NaN or infinite values");

        boolean training = model.isTraining();
        List<Variable> params = model.parameters();
        List<Boolean> requires = new ArrayList<>(params.size());
        for (Variable p : params) requires.add(p.requiresGrad());
        model.eval();
        model.setRequiresGrad(false);
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor a;
            // The feature extractor needs no graph: the gradient is wanted only with respect to A.
            try (AutoCloseable ng = Autograd.noGrad()) {
                a = split.features(Variable.constant(images)).value();
            }
            Shape as = a.shape();
            if (as.rank() != 4 || as.dim(0) != n) {
                throw new IllegalStateException(model.name() + ": features() returned " + as + ", not [" + n
                        + ", C, h, w]");
            }
            Variable leaf = Variable.leaf(a, true);
            try {
                Variable logits = split.head(leaf);
                if (!logits.shape().equals(Shape.of(n, model.numClasses()))) {
                    throw new IllegalStateException(model.name() + ": head() returned " + logits.shape() + ", not ["
                            + n + ", " + model.numClasses() + "]");
                }
                double[] oneHot = new double[n * model.numClasses()];
                for (int i = 0; i < n; i++) oneHot[i * model.numClasses() + classes[i]] = 1;
                Tensor seed = b.empty(logits.dtype(), logits.shape());
                b.copyFromHost(oneHot, seed);
                logits.backward(seed);
                // A head that ignores its input (impossible for these models) leaves no gradient.
                Tensor g = leaf.grad();
                double[] av = Backends.toDoubleArray(a), gv = g == null ? new double[av.length] : Backends.toDoubleArray(g);
                int channels = Math.toIntExact(as.dim(1)), fh = Math.toIntExact(as.dim(2)), fw = Math.toIntExact(as.dim(3));
                double[] coarse = weightedMaps(av, gv, n, channels, fh * fw);
                for (int i = 0; i < n; i++) normaliseByMax(coarse, i * fh * fw, fh * fw);

                Tensor low = b.empty(a.dtype(), Shape.of(n, 1, fh, fw));
                b.copyFromHost(coarse, low);
                Tensor up = b.empty(a.dtype(), Shape.of(n, 1, height, width));
                b.upsample(true, false, low, up);
                double[] upsampled = Backends.toDoubleArray(up);
                for (int i = 0; i < n; i++) normaliseByMax(upsampled, i * height * width, height * width);
                return new Maps(fh, fw, rows(coarse, n, fh * fw), height, width, rows(upsampled, n, height * width));
            } finally {
                // Leaf gradients live outside scopes; this one is ours to free.
                leaf.releaseGrad();
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            if (training) model.train();
            for (int i = 0; i < params.size(); i++) params.get(i).setRequiresGrad(requires.get(i));
        }
    }

    /** ReLU(sum_k w_k A_k) per image, with w_k the spatial mean of the gradient over channel k. */
    private static double[] weightedMaps(double[] a, double[] g, int n, int channels, int plane) {
        double[] cam = new double[n * plane];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < channels; k++) {
                int base = (i * channels + k) * plane;
                double w = 0;
                for (int p = 0; p < plane; p++) w += g[base + p];
                w /= plane;
                for (int p = 0; p < plane; p++) cam[i * plane + p] += w * a[base + p];
            }
            for (int p = 0; p < plane; p++) cam[i * plane + p] = Math.max(0, cam[i * plane + p]);
        }
        return cam;
    }

    private static void normaliseByMax(double[] v, int from, int length) {
        double max = 0;
        for (int p = from; p < from + length; p++) max = Math.max(max, v[p]);
        if (max <= 0) return;
        for (int p = from; p < from + length; p++) v[p] /= max;
    }

    private static float[][] rows(double[] v, int n, int length) {
        float[][] out = new float[n][length];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < length; p++) out[i][p] = (float) v[i * length + p];
        }
        return out;
    }
}
