package org.advmia.defense.detect;

import java.util.Random;
import org.advmia.autograd.GradCheck;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.tensor.DType;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Float64 finite-difference checks of each detector's differentiable score, from the input
 * through the feature layers, the detector's statistics and its logistic regression (GradCheck's
 * tolerance: |analytic - numeric| <= 1e-6 max(1, |numeric|)).
 *
 * <p>The model is a smooth one-layer feature map (tanh of the input, so the map is the input's
 * own geometry) with a linear head: the networks' own gradients are checked in
 * {@code autograd}, and here what matters is the detectors' math. Random inputs keep feature
 * distances comparable to feature norms; in the features of an untrained deep network all inputs
 * sit close together, and the squared-distance expansion |f|^2 - 2 f.r + |r|^2 (which the
 * detectors use, as sklearn does, because it is a GEMM) then cancels enough that central
 * differences, not the analytic gradient, lose the 1e-6 agreement. The selections the scores
 * hold fixed (nearest neighbours, closest class, predicted class) do not change under a 1e-6
 * perturbation of these inputs. Mahalanobis is checked without input preprocessing
 * (eps_noise = 0): with it, the differentiated function is the same score at the fixed
 * preprocessed point (straight-through).
 */
class DetectorGradientTest {
    static final int CHANNELS = 6, CLASSES = 4;

    /** features(x) = tanh(x) on [N, 6, 2, 2]; head = linear over the channel means. */
    static final class SmoothFeatures extends Model implements FeatureMaps {
        private final Linear fc;

        SmoothFeatures(Init init) {
            super("smooth-features", CHANNELS, CLASSES, Task.CLASSIFICATION);
            fc = register("fc", new Linear(CHANNELS, CLASSES, init));
        }

        @Override
        public Variable forward(Variable x) {
            return head(features(x));
        }

        @Override
        public Variable features(Variable x) {
            return Ops.tanh(x);
        }

        @Override
        public Variable head(Variable map) {
            return fc.forward(Ops.mean(Ops.reshape(map, map.shape().dim(0), CHANNELS, -1), 2, false));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lid", "mahalanobis", "kd-bu"})
    void scoreGradientMatchesFiniteDifferences(String name) {
        SmoothFeatures net = new SmoothFeatures(new Init(21, DType.FLOAT64));
        Random r = new Random(5);
        Tensor trainX = inputs(r, 80), trainY = labels(80), clean = inputs(r, 30), adv = inputs(r, 30);
        try (Detector d = name.equals("mahalanobis") ? new MahalanobisDetector(3, 0.0) : Detectors.create(name, 3)) {
            d.fit(net, trainX, trainY, clean, adv);
            GradCheck.check(name + " score", v -> d.score(v[0]), inputs(r, 3));
        }
    }

    private static Tensor inputs(Random r, int n) {
        return GradCheck.uniform(r, 0, 1, n, CHANNELS, 2, 2);
    }

    private static Tensor labels(int n) {
        double[] y = new double[n];
        for (int i = 0; i < n; i++) y[i] = i % CLASSES;
        return Backends.tensor(DType.FLOAT64, y, n);
    }
}
