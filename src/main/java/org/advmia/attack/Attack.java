package org.advmia.attack;

import java.util.HashMap;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * The base of every attack. It owns what torchattacks' base owns: the model (put in eval mode
 * with frozen weights for the attack and restored afterwards), the threat model, the loss and
 * targeting, random restarts, the seed, timing and bookkeeping. A subclass implements only
 * {@link #perturb}: the algorithm that turns clean inputs into adversarial ones.
 *
 * <p>Each subclass is one published algorithm; its javadoc names the paper and its defaults.
 */
public abstract class Attack {
    protected final Model model;
    protected final ThreatModel threat;
    protected final AttackOptions options;
    protected final Backend backend;
    private long gradientEvaluations;
    private long queries;
    private int eotSamples = 1;

    protected Attack(Model model, ThreatModel threat, AttackOptions options) {
        this.model = model;
        this.threat = threat;
        this.options = options;
        this.backend = Backends.defaultBackend();
    }

    /**
     * Expectation over Transformation (Athalye et al. 2018): average every input gradient over k
     * forward/backward passes, for models with randomness (randomised preprocessing defenses).
     */
    public Attack withEot(int samples) {
        if (samples < 1) throw new IllegalArgumentException("EOT samples must be >= 1, got " + samples);
        this.eotSamples = samples;
        return this;
    }

    public int eotSamples() {
        return eotSamples;
    }

    /** The lower-case command-line name. */
    /** The model this attack differentiates or queries (the surrogate, in the transfer setting). */
    public Model model() {
        return model;
    }

    /** The options this attack runs with (its budget: steps, step size, restarts, loss, seed). */
    public AttackOptions options() {
        return options;
    }

    public abstract String name();

    /**
     * Writes adversarial examples for x0 into xAdv (which holds a copy of x0 on entry). labels
     * are the true labels; targets the target classes for targeted attacks (else null).
     */
    protected abstract void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen);

    /**
     * Runs the attack: restarts keep, per sample, the first adversarial example that succeeds.
     * Returns the adversarial batch (owned by the caller) with counters and timing.
     */
    public final AttackResult run(Tensor x0, Tensor labels, Tensor targets) {
        return run(x0, labels, targets, true);
    }

    /**
     * One restart, without the final success check: the adversarial batch as {@link #perturb}
     * left it. For inner loops of adversarial training, which use every example whether it
     * succeeded or not; the check costs one more forward pass per minibatch, a large share of
     * Fast-AT's one-step attack. Counters and timing as in {@link #run}.
     */
    public final AttackResult craft(Tensor x0, Tensor labels, Tensor targets) {
        return run(x0, labels, targets, false);
    }

    private AttackResult run(Tensor x0, Tensor labels, Tensor targets, boolean keepSuccessful) {
        if (options.targeted() && targets == null) {
            throw new IllegalArgumentException(name() + ": targeted attack needs target classes");
        }
        if (options.earlyStop() && (model.task() != Model.Task.CLASSIFICATION || labels.rank() != 1)) {
            throw new IllegalArgumentException(name() + ": per-sample early stop applies to single-label"
                    + " classification only");
        }
        boolean wasTraining = model.isTraining();
        Map<Variable, Boolean> grads = new HashMap<>();
        for (Variable p : model.parameters()) grads.put(p, p.requiresGrad());
        model.eval();
        model.setRequiresGrad(false);
        gradientEvaluations = 0;
        queries = 0;
        long start = System.nanoTime();
        Tensor best = backend.duplicate(x0).keep();
        try {
            Generator gen = new Generator(options.seed());
            int n = (int) x0.dim(0);
            boolean[] done = new boolean[n];
            if (!keepSuccessful) {
                try (MemoryScope scope = MemoryScope.open()) {
                    perturb(x0, labels, targets, best, gen);
                }
            }
            for (int restart = 0; keepSuccessful && restart < Math.max(1, options.restarts()); restart++) {
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor xAdv = backend.duplicate(x0);
                    perturb(x0, labels, targets, xAdv, gen);
                    boolean[] success = succeeded(xAdv, labels, targets);
                    long row = x0.numel() / Math.max(1, n);
                    boolean allDone = true;
                    for (int i = 0; i < n; i++) {
                        // Take this restart's example if it succeeds, or if no restart has yet.
                        if (!done[i] && (success[i] || restart == 0)) {
                            backend.copyBlock(xAdv, i * row, row, best, i * row, row, 1, row);
                        }
                        done[i] |= success[i];
                        allDone &= done[i];
                    }
                    if (allDone) break;
                }
            }
        } catch (RuntimeException e) {
            best.close();
            throw e;
        } finally {
            model.setRequiresGrad(false);
            for (Map.Entry<Variable, Boolean> e : grads.entrySet()) e.getKey().setRequiresGrad(e.getValue());
            if (wasTraining) model.train();
        }
        backend.synchronize();
        double seconds = (System.nanoTime() - start) / 1e9;
        return new AttackResult(best, gradientEvaluations, queries, seconds);
    }

    /**
     * Per-sample success. Classification: untargeted, the prediction differs from the label;
     * targeted, it equals the target. Multi-label (labels [N, L] of 0/1): some label's decision
     * (logit > 0) differs from its true value. Segmentation (labels [N, H, W]): untargeted, fewer
     * than half of the pixels keep their true class; targeted, at least half of the pixels whose
     * target differs from the label now predict the target.
     */
    protected boolean[] succeeded(Tensor xAdv, Tensor labels, Tensor targets) {
        if (model.task() == Model.Task.SEGMENTATION) return segmentationSucceeded(xAdv, labels, targets);
        if (labels.rank() == 2) return multiLabelSucceeded(xAdv, labels);
        float[] pred = predictions(xAdv);
        float[] want = Backends.toFloatArray(options.targeted() ? targets : labels);
        boolean[] s = new boolean[pred.length];
        for (int i = 0; i < s.length; i++) s[i] = options.targeted() ? pred[i] == want[i] : pred[i] != want[i];
        return s;
    }

    private boolean[] multiLabelSucceeded(Tensor x, Tensor labels) {
        float[] z = logitsOf(x), y = Backends.toFloatArray(labels);
        int n = (int) labels.dim(0), l = (int) labels.dim(1);
        boolean[] s = new boolean[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < l && !s[i]; k++) s[i] = (z[i * l + k] > 0) != (y[i * l + k] > 0.5f);
        }
        return s;
    }

    private boolean[] segmentationSucceeded(Tensor x, Tensor labels, Tensor targets) {
        float[] pred = pixelPredictions(x), y = Backends.toFloatArray(labels);
        float[] t = targets == null ? null : Backends.toFloatArray(targets);
        int n = (int) labels.dim(0), hw = y.length / Math.max(1, n);
        boolean[] s = new boolean[n];
        for (int i = 0; i < n; i++) {
            int kept = 0, want = 0, hit = 0;
            for (int p = i * hw; p < (i + 1) * hw; p++) {
                if (pred[p] == y[p]) kept++;
                if (t != null && t[p] != y[p]) {
                    want++;
                    if (pred[p] == t[p]) hit++;
                }
            }
            s[i] = t != null && usesTargetMask() ? want > 0 && 2 * hit >= want : 2 * kept < hw;
        }
        return s;
    }

    /** Whether success is judged against a target mask (targeted segmentation attacks). */
    protected boolean usesTargetMask() {
        return options.targeted();
    }

    /** Per-pixel argmax class [N * H * W] of a segmentation model. */
    protected float[] pixelPredictions(Tensor x) {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
            queries += x.dim(0);
            Variable rows = org.advmia.autograd.Losses.pixelsAsRows(model.logits(Variable.constant(x)));
            Tensor am = backend.empty(rows.dtype(), Shape.of(rows.shape().dim(0)));
            backend.argmax(rows.value(), am);
            return Backends.toFloatArray(am);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    private float[] logitsOf(Tensor x) {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
            queries += x.dim(0);
            return Backends.toFloatArray(model.logits(Variable.constant(x)).value());
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /** Argmax class of each sample (one forward pass, no graph). */
    protected float[] predictions(Tensor x) {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
            queries += x.dim(0);
            Tensor logits = model.logits(Variable.constant(x)).value();
            Tensor am = backend.empty(logits.dtype(), Shape.of(logits.dim(0)));
            backend.argmax(logits, am);
            return Backends.toFloatArray(am);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /** The objective [N] at a point and the logits it came from (both in the caller's scope). */
    protected record Evaluation(Tensor objective, Tensor logits) {}

    /**
     * The per-sample objective at x and its input gradient: returns the objective [N] and the
     * logits, and writes d(sum of objective)/dx into grad. Targeted CE, BCE and Dice are negated
     * so that every attack ascends.
     */
    protected Evaluation lossAndGradient(Tensor x, Tensor labels, Tensor targets, Tensor grad) {
        return lossAndGradient(x, labels, targets, grad, options.loss(), options.targeted());
    }

    /** As above with an explicit loss and targeting (e.g. APGD-T's targeted DLR inside an untargeted run). */
    protected Evaluation lossAndGradient(Tensor x, Tensor labels, Tensor targets, Tensor grad, AttackLoss loss,
                                         boolean targeted) {
        Tensor lab = targeted && loss != AttackLoss.DLR ? targets : labels;
        Tensor dlrTargets = targeted && loss == AttackLoss.DLR ? targets : null;
        boolean negate = targeted && (loss == AttackLoss.CE || loss == AttackLoss.BCE || loss == AttackLoss.DICE);
        return objectiveAndGradient(x, grad, logits -> {
            Variable obj = loss.perSample(logits, lab, dlrTargets, options.kappa(), targeted);
            return negate ? org.advmia.autograd.Ops.neg(obj) : obj;
        });
    }

    /**
     * Any per-sample objective [N] of the logits, and its input gradient (d sum / dx) into grad:
     * the hook for attacks with their own losses (SegPGD, DAG, ASMA, ...).
     */
    protected Evaluation objectiveAndGradient(Tensor x, Tensor grad,
                                              java.util.function.Function<Variable, Variable> objective) {
        Evaluation last = null;
        Tensor objSum = null;
        for (int k = 0; k < eotSamples; k++) {
            gradientEvaluations += x.dim(0);
            queries += x.dim(0);
            Variable input = Variable.leaf(x, true);
            Variable logits = model.logits(input);
            Variable obj = objective.apply(logits);
            if (obj.requiresGrad()) {
                Tensor seed = backend.empty(obj.dtype(), obj.shape());
                backend.fill(seed, 1);
                obj.backward(seed);
            }
            if (input.grad() == null) {
                // No path from the input to the objective (e.g. a non-differentiable defense without
                // BPDA): the gradient is zero, which is exactly what gradient masking looks like.
                if (k == 0) backend.fill(grad, 0);
            } else {
                // grad = mean over EOT samples of the per-sample gradient.
                backend.axpby(1.0 / eotSamples, input.grad(), k == 0 ? 0 : 1, k == 0 ? input.grad() : grad, grad);
            }
            input.releaseGrad();
            if (eotSamples > 1) {
                if (objSum == null) objSum = backend.duplicate(obj.value());
                else backend.axpby(1, objSum, 1, obj.value(), objSum);
            }
            last = new Evaluation(obj.value(), logits.value());
        }
        if (objSum != null) {
            backend.unary(org.advmia.backend.UnaryOp.AFFINE, objSum, objSum, 1.0 / eotSamples, 0);
            return new Evaluation(objSum, last.logits());
        }
        return last;
    }

    /**
     * Sets active[i] = 0 for samples that are already adversarial according to logits
     * (classification), on the device, so early stopping costs no host round trip.
     */
    protected void updateActive(Tensor logits, Tensor labels, Tensor targets, Tensor active) {
        Tensor pred = backend.empty(logits.dtype(), Shape.of(logits.dim(0)));
        backend.argmax(logits, pred);
        Tensor still = backend.empty(logits.dtype(), pred.shape());
        if (options.targeted()) {
            backend.binary(BinaryOp.EQ, pred, targets, still);
            backend.unary(UnaryOp.AFFINE, still, still, -1, 1);
        } else {
            backend.binary(BinaryOp.EQ, pred, labels, still);
        }
        backend.binary(BinaryOp.MIN, active, still, active);
    }

    /**
     * The logits of x from a forward pass that records no graph (score-based attacks, which count
     * their own queries with {@link #countQueries}); the result belongs to the caller's scope.
     */
    protected Tensor scores(Tensor x) {
        // An inner scope frees the forward's activations now instead of with the caller's scope.
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
            return model.logits(Variable.constant(x)).value().escapeFrom(s);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /** Counts model queries made outside lossAndGradient (score-based attacks). */
    protected void countQueries(long n) {
        queries += n;
    }

    /**
     * Counts per-sample input-gradient evaluations made outside lossAndGradient (attacks that
     * backpropagate their own objective, or several logit seeds through one forward pass).
     */
    protected void countGradientEvaluations(long n) {
        gradientEvaluations += n;
    }

    /** Starts x inside the threat ball: uniform in the L-inf ball, or uniform radius along a Gaussian direction in L2. */
    protected void randomStart(Tensor x0, Tensor x, Generator gen) {
        Tensor noise = backend.empty(x.dtype(), x.shape());
        long n = x.dim(0), d = x.numel() / Math.max(1, n);
        if (threat.norm() == Norm.LINF) {
            gen.uniform(noise, -threat.eps(), threat.eps());
        } else {
            gen.normal(noise, 0, 1);
            Tensor rows = noise.reshape(n, d);
            Tensor norms = backend.empty(x.dtype(), Shape.of(n, 1));
            backend.reduce(ReduceOp.SUM_SQUARES, rows, n, d, 1, norms);
            backend.unary(UnaryOp.SQRT, norms, norms, 0, 0);
            Tensor radius = backend.empty(x.dtype(), Shape.of(n, 1));
            gen.uniform(radius, 0, 1);
            backend.unary(UnaryOp.AFFINE, radius, radius, threat.eps(), 0);
            backend.binary(BinaryOp.DIV, rows, norms, rows);
            backend.binary(BinaryOp.MUL, rows, radius, rows);
        }
        backend.binary(BinaryOp.ADD, x0, noise, x);
        project(x0, x);
    }

    /** Projects x onto the threat ball around x0 intersected with the box. */
    protected void project(Tensor x0, Tensor x) {
        backend.attackStep(threat.norm(), x0, x, null, 0, null, threat.eps(), null, null, threat.lo(), threat.hi());
    }

    /** dst[i] = src[i] for rows whose mask[i] is 1 (mask [N] of 0/1), on the device. */
    protected void blendRows(Tensor mask, Tensor src, Tensor dst) {
        long n = dst.dim(0), d = dst.numel() / Math.max(1, n);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor diff = backend.empty(dst.dtype(), Shape.of(n, d));
            backend.binary(BinaryOp.SUB, src.reshape(n, d), dst.reshape(n, d), diff);
            backend.binary(BinaryOp.MUL, diff, mask.reshape(n, 1), diff);
            Tensor rows = dst.reshape(n, d);
            backend.binary(BinaryOp.ADD, rows, diff, rows);
        }
    }

    /**
     * a where mask is 1 and b where it is 0 (mask [N] of 0/1, one per row), as a new tensor.
     * Unlike {@link #blendRows} it is exact: a selected row is bit-for-bit a's, with no
     * b + (a - b) rounding, so a selected point stays inside the ball and the box.
     */
    protected Tensor select(Tensor mask, Tensor a, Tensor b) {
        long n = a.dim(0), d = a.numel() / Math.max(1, n);
        Tensor m = mask.reshape(n, 1), keep = backend.empty(mask.dtype(), Shape.of(n, 1));
        Tensor x = newLike(a), y = newLike(b);
        backend.unary(UnaryOp.AFFINE, m, keep, -1, 1);
        backend.binary(BinaryOp.MUL, a.reshape(n, d), m, x.reshape(n, d));
        backend.binary(BinaryOp.MUL, b.reshape(n, d), keep, y.reshape(n, d));
        backend.binary(BinaryOp.ADD, x, y, x);
        return x;
    }

    protected Tensor newLike(Tensor t) {
        return backend.empty(t.dtype(), t.shape());
    }

    protected static Tensor zerosOf(Backend b, DType dtype, long... shape) {
        Tensor t = b.empty(dtype, Shape.of(shape));
        b.fill(t, 0);
        return t;
    }
}
