package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;
import static org.advmia.autograd.GradCheck.uniform;
import static org.advmia.autograd.GradCheck.values;

import java.util.Random;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Finite-difference checks (float64) of every loss. */
class LossesGradientTest {
    private final Random r = new Random(3);
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void logSoftmaxAndSoftmax() {
        check("log_softmax", v -> Losses.logSoftmax(v[0]), uniform(r, -3, 3, 3, 5));
        check("softmax", v -> Losses.softmax(v[0]), uniform(r, -3, 3, 2, 4));
    }

    @Test
    void crossEntropy() {
        Tensor labels = values(new double[] {0, 3, 1}, 3);
        Tensor weights = values(new double[] {0.5, 1.0, 2.0, 1.5}, 4);
        check("ce", v -> Losses.crossEntropy(v[0], labels), uniform(r, -3, 3, 3, 4));
        check("ce weighted smoothed", v -> Losses.crossEntropy(v[0], labels, weights, 0.1), uniform(r, -3, 3, 3, 4));
        check("ce per sample", v -> Losses.crossEntropyPerSample(v[0], labels, null, 0.2), uniform(r, -3, 3, 3, 4));
        Tensor pixels = values(new double[] {0, 1, 2, 1, 0, 2, 2, 1}, 2, 2, 2);
        check("ce segmentation", v -> Losses.crossEntropy(v[0], pixels), uniform(r, -2, 2, 2, 3, 2, 2));
    }

    @Test
    void binaryCrossEntropy() {
        Tensor t = values(new double[] {1, 0, 1, 0, 0, 1}, 2, 3);
        Tensor pw = values(new double[] {2, 0.5, 1}, 3);
        check("bce", v -> Losses.bceWithLogits(v[0], t, null), uniform(r, -4, 4, 2, 3));
        check("bce pos_weight", v -> Losses.bceWithLogits(v[0], t, pw), uniform(r, -4, 4, 2, 3));
    }

    @Test
    void klDivergence() {
        check("kl", v -> Losses.klDivergence(Losses.logSoftmax(v[0]), Losses.logSoftmax(v[1])),
                uniform(r, -2, 2, 3, 4), uniform(r, -2, 2, 3, 4));
        check("kl per sample", v -> Losses.klDivergencePerSample(Losses.logSoftmax(v[0]), Losses.logSoftmax(v[1])),
                uniform(r, -2, 2, 3, 4), uniform(r, -2, 2, 3, 4));
    }

    @Test
    void marginLosses() {
        Tensor labels = values(new double[] {0, 2, 4}, 3);
        Tensor targets = values(new double[] {1, 0, 3}, 3);
        check("margin", v -> Losses.margin(v[0], labels), uniform(r, -3, 3, 3, 5));
        check("cw untargeted", v -> Losses.cwLossPerSample(v[0], labels, 0.5, false), uniform(r, -3, 3, 3, 5));
        check("cw targeted", v -> Losses.cwLossPerSample(v[0], targets, 0.5, true), uniform(r, -3, 3, 3, 5));
        check("dlr", v -> Losses.dlrPerSample(v[0], labels, null), uniform(r, -3, 3, 3, 5));
        check("dlr targeted", v -> Losses.dlrPerSample(v[0], labels, targets), uniform(r, -3, 3, 3, 5));
    }

    @Test
    void softDice() {
        Tensor labels = values(new double[] {0, 1, 2, 1, 0, 2, 2, 1, 1}, 1, 3, 3);
        check("soft dice", v -> Losses.softDice(v[0], labels, 1e-6), uniform(r, -2, 2, 1, 3, 3, 3));
    }
}
