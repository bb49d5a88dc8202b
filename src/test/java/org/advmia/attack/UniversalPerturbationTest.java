package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Sample;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The universal perturbation on the shared trained TinyNet: fitted on a training set, measured on
 * held-out images that it never saw.
 */
class UniversalPerturbationTest {
    static final TrainedTinyNet net = TrainedTinyNet.Shared.NET;
    static final Dataset DATA = tensorDataset(TrainedTinyNet.data(240, 4242), TrainedTinyNet.data(200, 999));

    /** TinyNet's procedural task as a Dataset: train = fitting set, test = held-out images. */
    static Dataset tensorDataset(Tensor[] train, Tensor[] test) {
        float[][] x = {Backends.toFloatArray(train[0]), Backends.toFloatArray(test[0])};
        float[][] y = {Backends.toFloatArray(train[1]), Backends.toFloatArray(test[1])};
        int d = TrainedTinyNet.SIZE * TrainedTinyNet.SIZE;
        DatasetInfo info = new DatasetInfo("tinynet-stripes", Task.CLASSIFICATION, 1, TrainedTinyNet.SIZE,
                TrainedTinyNet.SIZE, TrainedTinyNet.CLASSES, DatasetInfo.numberedClasses(TrainedTinyNet.CLASSES));
        return new Dataset() {
            @Override
            public DatasetInfo info() {
                return info;
            }

            @Override
            public int size(Split s) {
                return s == Split.TRAIN ? y[0].length : s == Split.TEST ? y[1].length : 0;
            }

            @Override
            public Sample get(Split s, int i) {
                checkIndex(s, i);
                int k = s == Split.TRAIN ? 0 : 1;
                return new Sample(java.util.Arrays.copyOfRange(x[k], i * d, (i + 1) * d), new float[] {y[k][i]});
            }
        };
    }

    static UniversalPerturbation fitted(String name, double eps, long seed) {
        UniversalPerturbation u = (UniversalPerturbation) Attacks.create(name, net, eps,
                new Attacks.Overrides(null, null, null, null, seed, null, null, null));
        return u.fit(DATA, Split.TRAIN, 0);
    }

    @Test
    void perturbationRespectsItsNormBoundAndTheBox() {
        for (String name : new String[] {"uap", "uap-l2"}) {
            double eps = name.equals("uap") ? 0.1 : 1.2;
            UniversalPerturbation u = fitted(name, eps, 1);
            double[] delta = Backends.toDoubleArray(u.perturbation());
            double linf = 0, l2 = 0;
            for (double v : delta) {
                linf = Math.max(linf, Math.abs(v));
                l2 += v * v;
            }
            double size = Attacks.normOf(name) == Norm.L2 ? Math.sqrt(l2) : linf;
            assertTrue(size <= eps + 1e-6, name + ": ||delta|| = " + size + " > eps " + eps);
            assertTrue(size > 0.5 * eps, name + ": fitting left delta small: " + size);
            try (MemoryScope s = MemoryScope.open(); AttackResult r = u.run(TrainedTinyNet.Shared.X, TrainedTinyNet.Shared.Y,
                    null)) {
                float[] x = Backends.toFloatArray(TrainedTinyNet.Shared.X), a = Backends.toFloatArray(r.adversarial());
                int d = delta.length;
                for (int k = 0; k < a.length; k++) {
                    assertTrue(a[k] >= 0 && a[k] <= 1, name + ": outside the box");
                    // Image-agnostic: every image moves by the same delta, except where the box clips it.
                    float want = (float) Math.min(1, Math.max(0, x[k] + (float) delta[k % d]));
                    assertEquals(want, a[k], 0f, name + ": element " + k);
                }
                // A fitted perturbation is applied, not refitted: no gradients on held-out images.
                assertEquals(0, r.gradientEvaluations(), name);
            }
            u.release();
        }
    }

    @Test
    void foolsHeldOutImagesFarMoreThanRandomNoiseOfTheSameNorm() {
        double eps = 0.15;
        UniversalPerturbation u = fitted("uap", eps, 1);
        double fooling = UniversalPerturbation.foolingRate(net, DATA, Split.TEST, 0, 50, u.perturbation(), 0, 1);
        double random;
        try (Tensor noise = u.randomNoiseOfSameNorm(5)) {
            random = UniversalPerturbation.foolingRate(net, DATA, Split.TEST, 0, 50, noise, 0, 1);
        }
        // 200 held-out images, binomial SE <= 0.035: a gap of 0.2 (~6 SE) leaves no room for luck.
        // Measured: fooling rate 0.37 on held-out images vs 0.0 for random vertices of the same L-inf
        // ball, which barely move this model (its features average over 3x3 windows and pooling).
        assertTrue(fooling > random + 0.2, "fooling rate " + fooling + " vs random noise " + random);
        u.release();
    }

    @Test
    void sameSeedSameDeltaAndZeroEpsFoolsNothing() {
        UniversalPerturbation a = fitted("uap", 0.1, 3), b = fitted("uap", 0.1, 3), c = fitted("uap", 0.1, 4);
        assertArrayEquals(Backends.toFloatArray(a.perturbation()), Backends.toFloatArray(b.perturbation()));
        // A different seed draws a different minibatch order, so a different delta.
        assertTrue(!java.util.Arrays.equals(Backends.toFloatArray(a.perturbation()), Backends.toFloatArray(c.perturbation())));
        UniversalPerturbation zero = fitted("uap", 0, 3);
        for (float v : Backends.toFloatArray(zero.perturbation())) assertEquals(0f, v);
        assertEquals(0.0, UniversalPerturbation.foolingRate(net, DATA, Split.TEST, 0, 50, zero.perturbation(), 0, 1));
        for (UniversalPerturbation u : new UniversalPerturbation[] {a, b, c, zero}) u.release();
    }

    @Test
    void refusesMismatchedImagesAndTargets() {
        UniversalPerturbation u = fitted("uap", 0.1, 1);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor other = Backends.tensor(new float[2 * 8 * 8], 2, 1, 8, 8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> u.run(other, Backends.tensor(new float[2], 2), null));
            assertTrue(e.getMessage().contains("do not match the fitted perturbation"), e.getMessage());
        }
        u.release();
    }
}
