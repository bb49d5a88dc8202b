package org.advmia.attack;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.data.Batch;
import org.advmia.data.BatchLoader;
import org.advmia.data.Dataset;
import org.advmia.data.Split;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Universal adversarial perturbation: one image-agnostic delta, ||delta|| &lt;= eps (L-inf or L2),
 * added to every image and clipped into the box. Fitted by stochastic gradient ascent on the
 * minibatch loss, as in Shafahi, Najibi, Xu, Dickerson, Davis and Goldstein, "Universal
 * Adversarial Training", AAAI 2020 (arXiv:1812.03705); the problem is Moosavi-Dezfooli, Fawzi,
 * Fawzi and Frossard, "Universal adversarial perturbations", CVPR 2017.
 *
 * <p>Per minibatch: g = sum_i d/dx min(CE(f(clip(x_i + delta)), y_i), beta), then delta moves by a
 * sign step (L-inf) or a normalised step (L2) of size stepSize and is projected back onto the
 * eps-ball. The per-image loss is clipped at {@link #LOSS_CLIP} (Shafahi et al.'s clamped loss) so
 * that images that are already fooled stop pulling delta and the rest keep it moving; the
 * gradient through the box clipping is taken as the identity. {@code steps} is the number of
 * passes over the fitting set; minibatches are drawn in an order fixed by the seed.
 *
 * <p>Two ways to use it: {@link #fit} on a training split, then {@code run} on held-out images
 * applies the fixed delta (what `advmia attack --attack uap` and the benchmark do); or {@code run}
 * on an unfitted instance, which fits a delta to that batch alone and applies it (one delta for
 * the whole batch, so still universal over it).
 */
public final class UniversalPerturbation extends Attack {
    /** Per-image CE clip: e^-5 is below 1% probability on the true class, i.e. well fooled. Our choice. */
    public static final double LOSS_CLIP = 5;
    public static final int DEFAULT_BATCH = 32;
    private final int batchSize;
    private Tensor delta;          // [1, C, H, W], kept; null until fitted
    private Tensor origin;         // zeros like delta: the centre of the ball delta is projected onto
    private boolean fixed;         // fitted by fit(): run() applies it instead of refitting
    private int fitSamples;

    public UniversalPerturbation(Model model, ThreatModel threat, AttackOptions options, int batchSize) {
        super(model, threat, options);
        if (batchSize < 1) throw new IllegalArgumentException("uap: batch size must be >= 1, got " + batchSize);
        if (model.task() != Model.Task.CLASSIFICATION) {
            throw new IllegalArgumentException("uap: universal perturbations are implemented for classifiers only");
        }
        this.batchSize = batchSize;
    }

    @Override
    public String name() {
        return threat.norm() == org.advmia.backend.Norm.L2 ? "uap-l2" : "uap";
    }

    /** The fitted perturbation [1, C, H, W] (owned by this attack), or null before fitting. */
    public Tensor perturbation() {
        return delta;
    }

    /** Samples the perturbation was fitted on (0 before fitting). */
    public int fitSamples() {
        return fitSamples;
    }

    /** Fits delta on the first limit samples (0 = all) of a split; later runs apply it unchanged. */
    public UniversalPerturbation fit(Dataset data, Split split, int limit) {
        Dataset fitSet = DatasetEvaluation.firstSamples(data, split, limit > 0 ? Math.min(limit, data.size(split))
                : data.size(split));
        BatchLoader loader = BatchLoader.builder(fitSet, split).batchSize(batchSize).shuffle(options.seed()).build();
        int samples = loader.samplesPerEpoch();
        if (samples == 0) throw new IllegalArgumentException("uap: the " + split.key() + " split to fit on is empty");
        try (Frozen f = freeze()) {
            for (int epoch = 0; epoch < options.steps(); epoch++) {
                try (BatchLoader.Epoch ep = loader.epoch(epoch)) {
                    for (Batch b : ep) {
                        ensureDelta(b.images());
                        try (MemoryScope s = MemoryScope.open()) {
                            ascend(b.images(), b.labels());
                        }
                    }
                }
            }
            if (options.steps() == 0) {
                try (BatchLoader.Epoch ep = loader.epoch(0)) {
                    ensureDelta(ep.next().images());
                }
            }
        }
        fixed = true;
        fitSamples = samples;
        return this;
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (options.targeted()) throw new IllegalArgumentException("uap: targeted universal perturbations are not implemented");
        if (!fixed) {
            if (delta != null) backend.fill(delta, 0);
            ensureDelta(x0);
            long n = x0.dim(0);
            for (int epoch = 0; epoch < options.steps(); epoch++) {
                for (long start = 0; start < n; start += batchSize) {
                    long len = Math.min(batchSize, n - start);
                    try (MemoryScope s = MemoryScope.open()) {
                        ascend(x0.narrow0(start, len), labels.narrow0(start, len));
                    }
                }
            }
            fitSamples = (int) n;
        }
        apply(x0, xAdv);
    }

    /** xAdv = clip(x0 + delta) into the box; ||xAdv - x0|| &lt;= ||delta|| &lt;= eps per image. */
    private void apply(Tensor x0, Tensor xAdv) {
        requireShape(x0);
        backend.binary(BinaryOp.ADD, x0, delta, xAdv);
        backend.unary(UnaryOp.CLAMP, xAdv, xAdv, threat.lo(), threat.hi());
    }

    /** One step of delta on a minibatch. */
    private void ascend(Tensor x, Tensor y) {
        requireShape(x);
        if (y.rank() != 1) {
            throw new IllegalArgumentException("uap: universal perturbations are implemented for single-label"
                    + " classification (labels [N]); got labels " + y.shape());
        }
        Tensor xAdv = newLike(x);
        apply(x, xAdv);
        Tensor grad = newLike(x);
        objectiveAndGradient(xAdv, grad, logits -> {
            Variable loss = options.loss() == AttackLoss.CE
                    ? Ops.clamp(Losses.crossEntropyPerSample(logits, y, null, 0), Double.NEGATIVE_INFINITY, LOSS_CLIP)
                    : options.loss().perSample(logits, y, null, options.kappa(), false);
            return loss;
        });
        long n = x.dim(0), d = x.numel() / Math.max(1, n);
        Tensor total = backend.empty(x.dtype(), delta.shape());
        backend.reduce(ReduceOp.SUM, grad.reshape(n, d), 1, n, d, total.reshape(1, d));
        // delta lives in [lo - hi, hi - lo]: the box never binds, only the ball does.
        double span = threat.hi() - threat.lo();
        backend.attackStep(threat.norm(), origin, delta, total, options.stepSize(), null, threat.eps(), null, null,
                -span, span);
    }

    private void ensureDelta(Tensor x) {
        if (delta != null) return;
        long[] dims = x.shape().toArray();
        dims[0] = 1;
        delta = backend.empty(x.dtype(), Shape.of(dims)).keep();
        backend.fill(delta, 0);
        origin = backend.empty(x.dtype(), Shape.of(dims)).keep();
        backend.fill(origin, 0);
    }

    private void requireShape(Tensor x) {
        for (int a = 1; a < x.rank(); a++) {
            if (x.dim(a) != delta.dim(a)) {
                throw new IllegalArgumentException("uap: images " + x.shape() + " do not match the fitted perturbation "
                        + delta.shape());
            }
        }
    }

    /** Eval mode and frozen weights while fitting outside run() (run() does the same for itself). */
    private Frozen freeze() {
        return new Frozen(model);
    }

    private static final class Frozen implements AutoCloseable {
        private final Model model;
        private final boolean wasTraining;
        private final java.util.Map<Variable, Boolean> grads = new java.util.HashMap<>();

        Frozen(Model model) {
            this.model = model;
            this.wasTraining = model.isTraining();
            for (Variable p : model.parameters()) grads.put(p, p.requiresGrad());
            model.eval();
            model.setRequiresGrad(false);
        }

        @Override
        public void close() {
            for (java.util.Map.Entry<Variable, Boolean> e : grads.entrySet()) e.getKey().setRequiresGrad(e.getValue());
            if (wasTraining) model.train();
        }
    }

    /**
     * Fooling rate (Moosavi-Dezfooli et al.): the fraction of the first limit images (0 = all) of a
     * split whose predicted class changes when perturbation [1, C, H, W] is added (then clipped
     * into [lo, hi]), whatever their label.
     */
    public static double foolingRate(Model model, Dataset data, Split split, int limit, int batchSize, Tensor perturbation,
                                     double lo, double hi) {
        int n = limit > 0 ? Math.min(limit, data.size(split)) : data.size(split);
        if (n == 0) throw new IllegalArgumentException("uap: the " + split.key() + " split to measure on is empty");
        BatchLoader loader = BatchLoader.builder(DatasetEvaluation.firstSamples(data, split, n), split).batchSize(batchSize)
                .build();
        org.advmia.backend.Backend b = org.advmia.backend.Backends.defaultBackend();
        int changed = 0, total = 0;
        try (BatchLoader.Epoch ep = loader.epoch(0)) {
            for (Batch batch : ep) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = batch.images(), xp = b.empty(x.dtype(), x.shape());
                    b.binary(BinaryOp.ADD, x, perturbation, xp);
                    b.unary(UnaryOp.CLAMP, xp, xp, lo, hi);
                    float[] clean = DatasetEvaluation.argmaxRows(model, x), pert = DatasetEvaluation.argmaxRows(model, xp);
                    for (int i = 0; i < clean.length; i++) if (clean[i] != pert[i]) changed++;
                    total += clean.length;
                }
            }
        }
        return (double) changed / total;
    }

    /**
     * Random noise of the same size as the fitted perturbation, the baseline a UAP must beat:
     * L-inf, independent signs times ||delta||_inf (a vertex of the same L-inf ball, the largest
     * random noise of that norm); L2, a Gaussian direction scaled to ||delta||_2. Owned by the caller.
     */
    public Tensor randomNoiseOfSameNorm(long seed) {
        if (delta == null) throw new IllegalStateException("uap: fit the perturbation first");
        double[] d = org.advmia.backend.Backends.toDoubleArray(delta);
        java.util.Random r = new java.util.Random(seed);
        double size = 0;
        double[] noise = new double[d.length];
        if (threat.norm() == org.advmia.backend.Norm.LINF) {
            for (double v : d) size = Math.max(size, Math.abs(v));
            for (int i = 0; i < d.length; i++) noise[i] = r.nextBoolean() ? size : -size;
        } else {
            double sq = 0, nsq = 0;
            for (int i = 0; i < d.length; i++) {
                sq += d[i] * d[i];
                noise[i] = r.nextGaussian();
                nsq += noise[i] * noise[i];
            }
            double scale = Math.sqrt(sq) / Math.sqrt(nsq);
            for (int i = 0; i < d.length; i++) noise[i] *= scale;
        }
        Tensor out = backend.empty(delta.dtype(), delta.shape());
        backend.copyFromHost(noise, out);
        return out;
    }

    /** Frees the fitted perturbation. */
    public void release() {
        if (delta != null) {
            delta.close();
            origin.close();
        }
        delta = null;
        origin = null;
        fixed = false;
    }
}
