package org.advmia.defense.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * Mahalanobis-distance detector: Lee et al., "A Simple Unified Framework for Detecting
 * Out-of-Distribution Samples and Adversarial Attacks", NeurIPS 2018 (arXiv:1807.03888). Per
 * layer, class-conditional Gaussians with the training set's class means and one tied
 * covariance; the confidence score M(x) = max_c -(f(x) - mu_c)^T Sigma^-1 (f(x) - mu_c); input
 * preprocessing x' = clip(x + eps_noise * sign(grad_x M(x)), 0, 1), a small step that increases
 * the score (clean inputs gain more than adversarial ones); and a logistic regression on the
 * per-layer scores M(x'), clean (negatives) against adversarial (positives) fit inputs.
 *
 * <p>Layers: the channel means of the last feature map (the spatial-mean feature of the paper)
 * and the logits. eps_noise is chosen from {@link #NOISE_CANDIDATES} (a subset of the paper's
 * grid) by the regression's AUROC on the fit set, the smallest on ties.
 *
 * <p>Covariance: the maximum-likelihood tied estimate plus a ridge of 1e-6 times its mean
 * diagonal, so that rank-deficient layers (logits of a model with few training inputs) invert.
 *
 * <p>Differentiable score: the preprocessing step itself is a sign of a gradient, piecewise
 * constant in x; the score is taken at x' with the step held fixed (straight-through, BPDA), so
 * d score / dx = d M / dx at x'.
 */
public final class MahalanobisDetector extends FeatureDetector {
    public static final double[] NOISE_CANDIDATES = {0, 0.0005, 0.001, 0.002, 0.005};
    private static final List<Function<FeatureLayers, Variable>> LAYERS = List.of(
            FeatureLayers::pooled, FeatureLayers::logits);
    private final double[] candidates;
    private double noise;
    /** Per layer: precision [D, D], P mu_c rows [C', D], mu_c^T P mu_c [1, C'], classes present C'. */
    private final List<double[]> precisions = new ArrayList<>(), projectedMeans = new ArrayList<>(),
            offsets = new ArrayList<>();
    private final List<Integer> widths = new ArrayList<>();
    /** Per layer: class means [C', D]; with the precisions, the state a saved detector holds. */
    private final List<double[]> means = new ArrayList<>();
    private int classesPresent;

    public MahalanobisDetector(long seed) {
        this(seed, NOISE_CANDIDATES);
    }

    /** With a fixed noise magnitude (one candidate) or a list to choose from on the fit set. */
    public MahalanobisDetector(long seed, double... noiseCandidates) {
        super(seed);
        if (noiseCandidates.length == 0) throw new IllegalArgumentException("mahalanobis: no noise magnitudes given");
        for (double e : noiseCandidates) {
            if (!(e >= 0 && e < 1)) throw new IllegalArgumentException("mahalanobis: noise magnitude must be in [0, 1), got " + e);
        }
        this.candidates = noiseCandidates.clone();
        this.noise = candidates[0];
    }

    @Override
    public String name() {
        return "mahalanobis";
    }

    /** The input-preprocessing magnitude in use (after fit: the selected one). */
    public double noiseMagnitude() {
        return noise;
    }

    @Override
    protected boolean noisyNegatives() {
        return false;
    }

    @Override
    protected void prepare(Tensor trainX, Tensor trainY) {
        float[] y = Backends.toFloatArray(trainY);
        int classes = model.numClasses();
        int[] count = new int[classes];
        for (float v : y) count[(int) v]++;
        int[] slot = new int[classes];
        classesPresent = 0;
        for (int c = 0; c < classes; c++) slot[c] = count[c] > 0 ? classesPresent++ : -1;
        if (y.length < 2) throw new IllegalArgumentException("mahalanobis: needs at least 2 training inputs, got " + y.length);
        clearState();
        for (Function<FeatureLayers, Variable> layer : LAYERS) {
            double[][] f = layerRows(trainX, layer);
            int d = f[0].length;
            double[][] mu = new double[classesPresent][d];
            for (int i = 0; i < f.length; i++) {
                int c = (int) y[i];
                for (int j = 0; j < d; j++) mu[slot[c]][j] += f[i][j] / count[c];
            }
            double[][] cov = new double[d][d];
            for (int i = 0; i < f.length; i++) {
                double[] m = mu[slot[(int) y[i]]];
                for (int a = 0; a < d; a++) {
                    double da = f[i][a] - m[a];
                    for (int b = 0; b <= a; b++) cov[a][b] += da * (f[i][b] - m[b]) / f.length;
                }
            }
            double trace = 0;
            for (int a = 0; a < d; a++) trace += cov[a][a];
            for (int a = 0; a < d; a++) {
                cov[a][a] += 1e-6 * trace / d + 1e-12;
                for (int b = 0; b < a; b++) cov[b][a] = cov[a][b];
            }
            double[][] p = SymmetricMatrix.inverse(cov);
            double[] pFlat = new double[d * d], muFlat = new double[classesPresent * d];
            for (int a = 0; a < d; a++) System.arraycopy(p[a], 0, pFlat, a * d, d);
            for (int c = 0; c < classesPresent; c++) System.arraycopy(mu[c], 0, muFlat, c * d, d);
            addLayer(pFlat, muFlat, d);
        }
    }

    private void clearState() {
        precisions.clear();
        projectedMeans.clear();
        offsets.clear();
        widths.clear();
        means.clear();
    }

    /**
     * Adds one layer's precision [d, d] and class means [C', d], with P mu_c and mu_c^T P mu_c
     * derived from them by the same arithmetic at fit and at load, so both agree bit for bit.
     */
    private void addLayer(double[] p, double[] mu, int d) {
        double[] pm = new double[classesPresent * d], off = new double[classesPresent];
        for (int c = 0; c < classesPresent; c++) {
            for (int a = 0; a < d; a++) {
                double s = 0;
                for (int b = 0; b < d; b++) s += p[a * d + b] * mu[c * d + b];
                pm[c * d + a] = s;
                off[c] += mu[c * d + a] * s;
            }
        }
        precisions.add(p);
        means.add(mu);
        projectedMeans.add(pm);
        offsets.add(off);
        widths.add(d);
    }

    /** A detector with the noise magnitudes of a saved one (see {@link #writeState}). */
    static MahalanobisDetector fromFile(long seed, DetectorFile.Reader r) {
        String[] parts = r.meta("noise_candidates").split(",");
        double[] c = new double[parts.length];
        try {
            for (int i = 0; i < c.length; i++) c[i] = Double.parseDouble(parts[i].trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(r.file() + ": mahalanobis metadata 'noise_candidates' is '"
                    + r.meta("noise_candidates") + "', expected comma-separated numbers");
        }
        MahalanobisDetector m = new MahalanobisDetector(seed, c);
        double noise = r.doubleMeta("noise");
        if (!(noise >= 0 && noise < 1)) {
            throw new IllegalArgumentException(r.file() + ": mahalanobis noise magnitude " + noise + ", expected [0, 1)");
        }
        m.noise = noise;
        return m;
    }

    @Override
    protected int featureCount() {
        return LAYERS.size();
    }

    @Override
    protected void writeState(DetectorFile.Writer w) {
        StringBuilder c = new StringBuilder();
        for (double e : candidates) c.append(c.length() == 0 ? "" : ",").append(e);
        w.meta("noise_candidates", c.toString());
        w.meta("noise", Double.toString(noise));
        for (int l = 0; l < LAYERS.size(); l++) {
            int d = widths.get(l);
            w.put("mahalanobis.precision." + l, precisions.get(l), d, d);
            w.put("mahalanobis.means." + l, means.get(l), classesPresent, d);
        }
    }

    @Override
    protected void readState(DetectorFile.Reader r, long[] layerWidths) {
        long present = r.rows("mahalanobis.means.0");
        if (present < 1 || present > model.numClasses()) {
            throw new IllegalArgumentException(r.file() + ": mahalanobis holds means of " + present + " classes, expected"
                    + " 1 to " + model.numClasses());
        }
        classesPresent = (int) present;
        clearState();
        // LAYERS are the pooled map and the logits: widths[1] and widths[2].
        for (int l = 0; l < LAYERS.size(); l++) {
            int d = (int) layerWidths[l + 1];
            double[] p = r.take("mahalanobis.precision." + l, d, d);
            addLayer(p, r.take("mahalanobis.means." + l, classesPresent, d), d);
        }
    }

    @Override
    protected void select(Tensor clean, Tensor adversarial) {
        if (candidates.length == 1) {
            noise = candidates[0];
            return;
        }
        double best = -1;
        double chosen = candidates[0];
        for (double e : candidates) {
            noise = e;
            double auroc = fitSetAuroc(clean, adversarial);
            if (auroc > best + 1e-12) {
                best = auroc;
                chosen = e;
            }
        }
        noise = chosen;
    }

    @Override
    protected Variable[] features(Variable x) {
        Variable[] out = new Variable[LAYERS.size()];
        for (int l = 0; l < out.length; l++) {
            Variable input = noise > 0 ? Ops.straightThrough(x, preprocessed(x.value(), l)) : x;
            out[l] = confidence(LAYERS.get(l).apply(FeatureLayers.of(model, input)), l);
        }
        return out;
    }

    /** x + noise * sign(grad_x M_l(x)), clipped to [0, 1]: the step that raises layer l's score. */
    private Tensor preprocessed(Tensor x, int l) {
        Backend be = backend();
        Tensor out = be.empty(x.dtype(), x.shape());
        try (MemoryScope s = MemoryScope.open()) {
            Variable probe = Variable.leaf(x, true);
            Variable m = confidence(LAYERS.get(l).apply(FeatureLayers.of(model, probe)), l);
            Tensor ones = be.empty(m.dtype(), m.shape());
            be.fill(ones, 1);
            m.backward(ones);
            Tensor step = be.empty(x.dtype(), x.shape());
            if (probe.grad() == null) be.fill(step, 0);
            else be.unary(UnaryOp.SIGN, probe.grad(), step, 0, 0);
            probe.releaseGrad();
            be.axpby(1, x, noise, step, out);
            be.unary(UnaryOp.CLAMP, out, out, 0, 1);
        }
        return out;
    }

    /** M_l = -min_c (f - mu_c)^T P (f - mu_c), [N], for f [N, D]. */
    private Variable confidence(Variable f, int l) {
        DType dt = f.dtype();
        int d = widths.get(l);
        if (f.shape().dim(1) != d) {
            throw new IllegalArgumentException("mahalanobis: layer " + l + " has " + f.shape().dim(1)
                    + " features, fitted with " + d);
        }
        Variable p = Variable.constant(constants.get("p" + l, dt, precisions.get(l), d, d));
        Variable pm = Variable.constant(constants.get("pm" + l, dt, projectedMeans.get(l), classesPresent, d));
        Variable off = Variable.constant(constants.get("off" + l, dt, offsets.get(l), 1, classesPresent));
        Variable quad = Ops.sum(Ops.mul(NnOps.linear(f, p, null), f), 1, true);                 // [N, 1]
        Variable dist = Ops.add(Ops.sub(quad, Ops.scale(NnOps.linear(f, pm, null), 2)), off);    // [N, C']
        Tensor negDist = backend().empty(dt, dist.shape());
        backend().unary(UnaryOp.NEG, dist.value(), negDist, 0, 0);
        Tensor closest = RowSelect.oneHotArgmax(backend(), negDist, iota(dt, classesPresent));
        return Ops.neg(Ops.sum(Ops.mul(dist, Variable.constant(closest)), 1, false));
    }
}
