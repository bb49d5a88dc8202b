package org.advmia.defense.detect;

import org.advmia.attack.Attack;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * The detection protocol of the papers (Feinman et al., Ma et al., Lee et al.), for one model,
 * one attack and one eps: keep the fit-split and test inputs the model classifies correctly;
 * attack both; fit the detector on the clean fit inputs (negatives) and their successful
 * adversarial versions (positives), with the whole fit split as the clean training statistics;
 * score the clean test inputs and their adversarial versions. Then attack the test inputs again
 * with {@link AdaptiveDetectorAttack}, which knows the fitted detector, and score those.
 *
 * <p>{@link #prepare} crafts the non-adaptive adversarial examples once, so several detectors
 * can be evaluated on the same ones.
 */
public final class DetectionEvaluation implements AutoCloseable {
    private final Model model;
    private final String attackName;
    private final double eps;
    private final Tensor trainX, trainY, fitClean, fitAdversarial, testClean, testLabels, testAdversarial;
    private final boolean[] testSuccess;
    private final double attackSeconds;

    private DetectionEvaluation(Model model, String attackName, double eps, Tensor trainX, Tensor trainY,
                                Tensor fitClean, Tensor fitAdversarial, Tensor testClean, Tensor testLabels,
                                Tensor testAdversarial, boolean[] testSuccess, double attackSeconds) {
        this.model = model;
        this.attackName = attackName;
        this.eps = eps;
        this.trainX = trainX;
        this.trainY = trainY;
        this.fitClean = fitClean;
        this.fitAdversarial = fitAdversarial;
        this.testClean = testClean;
        this.testLabels = testLabels;
        this.testAdversarial = testAdversarial;
        this.testSuccess = testSuccess;
        this.attackSeconds = attackSeconds;
    }

    /**
     * Crafts the adversarial fit and test examples with attack (whose eps is the cell's eps).
     * Throws if fewer than 2 fit inputs are both classified correctly and successfully attacked.
     */
    public static DetectionEvaluation prepare(Model model, Attack attack, double eps, Tensor fitX, Tensor fitY,
                                              Tensor testX, Tensor testY) {
        FeatureLayers.requireSplit(model, "detection");
        long start = System.nanoTime();
        Tensor[] fit = correct(model, fitX, fitY), test = correct(model, testX, testY);
        if (test[0] == null) {
            throw new IllegalArgumentException("detection: the model classifies none of the " + testX.dim(0)
                    + " test inputs correctly; nothing to detect");
        }
        if (fit[0] == null) throw new IllegalArgumentException("detection: the model classifies none of the "
                + fitX.dim(0) + " fit inputs correctly");
        Tensor fitAdv, testAdv;
        boolean[] fitOk, testOk;
        fitAdv = attackInChunks(attack, fit[0], fit[1]);
        fitOk = misclassified(model, fitAdv, fit[1]);
        testAdv = attackInChunks(attack, test[0], test[1]);
        testOk = misclassified(model, testAdv, test[1]);
        int ok = 0;
        for (boolean b : fitOk) if (b) ok++;
        if (ok < 2) {
            throw new IllegalArgumentException("detection: " + attack.name() + " at eps " + String.format(java.util.Locale.ROOT,
                    "%.4g (%.2f/255)", eps, eps * 255) + " succeeded on " + ok
                    + " of " + fitOk.length + " correctly classified fit inputs; a detector needs at least 2 successful"
                    + " adversarial fit inputs (raise eps or the number of fit inputs)");
        }
        Tensor fitCleanOk = rows(fit[0], fitOk), fitAdvOk = rows(fitAdv, fitOk);
        fitAdv.close();
        fit[1].close();
        double seconds = (System.nanoTime() - start) / 1e9;
        return new DetectionEvaluation(model, attack.name(), eps, fitX, fitY, fitCleanOk, fitAdvOk, test[0], test[1],
                testAdv, testOk, seconds);
    }

    /**
     * For a detector fitted elsewhere (a saved one): crafts only the adversarial test examples;
     * {@link #measure} then scores them. {@link #evaluate} needs {@link #prepare}'s fit inputs.
     */
    public static DetectionEvaluation prepareTest(Model model, Attack attack, double eps, Tensor testX, Tensor testY) {
        FeatureLayers.requireSplit(model, "detection");
        long start = System.nanoTime();
        Tensor[] test = correct(model, testX, testY);
        if (test[0] == null) {
            throw new IllegalArgumentException("detection: the model classifies none of the " + testX.dim(0)
                    + " test inputs correctly; nothing to detect");
        }
        Tensor testAdv = attackInChunks(attack, test[0], test[1]);
        boolean[] testOk = misclassified(model, testAdv, test[1]);
        return new DetectionEvaluation(model, attack.name(), eps, null, null, null, null, test[0], test[1], testAdv,
                testOk, (System.nanoTime() - start) / 1e9);
    }

    /** Fits detector and measures it against this attack and against the adaptive attack. */
    public DetectionResult evaluate(Detector detector, Attacks.Overrides adaptiveOverrides, double lambda) {
        if (fitClean == null) throw new IllegalStateException("detection: prepared without fit inputs; use measure");
        long start = System.nanoTime();
        detector.fit(model, trainX, trainY, fitClean, fitAdversarial);
        return measure(detector, adaptiveOverrides, lambda, (int) fitClean.dim(0), (int) fitAdversarial.dim(0), start);
    }

    /**
     * Measures an already fitted detector (on this evaluation's model) against this attack and
     * against the adaptive attack; fitClean and fitAdversarial are reported as given (the fit
     * sizes recorded with a saved detector).
     */
    public DetectionResult measure(Detector detector, Attacks.Overrides adaptiveOverrides, double lambda, int fitClean,
                                   int fitAdversarial) {
        return measure(detector, adaptiveOverrides, lambda, fitClean, fitAdversarial, System.nanoTime());
    }

    private DetectionResult measure(Detector detector, Attacks.Overrides adaptiveOverrides, double lambda,
                                    int fitCleanCount, int fitAdversarialCount, long start) {
        if (!detector.isFitted()) throw new IllegalArgumentException("detection: detector " + detector.name() + " is not fitted");
        double[] clean = detector.score(testClean);
        DetectionQuality standard = DetectionQuality.of(clean, detector.score(testAdversarial), testSuccess);
        DetectionQuality adaptive;
        try (Tensor adv = attackInChunks(Detectors.adaptiveAttack(model, eps, adaptiveOverrides, detector, lambda),
                testClean, testLabels)) {
            adaptive = DetectionQuality.of(clean, detector.score(adv), misclassified(model, adv, testLabels));
        }
        double seconds = attackSeconds + (System.nanoTime() - start) / 1e9;
        return new DetectionResult(detector.name(), attackName, eps, fitCleanCount, fitAdversarialCount, standard,
                adaptive, seconds);
    }

    @Override
    public void close() {
        if (fitClean != null) fitClean.close();
        if (fitAdversarial != null) fitAdversarial.close();
        testClean.close();
        testLabels.close();
        testAdversarial.close();
    }

    /**
     * The attack's adversarial examples for x, {@link FeatureDetector#CHUNK} inputs per run so that
     * memory stays bounded for large fit sets; a kept tensor.
     */
    private static Tensor attackInChunks(Attack attack, Tensor x, Tensor y) {
        Backend be = Backends.of(x);
        Tensor out = be.empty(x.dtype(), x.shape()).keep();
        long n = x.dim(0), row = x.numel() / Math.max(1, n);
        for (long start = 0; start < n; start += FeatureDetector.CHUNK) {
            long len = Math.min(FeatureDetector.CHUNK, n - start);
            try (MemoryScope s = MemoryScope.open();
                 AttackResult r = attack.run(x.narrow0(start, len), y.narrow0(start, len), null)) {
                be.copyBlock(r.adversarial(), 0, len * row, out, start * row, len * row, 1, len * row);
            }
        }
        return out;
    }

    /** The inputs (and labels) the model classifies correctly, as kept tensors; nulls if none. */
    private static Tensor[] correct(Model model, Tensor x, Tensor y) {
        FeatureDetector.checkLabels(model, x, y);
        boolean[] ok = misclassified(model, x, y);
        for (int i = 0; i < ok.length; i++) ok[i] = !ok[i];
        int n = 0;
        for (boolean b : ok) if (b) n++;
        if (n == 0) return new Tensor[2];
        return new Tensor[] {rows(x, ok), rows(y, ok)};
    }

    private static boolean[] misclassified(Model model, Tensor x, Tensor y) {
        int n = (int) x.dim(0);
        float[] labels = Backends.toFloatArray(y);
        boolean[] wrong = new boolean[n];
        try (FeatureDetector.Frozen f = new FeatureDetector.Frozen(model)) {
            for (int start = 0; start < n; start += FeatureDetector.CHUNK) {
                int len = Math.min(FeatureDetector.CHUNK, n - start);
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor logits = model.logits(Variable.constant(x.narrow0(start, len))).value();
                    Backend be = Backends.of(logits);
                    Tensor am = be.empty(logits.dtype(), org.advmia.tensor.Shape.of(len));
                    be.argmax(logits, am);
                    float[] p = Backends.toFloatArray(am);
                    for (int i = 0; i < len; i++) wrong[start + i] = p[i] != labels[start + i];
                }
            }
        }
        return wrong;
    }

    /** The rows of x where keep is true, as a new kept tensor. */
    private static Tensor rows(Tensor x, boolean[] keep) {
        int n = 0;
        for (boolean b : keep) if (b) n++;
        long[] shape = x.shape().toArray();
        long row = x.numel() / Math.max(1, x.dim(0));
        shape[0] = n;
        Backend be = Backends.of(x);
        Tensor out = be.empty(x.dtype(), org.advmia.tensor.Shape.of(shape)).keep();
        for (int i = 0, j = 0; i < keep.length; i++) {
            if (keep[i]) be.copyBlock(x, i * row, row, out, j++ * row, row, 1, row);
        }
        return out;
    }
}
