package org.advmia.attack;

import org.advmia.backend.BinaryOp;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.ReduceOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * APGD: Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", ICML 2020 (arXiv:2003.01690). PGD with momentum (0.75) and
 * a per-sample step size that starts at 2 eps and halves at checkpoints when the loss stalls:
 * fewer than rho = 0.75 of the steps since the last checkpoint increased it, or the best loss did
 * not improve and the step was not already reduced; a halving also restarts from the best point.
 * Checkpoints: first after 0.22 N steps, then spaced 0.03 N closer each time, at least 0.06 N.
 *
 * <p>With {@code targetClasses > 0} this is APGD-T: for each of the top-k non-true classes of the
 * clean logits in turn, the targeted DLR loss, on the samples not yet broken. Success is any
 * misclassification, as in AutoAttack. Defaults (AutoAttack, standard): 100 steps, 1 restart;
 * APGD-T 9 target classes.
 */
public final class AutoProjectedGradientDescent extends Attack {
    private static final double MOMENTUM = 0.75, RHO = 0.75;
    private final int targetClasses;
    private final String name;

    public AutoProjectedGradientDescent(Model model, ThreatModel threat, AttackOptions options, int targetClasses,
                                        String name) {
        super(model, threat, options);
        if (targetClasses < 0) throw new IllegalArgumentException("apgd-t: target classes must be >= 0");
        this.targetClasses = targetClasses;
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (targetClasses == 0) {
            apgd(x0, labels, targets, xAdv, gen, options.loss(), options.targeted());
            return;
        }
        int classes = model.numClasses();
        int rounds = Math.min(targetClasses, classes - 1);
        int n = (int) x0.dim(0);
        float[] y = Backends.toFloatArray(labels);
        float[][] ranked = rankedClasses(x0);
        // Targeted DLR divides by z_pi1 - (z_pi3 + z_pi4) / 2, which needs four classes. With fewer,
        // its numerator alone, the targeted CW margin z_t - z_y, is the natural stand-in (binary
        // medical tasks are common); it is scale-dependent, which APGD's adaptive step tolerates.
        AttackLoss targetLoss = classes >= 4 ? AttackLoss.DLR : AttackLoss.CW;
        long row = x0.numel() / Math.max(1, n);
        for (int k = 1; k <= rounds; k++) {
            boolean[] broken = succeeded(xAdv, labels, null);
            try (MemoryScope s = MemoryScope.open()) {
                float[] t = new float[n];
                for (int i = 0; i < n; i++) t[i] = ranked[i][k] == y[i] ? ranked[i][0] : ranked[i][k];
                Tensor tgt = backend.empty(labels.dtype(), labels.shape());
                backend.copyFromHost(t, tgt);
                Tensor trial = backend.duplicate(x0);
                apgd(x0, labels, tgt, trial, gen, targetLoss, true);
                boolean[] now = succeeded(trial, labels, null);
                for (int i = 0; i < n; i++) {
                    if (!broken[i] && now[i]) backend.copyBlock(trial, i * row, row, xAdv, i * row, row, 1, row);
                }
            }
        }
    }

    /** Per sample, classes sorted by decreasing clean logit. */
    private float[][] rankedClasses(Tensor x0) {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = org.advmia.autograd.Autograd.noGrad()) {
            float[] z = Backends.toFloatArray(model.logits(org.advmia.autograd.Variable.constant(x0)).value());
            int n = (int) x0.dim(0), c = model.numClasses();
            float[][] out = new float[n][c];
            for (int i = 0; i < n; i++) {
                Integer[] idx = new Integer[c];
                for (int j = 0; j < c; j++) idx[j] = j;
                final int base = i * c;
                java.util.Arrays.sort(idx, (a, b) -> Float.compare(z[base + b], z[base + a]));
                for (int j = 0; j < c; j++) out[i][j] = idx[j];
            }
            return out;
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    /** One APGD run; on return xAdv holds, per sample, the first adversarial point found, else the best-loss point. */
    private void apgd(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen, AttackLoss loss,
                      boolean targeted) {
        int steps = Math.max(1, options.steps());
        long n = x0.dim(0);
        int checkpoint = Math.max((int) (0.22 * steps), 1);
        int minGap = Math.max((int) (0.06 * steps), 1), shrink = Math.max((int) (0.03 * steps), 1);
        Shape rows = Shape.of(n);
        Tensor eta = backend.empty(x0.dtype(), rows);
        backend.fill(eta, 2 * threat.eps());
        if (options.randomStart()) uniformStart(x0, xAdv, gen);
        Tensor grad = newLike(x0), previous = backend.duplicate(xAdv), z = newLike(x0);
        Tensor best = backend.duplicate(xAdv), bestAdv = backend.duplicate(xAdv), bestGrad;
        Tensor lossBest = backend.empty(x0.dtype(), rows), lossPrev = backend.empty(x0.dtype(), rows);
        Tensor increases = backend.empty(x0.dtype(), rows), found = backend.empty(x0.dtype(), rows);
        Tensor mask = backend.empty(x0.dtype(), rows);
        backend.fill(increases, 0);
        backend.fill(found, 0);
        float[] lossAtCheck;
        boolean[] reducedAtCheck = new boolean[(int) n];
        try (MemoryScope s = MemoryScope.open()) {
            Evaluation e = lossAndGradient(xAdv, labels, targets, grad, loss, targeted);
            backend.copyBlock(e.objective(), 0, n, lossBest, 0, n, 1, n);
            backend.copyBlock(e.objective(), 0, n, lossPrev, 0, n, 1, n);
            markFound(e.logits(), labels, found, xAdv, bestAdv, mask);
        }
        bestGrad = backend.duplicate(grad);
        lossAtCheck = Backends.toFloatArray(lossBest);
        int sinceCheck = 0;
        for (int step = 0; step < steps; step++) {
            try (MemoryScope s = MemoryScope.open()) {
                // z = P(x + eta * step direction); x' = P(x + a (z - x) + (1 - a)(x - x_prev)), a = 1 at first.
                backend.copyBlock(xAdv, 0, xAdv.numel(), z, 0, z.numel(), 1, z.numel());
                backend.attackStep(threat.norm(), x0, z, grad, 0, eta, threat.eps(), null, null, threat.lo(), threat.hi());
                double a = step == 0 ? 1.0 : MOMENTUM;
                Tensor next = newLike(x0);
                backend.axpby(a, z, 2 * (1 - a), xAdv, next);
                backend.axpby(1, next, -(1 - a), previous, next);
                project(x0, next);
                backend.copyBlock(xAdv, 0, xAdv.numel(), previous, 0, previous.numel(), 1, previous.numel());
                backend.copyBlock(next, 0, next.numel(), xAdv, 0, xAdv.numel(), 1, xAdv.numel());

                Evaluation e = lossAndGradient(xAdv, labels, targets, grad, loss, targeted);
                markFound(e.logits(), labels, found, xAdv, bestAdv, mask);
                backend.binary(BinaryOp.GT, e.objective(), lossPrev, mask);
                backend.axpby(1, increases, 1, mask, increases);
                backend.copyBlock(e.objective(), 0, n, lossPrev, 0, n, 1, n);
                backend.binary(BinaryOp.GT, e.objective(), lossBest, mask);
                blendRows(mask, xAdv, best);
                blendRows(mask, grad, bestGrad);
                backend.binary(BinaryOp.MAX, lossBest, e.objective(), lossBest);
            }
            if (++sinceCheck == checkpoint) {
                float[] inc = Backends.toFloatArray(increases), lb = Backends.toFloatArray(lossBest);
                float[] reduce = new float[(int) n];
                for (int i = 0; i < n; i++) {
                    boolean oscillating = inc[i] <= checkpoint * RHO;
                    boolean stalled = !reducedAtCheck[i] && lossAtCheck[i] >= lb[i];
                    reducedAtCheck[i] = oscillating || stalled;
                    reduce[i] = reducedAtCheck[i] ? 1 : 0;
                }
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor r = backend.empty(x0.dtype(), rows);
                    backend.copyFromHost(reduce, r);
                    Tensor factor = backend.empty(x0.dtype(), rows);
                    backend.unary(org.advmia.backend.UnaryOp.AFFINE, r, factor, -0.5, 1);
                    backend.binary(BinaryOp.MUL, eta, factor, eta);
                    blendRows(r, best, xAdv);    // restart from the best point, with its gradient
                    blendRows(r, bestGrad, grad);
                }
                lossAtCheck = lb;
                backend.fill(increases, 0);
                sinceCheck = 0;
                checkpoint = Math.max(checkpoint - shrink, minGap);
            }
        }
        // Successful points where found, otherwise the highest-loss point.
        backend.copyBlock(best, 0, best.numel(), xAdv, 0, xAdv.numel(), 1, xAdv.numel());
        blendRows(found, bestAdv, xAdv);
    }

    /** found |= misclassified; bestAdv takes x's rows that are newly misclassified. */
    private void markFound(Tensor logits, Tensor labels, Tensor found, Tensor x, Tensor bestAdv, Tensor mask) {
        Tensor pred = backend.empty(logits.dtype(), Shape.of(logits.dim(0)));
        backend.argmax(logits, pred);
        backend.binary(BinaryOp.EQ, pred, labels, mask);
        backend.unary(org.advmia.backend.UnaryOp.AFFINE, mask, mask, -1, 1);   // 1 = misclassified now
        Tensor fresh = backend.empty(logits.dtype(), mask.shape());
        backend.binary(BinaryOp.GT, mask, found, fresh);                       // misclassified and not found before
        blendRows(fresh, x, bestAdv);
        backend.binary(BinaryOp.MAX, found, mask, found);
    }

    /** APGD's start: a uniform direction scaled so its largest coordinate is eps (L-inf), or of norm eps (L2). */
    private void uniformStart(Tensor x0, Tensor x, Generator gen) {
        try (MemoryScope s = MemoryScope.open()) {
            long n = x0.dim(0), d = x0.numel() / Math.max(1, n);
            Tensor t = newLike(x0);
            Tensor rows = t.reshape(n, d), norms = backend.empty(x0.dtype(), Shape.of(n, 1));
            if (threat.norm() == Norm.LINF) {
                gen.uniform(t, -1, 1);
                backend.reduce(ReduceOp.ABS_MAX, rows, n, d, 1, norms);
            } else {
                gen.normal(t, 0, 1);
                backend.reduce(ReduceOp.SUM_SQUARES, rows, n, d, 1, norms);
                backend.unary(org.advmia.backend.UnaryOp.SQRT, norms, norms, 0, 0);
            }
            backend.unary(org.advmia.backend.UnaryOp.AFFINE, norms, norms, 1 / threat.eps(), 1e-12);
            backend.binary(BinaryOp.DIV, rows, norms, rows);
            backend.binary(BinaryOp.ADD, x0, t, x);
            project(x0, x);
        }
    }
}
