package org.advmia.defense.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Local intrinsic dimensionality: Ma et al., "Characterizing Adversarial Subspaces Using Local
 * Intrinsic Dimensionality", ICLR 2018 (arXiv:1801.02613). Per layer, the maximum-likelihood
 * estimate LID(x) = -((1/k) sum_{i=1..k} log(r_i(x) / r_k(x)))^-1 from the distances r_1 <= ... <= r_k
 * to the k nearest neighbours among a minibatch of clean inputs; a logistic regression on the
 * per-layer LIDs, trained on clean and noisy (negatives) against adversarial (positives) fit
 * inputs. Defaults from the paper: k = 20 within minibatches of 100.
 *
 * <p>Layers: the last feature map (flattened), its channel means, and the logits (the model's
 * {@link org.advmia.nn.FeatureMaps} split exposes these three for every architecture).
 *
 * <p>Reference minibatch: the paper estimates LID within each minibatch of the data it scores.
 * Here the neighbours come from one fixed minibatch of {@link #REFERENCE} clean training inputs
 * drawn with the seed, so an input's score depends on that input alone (scores are then
 * comparable across batches, deterministic, and differentiable in the input). A reference input
 * never counts as its own neighbour: candidates within a squared distance of 1e-6 of the
 * query's squared norm are excluded.
 */
public final class LidDetector extends FeatureDetector {
    public static final int K = 20, REFERENCE = 100;
    private static final List<Function<FeatureLayers, Variable>> LAYERS = List.of(
            FeatureLayers::flatMap, FeatureLayers::pooled, FeatureLayers::logits);
    private final int k;
    private final List<double[]> references = new ArrayList<>();
    private final List<double[]> referenceNorms = new ArrayList<>();
    private int referenceCount;

    public LidDetector(long seed) {
        this(seed, K);
    }

    public LidDetector(long seed, int k) {
        super(seed);
        if (k < 1) throw new IllegalArgumentException("lid: k must be >= 1, got " + k);
        this.k = k;
    }

    @Override
    public String name() {
        return "lid";
    }

    @Override
    protected boolean noisyNegatives() {
        return true;
    }

    @Override
    protected void prepare(Tensor trainX, Tensor trainY) {
        int n = (int) trainX.dim(0);
        if (n < k + 1) {
            throw new IllegalArgumentException("lid: needs at least k + 1 = " + (k + 1) + " training inputs for its"
                    + " reference minibatch, got " + n);
        }
        referenceCount = Math.min(REFERENCE, n);
        int[] pick = new Random(seed).ints(0, n).distinct().limit(referenceCount).sorted().toArray();
        double[] all = Backends.toDoubleArray(trainX);
        int d = all.length / n;
        double[] chosen = new double[referenceCount * d];
        for (int i = 0; i < referenceCount; i++) System.arraycopy(all, pick[i] * d, chosen, i * d, d);
        Tensor ref = Backends.tensor(trainX.dtype(), chosen, withBatch(trainX, referenceCount));
        references.clear();
        referenceNorms.clear();
        for (Function<FeatureLayers, Variable> layer : LAYERS) {
            double[][] rows = layerRows(ref, layer);
            int width = rows[0].length;
            double[] flat = new double[referenceCount * width];
            for (int i = 0; i < referenceCount; i++) System.arraycopy(rows[i], 0, flat, i * width, width);
            references.add(flat);
            referenceNorms.add(norms(flat, referenceCount, width));
        }
        ref.close();
    }

    @Override
    protected int featureCount() {
        return LAYERS.size();
    }

    @Override
    protected void writeState(DetectorFile.Writer w) {
        w.meta("k", Integer.toString(k));
        for (int l = 0; l < LAYERS.size(); l++) {
            w.put("lid.reference." + l, references.get(l), referenceCount, references.get(l).length / referenceCount);
        }
    }

    @Override
    protected void readState(DetectorFile.Reader r, long[] widths) {
        long count = r.rows("lid.reference.0");
        if (count < k + 1 || count > REFERENCE) {
            throw new IllegalArgumentException(r.file() + ": lid reference minibatch of " + count + " inputs, expected"
                    + " k + 1 = " + (k + 1) + " to " + REFERENCE);
        }
        referenceCount = (int) count;
        references.clear();
        referenceNorms.clear();
        // Layer order of LAYERS: flattened map, pooled map, logits, the order of widths.
        for (int l = 0; l < LAYERS.size(); l++) {
            double[] flat = r.take("lid.reference." + l, referenceCount, widths[l]);
            references.add(flat);
            referenceNorms.add(norms(flat, referenceCount, (int) widths[l]));
        }
    }

    /** Squared row norms, summed in the same order at fit and load so they agree bit for bit. */
    private static double[] norms(double[] flat, int rows, int width) {
        double[] n = new double[rows];
        for (int i = 0; i < rows; i++) for (int j = 0; j < width; j++) n[i] += flat[i * width + j] * flat[i * width + j];
        return n;
    }

    private static long[] withBatch(Tensor x, long n) {
        long[] s = x.shape().toArray();
        s[0] = n;
        return s;
    }

    @Override
    protected Variable[] features(Variable x) {
        FeatureLayers layers = FeatureLayers.of(model, x);
        Variable[] out = new Variable[LAYERS.size()];
        for (int l = 0; l < out.length; l++) out[l] = lid(LAYERS.get(l).apply(layers), l);
        return out;
    }

    /** The MLE LID [N] of each row of f [N, D] against reference set l. */
    private Variable lid(Variable f, int l) {
        Backend be = backend();
        DType dt = f.dtype();
        long n = f.shape().dim(0), width = f.shape().dim(1);
        Tensor ref = constants.get("ref" + l, dt, references.get(l), referenceCount, width);
        Tensor refSq = constants.get("refsq" + l, dt, referenceNorms.get(l), 1, referenceCount);
        Variable fSq = Ops.sum(Ops.square(f), 1, true);                                   // [N, 1]
        Variable cross = NnOps.linear(f, Variable.constant(ref), null);                   // [N, B]
        Variable d2 = Ops.add(Ops.sub(fSq, Ops.scale(cross, 2)), Variable.constant(refSq));
        // Rounding can leave a tiny negative for near-duplicates; those are excluded below anyway.
        d2 = Ops.clamp(d2, 1e-30, Double.MAX_VALUE);
        Tensor self = be.empty(dt, d2.shape());
        Tensor limit = be.empty(dt, Shape.of(n, 1));
        be.unary(org.advmia.backend.UnaryOp.AFFINE, fSq.value(), limit, 1e-6, 1e-30);
        be.binary(BinaryOp.GE, limit, d2.value(), self);
        Tensor w = RowSelect.nearestWeights(be, d2.value(), self, k, iota(dt, referenceCount));
        // log r = log(d2) / 2, so s = (1/k) sum_i log(r_i / r_k) = sum_j w_j log(d2_j) / 2 <= 0.
        Variable s = Ops.scale(Ops.sum(Ops.mul(Ops.log(d2), Variable.constant(w)), 1, false), 0.5);
        // All k distances equal gives s = 0 (infinite LID); cap the estimate at 1e12.
        s = Ops.clamp(s, -Double.MAX_VALUE, -1e-12);
        return Ops.neg(Ops.pow(s, -1));
    }
}
