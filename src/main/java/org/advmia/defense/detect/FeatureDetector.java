package org.advmia.defense.detect;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
    /** Metadata prefix of {@link #notes} in a saved detector. */
    private static final String NOTE = "note.";
    protected final long seed;
    protected final DeviceConstants constants = new DeviceConstants();
    protected Model model;
    private LogisticRegression regression;
    /** What the fitted state was computed on, kept for {@link #save} and checked by {@link #load}. */
    private long[] inputShape;
    private String fingerprint;
    private final LinkedHashMap<String, String> notes = new LinkedHashMap<>();

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

    /** The number of features the regression reads. */
    protected abstract int featureCount();

    /** Adds the fitted statistics and hyper-parameters (what {@link #readState} needs) to w. */
    protected abstract void writeState(DetectorFile.Writer w);

    /**
     * Restores what {@link #writeState} wrote. widths are the model's layer widths
     * ({@link #layerWidths}: flattened map, pooled map, logits), already checked against the file.
     */
    protected abstract void readState(DetectorFile.Reader r, long[] widths);

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
        this.inputShape = Arrays.copyOfRange(trainX.shape().toArray(), 1, 4);
        this.fingerprint = DetectorFile.fingerprint(model);
        notes.clear();
        notes.put("fit_clean", Long.toString(clean.dim(0)));
        notes.put("fit_adversarial", Long.toString(adversarial.dim(0)));
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

    @Override
    public final void save(Path file, Map<String, String> extra) throws IOException {
        requireFitted();
        notes.putAll(extra);
        DetectorFile.Writer w = new DetectorFile.Writer();
        w.meta("format", DetectorFile.FORMAT);
        w.meta("format_version", DetectorFile.VERSION);
        w.meta("detector", name());
        w.meta("seed", Long.toString(seed));
        w.meta("model", model.name());
        w.meta("model_classes", Integer.toString(model.numClasses()));
        w.meta("model_in_channels", Integer.toString(model.inChannels()));
        w.meta("model_fingerprint", fingerprint);
        w.meta("input_shape", join(inputShape));
        w.meta("feature_widths", join(layerWidths(model, inputShape)));
        for (Map.Entry<String, String> e : notes.entrySet()) w.meta(NOTE + e.getKey(), e.getValue());
        writeState(w);
        w.put("regression.weights", regression.weights(), featureCount());
        w.put("regression.bias", new double[] {regression.bias()}, 1);
        w.write(file);
    }

    /** See {@link Detectors#load}. */
    static Detector load(Path file, Model model) throws IOException {
        DetectorFile.Reader r = DetectorFile.Reader.open(file);
        String f = r.file(), name = r.meta("detector");
        if (!Detectors.NAMES.contains(name)) {
            throw new IllegalArgumentException(f + ": unknown detector '" + name + "'. Valid detectors: "
                    + String.join(", ", Detectors.NAMES));
        }
        FeatureLayers.requireSplit(model, f + " (" + name + ")");
        String fitted = r.meta("model");
        if (!fitted.equals(model.name()) || r.longMeta("model_classes", 1) != model.numClasses()
                || r.longMeta("model_in_channels", 1) != model.inChannels()) {
            throw new IllegalArgumentException(f + ": detector " + name + " was fitted on model '" + fitted + "' ("
                    + r.meta("model_in_channels") + " input channels, " + r.meta("model_classes") + " classes), not on '"
                    + model.name() + "' (" + model.inChannels() + " input channels, " + model.numClasses() + " classes)");
        }
        String[] in = r.meta("input_shape").split(",");
        long[] input = new long[3];
        try {
            if (in.length != 3) throw new NumberFormatException();
            for (int i = 0; i < 3; i++) {
                input[i] = Long.parseLong(in[i].trim());
                if (input[i] < 1 || input[i] > 1 << 16) throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(f + ": detector metadata 'input_shape' is '" + r.meta("input_shape")
                    + "', expected C,H,W");
        }
        long[] widths = layerWidths(model, input);
        if (!join(widths).equals(r.meta("feature_widths"))) {
            throw new IllegalArgumentException(f + ": detector " + name + " was fitted on feature widths "
                    + r.meta("feature_widths") + " (flattened map, pooled map, logits) for " + join(input)
                    + " inputs; model '" + model.name() + "' gives " + join(widths) + " (another architecture or input size)");
        }
        String print = DetectorFile.fingerprint(model);
        if (!print.equals(r.meta("model_fingerprint"))) {
            throw new IllegalArgumentException(f + ": detector " + name + " was fitted on other weights of model '"
                    + model.name() + "' (fingerprint " + r.meta("model_fingerprint") + ", these weights: " + print
                    + "); its statistics describe those weights only, so fit it again for these");
        }
        long seed = r.longMeta("seed", Long.MIN_VALUE);
        FeatureDetector d;
        try {
            d = switch (name) {
                case "lid" -> new LidDetector(seed, (int) Math.min(r.longMeta("k", 1), LidDetector.REFERENCE));
                case "mahalanobis" -> MahalanobisDetector.fromFile(seed, r);
                default -> new KernelDensityDetector(seed);
            };
        } catch (IllegalArgumentException e) {
            // The constructors' own checks do not know the file.
            throw new IllegalArgumentException(e.getMessage().startsWith(f) ? e.getMessage() : f + ": " + e.getMessage(), e);
        }
        try {
            d.model = model;
            d.inputShape = input;
            d.fingerprint = print;
            d.readState(r, widths);
            double[] w = r.take("regression.weights", d.featureCount());
            double bias = r.take("regression.bias", 1)[0];
            r.finish();
            d.regression = LogisticRegression.of(w, bias);
            d.notes.putAll(r.metaWithPrefix(NOTE));
            return d;
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
    }

    @Override
    public Map<String, String> notes() {
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(notes));
    }

    /** Widths of the flattened last feature map, its channel means and the logits for C,H,W inputs. */
    static long[] layerWidths(Model model, long[] input) {
        try (Frozen fr = new Frozen(model); MemoryScope s = MemoryScope.open()) {
            Tensor probe = Backends.tensor(model.parameters().isEmpty() ? DType.FLOAT32
                    : model.parameters().get(0).dtype(), new double[(int) (input[0] * input[1] * input[2])],
                    1, input[0], input[1], input[2]);
            FeatureLayers l = FeatureLayers.of(model, Variable.constant(probe));
            return new long[] {l.flatMap().shape().dim(1), l.pooled().shape().dim(1), l.logits().shape().dim(1)};
        }
    }

    private static String join(long[] v) {
        StringBuilder b = new StringBuilder();
        for (long x : v) b.append(b.length() == 0 ? "" : ",").append(x);
        return b.toString();
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
