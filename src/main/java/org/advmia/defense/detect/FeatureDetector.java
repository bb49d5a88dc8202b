package org.advmia.defense.detect;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * What LID, Mahalanobis and KD-BU share: a few per-input features computed through the engine
 * from the model's layers ({@link #features}), and a {@link LogisticRegression} on them trained
 * to tell clean (and, where the paper does, noisy) fit inputs from adversarial ones. The score is
 * the regression's decision value, an affine function of the features, so it is differentiable
 * wherever the features are.
 */
abstract class FeatureDetector implements Detector {
    /** Inputs per forward pass when scoring many inputs, which bounds the memory of one pass. */
    static final int CHUNK = 100;
    protected final long seed;
    protected final DeviceConstants constants = new DeviceConstants();
    protected Model model;
    private LogisticRegression regression;

    protected FeatureDetector(long seed) {
        this.seed = seed;
    }

    /** Learns the clean-data statistics the features need (class means, reference sets, ...). */
    protected abstract void prepare(Tensor trainX, Tensor trainY);

    /** The per-input features, each [N], as differentiable functions of x. */
    protected abstract Variable[] features(Variable x);

    /**
     * Whether noisy copies of the clean fit inputs join the negatives, as in Ma et al. (LID) and
     * Feinman et al. (KD-BU): Gaussian noise with, per input, the same expected L2 norm as its
     * adversarial perturbation, clipped to [0, 1]. It teaches the detector that a perturbation
     * alone is not evidence of an attack.
     */
    protected abstract boolean noisyNegatives();

    /** Hook for hyper-parameters chosen on the fit set (Mahalanobis' noise magnitude). */
    protected void select(Tensor clean, Tensor adversarial) {}

    @Override
    public final void fit(Model model, Tensor trainX, Tensor trainY, Tensor clean, Tensor adversarial) {
        FeatureLayers.requireSplit(model, name());
        FeatureLayers.checkInput(model, trainX, "training");
        FeatureLayers.checkInput(model, clean, "clean fit");
        FeatureLayers.checkInput(model, adversarial, "adversarial fit");
        checkLabels(model, trainX, trainY);
        if (!clean.shape().withDim(0, 1).equals(adversarial.shape().withDim(0, 1))) {
            throw new IllegalArgumentException(name() + ": clean fit inputs " + clean.shape()
                    + " and adversarial fit inputs " + adversarial.shape() + " differ in image shape");
        }
        if (noisyNegatives() && clean.dim(0) != adversarial.dim(0)) {
            throw new IllegalArgumentException(name() + ": clean fit inputs " + clean.shape() + " and adversarial fit"
                    + " inputs " + adversarial.shape() + " must pair up (the noisy negatives match each perturbation's norm)");
        }
        this.model = model;
        this.regression = null;
        constants.close();
        try (Frozen f = new Frozen(model)) {
            prepare(trainX, trainY);
            select(clean, adversarial);
            double[][] negatives = rows(clean);
            if (noisyNegatives()) {
                try (MemoryScope s = MemoryScope.open()) {
                    negatives = concat(negatives, rows(noisyCopies(clean, adversarial)));
                }
            }
            regression = LogisticRegression.fit(negatives, rows(adversarial));
        }
    }

    /** Fits a regression for the current hyper-parameters and returns its AUROC on the fit set. */
    protected final double fitSetAuroc(Tensor clean, Tensor adversarial) {
        double[][] neg = rows(clean), pos = rows(adversarial);
        LogisticRegression r = LogisticRegression.fit(neg, pos);
        double[] a = new double[neg.length], b = new double[pos.length];
        for (int i = 0; i < a.length; i++) a[i] = r.decision(neg[i]);
        for (int i = 0; i < b.length; i++) b[i] = r.decision(pos[i]);
        return DetectionMetrics.auroc(a, b);
    }

    @Override
    public boolean isFitted() {
        return regression != null;
    }

    @Override
    public final double[] score(Tensor x) {
        requireFitted();
        FeatureLayers.checkInput(model, x, name() + " scored");
        double[][] f;
        try (Frozen fr = new Frozen(model)) {
            f = rows(x);
        }
        double[] s = new double[f.length];
        for (int i = 0; i < s.length; i++) s[i] = regression.decision(f[i]);
        return s;
    }

    @Override
    public final Variable score(Variable x) {
        requireFitted();
        Variable[] f = features(x);
        double[] w = regression.weights();
        Variable s = Ops.addScalar(Ops.scale(f[0], w[0]), regression.bias());
        for (int j = 1; j < f.length; j++) s = Ops.add(s, Ops.scale(f[j], w[j]));
        return s;
    }

    /** The feature rows [N][features] of x, in chunks. */
    protected final double[][] rows(Tensor x) {
        int n = (int) x.dim(0);
        double[][] out = new double[n][];
        for (int start = 0; start < n; start += CHUNK) {
            int len = Math.min(CHUNK, n - start);
            try (MemoryScope s = MemoryScope.open()) {
                Variable[] f = features(Variable.constant(x.narrow0(start, len)));
                double[][] cols = new double[f.length][];
                for (int j = 0; j < f.length; j++) cols[j] = Backends.toDoubleArray(f[j].value());
                for (int i = 0; i < len; i++) {
                    out[start + i] = new double[f.length];
                    for (int j = 0; j < f.length; j++) {
                        out[start + i][j] = cols[j][i];
                        if (!Double.isFinite(cols[j][i])) {
                            throw new IllegalStateException(name() + ": feature " + j + " of input " + (start + i)
                                    + " is " + cols[j][i]);
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Host copies of a layer's values for many inputs, [N][D], through the engine in chunks. */
    protected final double[][] layerRows(Tensor x, java.util.function.Function<FeatureLayers, Variable> layer) {
        int n = (int) x.dim(0);
        double[][] out = new double[n][];
        for (int start = 0; start < n; start += CHUNK) {
            int len = Math.min(CHUNK, n - start);
            try (MemoryScope s = MemoryScope.open()) {
                Variable v = layer.apply(FeatureLayers.of(model, Variable.constant(x.narrow0(start, len))));
                double[] flat = Backends.toDoubleArray(v.value());
                int d = flat.length / len;
                for (int i = 0; i < len; i++) {
                    out[start + i] = java.util.Arrays.copyOfRange(flat, i * d, (i + 1) * d);
                }
            }
        }
        return out;
    }

    private Tensor noisyCopies(Tensor clean, Tensor adversarial) {
        double[] c = Backends.toDoubleArray(clean), a = Backends.toDoubleArray(adversarial);
        int n = (int) clean.dim(0), d = c.length / n;
        Random r = new Random(seed ^ 0x5EEDL);
        double[] noisy = new double[c.length];
        for (int i = 0; i < n; i++) {
            double sq = 0;
            for (int j = i * d; j < (i + 1) * d; j++) sq += (a[j] - c[j]) * (a[j] - c[j]);
            double sigma = Math.sqrt(sq / d);
            for (int j = i * d; j < (i + 1) * d; j++) noisy[j] = Math.min(1, Math.max(0, c[j] + sigma * r.nextGaussian()));
        }
        return Backends.tensor(clean.dtype(), noisy, clean.shape().toArray());
    }

    private static double[][] concat(double[][] a, double[][] b) {
        double[][] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    protected final void requireFitted() {
        if (regression == null) throw new IllegalStateException(name() + ": detector is not fitted; call fit first");
    }

    static void checkLabels(Model model, Tensor x, Tensor y) {
        if (y.rank() != 1 || y.dim(0) != x.dim(0)) {
            throw new IllegalArgumentException("detector: training labels " + y.shape() + " must be [" + x.dim(0)
                    + "] (one class index per training input)");
        }
        float[] v = Backends.toFloatArray(y);
        for (int i = 0; i < v.length; i++) {
            if (v[i] != Math.rint(v[i]) || v[i] < 0 || v[i] >= model.numClasses()) {
                throw new IllegalArgumentException("detector: training label " + i + " is " + v[i] + "; expected a class"
                        + " index in [0, " + model.numClasses() + ")");
            }
        }
    }

    /** A [1, cols] tensor 0..cols-1 in dtype, for one-hot selections. */
    protected final Tensor iota(DType dtype, int cols) {
        double[] v = new double[cols];
        for (int i = 0; i < cols; i++) v[i] = i;
        return constants.get("iota" + cols, dtype, v, 1, cols);
    }

    protected final Backend backend() {
        return Backends.defaultBackend();
    }

    @Override
    public void close() {
        constants.close();
    }

    /** Puts the model in eval mode with frozen parameters, and restores both. */
    static final class Frozen implements AutoCloseable {
        private final Model model;
        private final boolean wasTraining;
        private final Map<Variable, Boolean> grads = new HashMap<>();

        Frozen(Model model) {
            this.model = model;
            wasTraining = model.isTraining();
            for (Variable p : model.parameters()) grads.put(p, p.requiresGrad());
            model.eval();
            model.setRequiresGrad(false);
        }

        @Override
        public void close() {
            for (Map.Entry<Variable, Boolean> e : grads.entrySet()) e.getKey().setRequiresGrad(e.getValue());
            if (wasTraining) model.train();
        }
    }
}
