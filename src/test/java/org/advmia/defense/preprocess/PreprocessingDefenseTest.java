package org.advmia.defense.preprocess;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.advmia.attack.AttackMetrics;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.attack.SanityFlags;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.autograd.Losses;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Conv2d;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.optim.Sgd;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Preprocessing defenses look robust under a naive gradient attack (gradient masking) and are
 * broken by the adaptive ones: BPDA for non-differentiable transforms, EOT for random ones.
 */
class PreprocessingDefenseTest {
    static final int SIZE = 12;
    static Model net;
    static Tensor x, y;

    static final class Net extends Model {
        final Conv2d conv;
        final Linear fc;

        Net(Init init) {
            super("net", 1, 2, Task.CLASSIFICATION);
            conv = register("conv", new Conv2d(1, 6, 3, 1, 1, 1, 1, true, init));
            fc = register("fc", new Linear(6 * 6 * 6, 2, init));
        }

        @Override
        public Variable forward(Variable v) {
            return fc.forward(NnOps.maxPool2d(Ops.relu(conv.forward(v)), 2, 2, 0, false));
        }
    }

    /** Bright upper half vs bright lower half, with noise: easy, smooth, non-robust. */
    static Tensor[] data(int n, long seed) {
        Random r = new Random(seed);
        float[] img = new float[n * SIZE * SIZE], lab = new float[n];
        for (int i = 0; i < n; i++) {
            lab[i] = i % 2;
            for (int h = 0; h < SIZE; h++) {
                for (int w = 0; w < SIZE; w++) {
                    boolean bright = (h < SIZE / 2) == (i % 2 == 0);
                    img[i * SIZE * SIZE + h * SIZE + w] =
                            (float) Math.min(1, Math.max(0, (bright ? 0.6 : 0.4) + 0.1 * r.nextGaussian()));
                }
            }
        }
        return new Tensor[] {Backends.tensor(img, n, 1, SIZE, SIZE), Backends.tensor(lab, n)};
    }

    @BeforeAll
    static void train() {
        net = new Net(Init.seeded(2));
        try (Sgd sgd = new Sgd(net.namedParameters(), 0.1, 0.9, 0)) {
            for (int step = 0; step < 40; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor[] b = data(40, step);
                    net.zeroGrad();
                    Losses.crossEntropy(net.logits(Variable.constant(b[0])), b[1]).backward();
                    sgd.step();
                }
            }
        }
        net.eval();
        Tensor[] d = data(100, 999);
        x = d[0].keep();
        y = d[1].keep();
    }

    @AfterAll
    static void free() {
        net.close();
        x.close();
        y.close();
    }

    static double robust(Model m, double eps, int eot) {
        try (MemoryScope s = MemoryScope.open();
             AttackResult r = Attacks.create("pgd", m, eps, new Attacks.Overrides(20, eps / 5, true, null, 1L, null, null,
                     null)).withEot(eot).run(x, y, null)) {
            return AttackMetrics.of(m, x, r.adversarial(), y, r).robustAccuracy();
        }
    }

    @Test
    void transformsComputeWhatTheySay() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor t = Backends.tensor(new float[] {0.1f, 0.49f, 0.51f, 0.9f}, 1, 1, 2, 2);
            float[] q = Backends.toFloatArray(new BitDepthReduction(1).apply(Variable.constant(t), new Generator(0)).value());
            assertArrayEquals(new float[] {0, 0, 1, 1}, q);
            Variable rp = new RandomResizePadding(0.5).apply(Variable.constant(x), new Generator(3));
            assertEquals(x.shape(), rp.shape());
            // JPEG at quality 95 is close to the identity; at quality 10 it quantises away most of the
            // high-frequency energy of i.i.d. noise, so the noise's total variation drops.
            java.util.Random rnd = new java.util.Random(4);
            float[] img = new float[32 * 32];
            for (int k = 0; k < img.length; k++) img[k] = (float) (0.5 + 0.15 * rnd.nextGaussian());
            Tensor noisy = Backends.tensor(img, 1, 1, 32, 32);
            float[] hi = Backends.toFloatArray(new JpegCompression(95).apply(Variable.constant(noisy), new Generator(0)).value());
            float[] lo = Backends.toFloatArray(new JpegCompression(10).apply(Variable.constant(noisy), new Generator(0)).value());
            double tvIn = 0, tvLo = 0, maxHi = 0;
            for (int k = 1; k < img.length; k++) {
                float v = Math.min(1, Math.max(0, img[k])), u = Math.min(1, Math.max(0, img[k - 1]));
                tvIn += Math.abs(v - u);
                tvLo += Math.abs(lo[k] - lo[k - 1]);
                maxHi = Math.max(maxHi, Math.abs(hi[k] - v));
            }
            assertTrue(maxHi < 0.1, "JPEG q95 changed a pixel by " + maxHi);
            assertTrue(tvLo < 0.7 * tvIn, "JPEG q10 should remove noise: total variation " + tvIn + " -> " + tvLo);
        }
    }

    @Test
    void bpdaBreaksWhatTheNaiveAttackCalledRobust() {
        for (InputTransform t : List.of(new MedianFilter(3), new BitDepthReduction(3), new JpegCompression(50))) {
            try (MemoryScope s = MemoryScope.open()) {
                PreprocessedModel naive = new PreprocessedModel(net, t, 1, false);
                PreprocessedModel adaptive = new PreprocessedModel(net, t, 1, true);
                double eps = 0.15;
                double clean = AttackMetrics.of(adaptive, x, x, y, null).cleanAccuracy();
                double masked = robust(naive, eps, 1), bpda = robust(adaptive, eps, 1);
                assertTrue(clean > 0.9, t.name() + " clean " + clean);
                assertEquals(clean, masked, 1e-12, t.name() + ": the naive attack has no gradient and changes nothing");
                assertTrue(!SanityFlags.checkZeroGradients(naive, x, y).isEmpty(), "zero gradients must be flagged");
                assertTrue(SanityFlags.checkZeroGradients(adaptive, x, y).isEmpty(), "BPDA gradients are not zero");
                assertTrue(bpda < masked - 0.4, t.name() + ": BPDA robust " + bpda + " vs naive " + masked);
                assertTrue(adaptive.adaptiveEvaluation().startsWith("BPDA"), adaptive.adaptiveEvaluation());
            }
        }
    }

    @Test
    void eotBeatsSingleSampleAttacksOnRandomisedDefense() {
        try (MemoryScope s = MemoryScope.open()) {
            PreprocessedModel randomised = new PreprocessedModel(net, new RandomResizePadding(0.7), 5);
            assertTrue(!SanityFlags.checkModel(randomised, x).isEmpty(), "randomness must be flagged");
            double eps = 0.08;
            double single = robust(randomised, eps, 1), eot = robust(randomised, eps, randomised.recommendedEotSamples());
            assertTrue(eot <= single, "EOT robust " + eot + " vs single-sample " + single);
            assertTrue(randomised.adaptiveEvaluation().contains("EOT over 10 samples"), randomised.adaptiveEvaluation());
        }
    }
}
