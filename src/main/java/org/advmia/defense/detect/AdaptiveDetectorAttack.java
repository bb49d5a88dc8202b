package org.advmia.defense.detect;

import org.advmia.attack.Attack;
import org.advmia.attack.AttackOptions;
import org.advmia.attack.ThreatModel;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.Generator;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * PGD against a model and a detector together (registered as {@value #NAME}): the adaptive
 * white-box attacker of Carlini and Wagner, "Adversarial Examples Are Not Easily Detected:
 * Bypassing Ten Detection Methods", AISec 2017 (arXiv:1705.07263), who knows the fitted detector
 * and descends its score while fooling the classifier. The detector's score is differentiated
 * exactly ({@link Detector#score(Variable)}: LID, Mahalanobis and KD-BU hold their neighbour /
 * closest-class / predicted-class selections and Mahalanobis' preprocessing step fixed).
 *
 * <p>Each step moves along sign(u_loss + lambda * m * u_det), then projects onto the eps-ball and
 * the [lo, hi] box (the same threat model as every attack), where u_loss and u_det are the
 * per-input unit-L2-norm gradients of the cross-entropy and of minus the detector score, and m is
 * 1 for inputs the model already misclassifies, else 0. Normalising matters: the raw detector
 * gradient is typically orders of magnitude larger than the loss's, and PGD's sign step would
 * then ignore the loss and never cross the decision boundary; gating by m lets every input cross
 * first and then trade confidence for stealth (measured on the test model: with the detector
 * term always on, at most a quarter of the inputs end misclassified).
 *
 * <p>Each input returns the iterate with the lowest detector score among those the model
 * misclassifies (the attacker's goal is an undetected adversarial example); an input never
 * misclassified returns the last iterate. The attack gets the detector at construction, already
 * fitted ({@link Detectors#adaptiveAttack}); it is untargeted and L-inf.
 *
 * <p>Defaults: random start, 20 steps of 2.5 eps / 20 (Madry et al.'s step-size rule),
 * lambda = 1.
 */
public final class AdaptiveDetectorAttack extends Attack {
    public static final String NAME = "pgd-adaptive-detector";
    public static final int DEFAULT_STEPS = 20;
    public static final double DEFAULT_LAMBDA = 1.0;
    private final Detector detector;
    private final double lambda;

    public AdaptiveDetectorAttack(Model model, ThreatModel threat, AttackOptions options, Detector detector, double lambda) {
        super(model, threat, options);
        if (detector == null || !detector.isFitted()) {
            throw new IllegalArgumentException(NAME + ": needs a fitted detector (--detector lid|mahalanobis|kd-bu)");
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException(NAME + ": lambda must be a finite number >= 0, got " + lambda);
        }
        if (options.targeted()) throw new IllegalArgumentException(NAME + ": only the untargeted attack is implemented");
        FeatureLayers.requireSplit(model, NAME);
        this.detector = detector;
        this.lambda = lambda;
    }

    @Override
    public String name() {
        return NAME;
    }

    public Detector detector() {
        return detector;
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (labels.rank() != 1) throw new IllegalArgumentException(NAME + ": labels " + labels.shape() + " must be [N]");
        if (options.randomStart()) randomStart(x0, xAdv, gen);
        long n = x0.dim(0), d = x0.numel() / Math.max(1, n);
        Tensor grad = newLike(x0), best = backend.duplicate(xAdv);
        Tensor bestScore = backend.empty(x0.dtype(), Shape.of(n)), found = backend.empty(x0.dtype(), Shape.of(n));
        backend.fill(bestScore, Float.MAX_VALUE);
        backend.fill(found, 0);
        for (int step = 0; ; step++) {
            try (MemoryScope s = MemoryScope.open()) {
                Variable input = Variable.leaf(xAdv, true);
                Variable logits = model.logits(input);
                Variable score = detector.score(input);
                countQueries(n);
                keepBest(logits.value(), score.value(), labels, xAdv, best, bestScore, found);
                if (step == options.steps()) break;
                // The two gradients differ in scale by orders of magnitude (a detector's log-odds can
                // move far faster than the loss), so each is normalised per input before they are
                // mixed; otherwise the sign step follows whichever is larger and ignores the other.
                // The detector term is switched on only for inputs the model already misclassifies:
                // descending it from the start keeps most inputs from ever crossing the boundary.
                Tensor gLoss = unitGradient(Losses.crossEntropyPerSample(logits, labels, null, 0), input, n, d);
                Tensor gScore = unitGradient(Ops.neg(score), input, n, d);
                countGradientEvaluations(2 * n);
                backend.binary(BinaryOp.MUL, gScore.reshape(n, d), misclassified(logits.value(), labels).reshape(n, 1),
                        gScore.reshape(n, d));
                backend.axpby(1, gLoss, lambda, gScore, grad);
                backend.attackStep(threat.norm(), x0, xAdv, grad, options.stepSize(), null, threat.eps(), null, null,
                        threat.lo(), threat.hi());
            }
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = select(found, best, xAdv);
            backend.copyBlock(out, 0, out.numel(), xAdv, 0, xAdv.numel(), 1, out.numel());
        }
    }

    /** d(sum of objective)/d input, each input's row scaled to unit L2 norm (zero rows stay zero). */
    private Tensor unitGradient(Variable objective, Variable input, long n, long d) {
        Tensor g = newLike(input.value());
        if (objective.requiresGrad()) {
            Tensor seed = backend.empty(objective.dtype(), objective.shape());
            backend.fill(seed, 1);
            objective.backward(seed);
        }
        if (input.grad() == null) {
            backend.fill(g, 0);
            return g;
        }
        backend.copyBlock(input.grad(), 0, g.numel(), g, 0, g.numel(), 1, g.numel());
        input.releaseGrad();
        Tensor rows = g.reshape(n, d), norms = backend.empty(g.dtype(), Shape.of(n, 1));
        backend.reduce(ReduceOp.SUM_SQUARES, rows, n, d, 1, norms);
        backend.unary(UnaryOp.SQRT, norms, norms, 0, 0);
        backend.unary(UnaryOp.CLAMP, norms, norms, 1e-30, Double.MAX_VALUE);
        backend.binary(BinaryOp.DIV, rows, norms, rows);
        return g;
    }

    /** 1 where the model misclassifies the input, else 0 ([N], on the device). */
    private Tensor misclassified(Tensor logits, Tensor labels) {
        long n = logits.dim(0);
        Tensor pred = backend.empty(logits.dtype(), Shape.of(n)), wrong = backend.empty(logits.dtype(), Shape.of(n));
        backend.argmax(logits, pred);
        backend.binary(BinaryOp.EQ, pred, labels, wrong);
        backend.unary(UnaryOp.AFFINE, wrong, wrong, -1, 1);
        return wrong;
    }

    /** Where x is misclassified with a lower score than the best so far, remember it (on the device). */
    private void keepBest(Tensor logits, Tensor score, Tensor labels, Tensor x, Tensor best, Tensor bestScore,
                          Tensor found) {
        Tensor lower = backend.empty(logits.dtype(), Shape.of(logits.dim(0)));
        backend.binary(BinaryOp.GT, bestScore, score, lower);
        backend.binary(BinaryOp.MIN, misclassified(logits, labels), lower, lower);
        Tensor xs = select(lower, x, best);
        backend.copyBlock(xs, 0, xs.numel(), best, 0, best.numel(), 1, xs.numel());
        Tensor ss = select(lower, score, bestScore);
        backend.copyBlock(ss, 0, ss.numel(), bestScore, 0, bestScore.numel(), 1, ss.numel());
        backend.binary(BinaryOp.MAX, found, lower, found);
    }
}
