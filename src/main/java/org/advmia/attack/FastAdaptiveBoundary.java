package org.advmia.attack;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * FAB-T, the targeted Fast Adaptive Boundary attack: Croce and Hein, "Minimally distorted
 * adversarial examples with a fast adaptive boundary attack", ICML 2020 (arXiv:1907.02044), in
 * L-inf. A minimum-norm attack: at x (initially x_orig) it linearises f = z_t - z_y and projects
 * both x and x_orig onto the linearised boundary intersected with the box
 * ({@link LinfHyperplaneProjection}), giving steps d and d_orig, then moves to
 * clip((1 - a)(x + eta d) + a (x_orig + eta d_orig)) with a = min(||d|| / (||d|| + ||d_orig||),
 * alpha_max), a biased step that stays close to x_orig. Whenever the new point is misclassified it
 * is kept if smaller than the best so far, and x goes back to x_orig + beta (x - x_orig).
 *
 * <p>Targets, as AutoAttack's FAB-T: the 2nd, 3rd, ... highest clean logits in turn, each run on
 * the samples not yet fooled within eps; success is any misclassification. Defaults (the paper and
 * AutoAttack's standard version): alpha_max 0.1, eta 1.05, beta 0.9, 100 iterations, 9 target
 * classes, 1 restart, no random start (with {@code randomStart} a run starts uniformly in the
 * eps/2 ball, the paper's restarts). Each iteration is one batched forward-backward pass for the
 * gradient and one forward pass for the success check.
 *
 * <p>Threat model: the smallest perturbation found is reported by {@link #foundNorms()}; the
 * returned x_adv is it projected onto the eps-ball, so it fools the model only where that fits.
 */
public final class FastAdaptiveBoundary extends Attack implements MinimumNormAttack {
    public static final double ALPHA_MAX = 0.1, ETA = 1.05, BETA = 0.9;
    private final int targetClasses;
    private float[] found = new float[0];

    public FastAdaptiveBoundary(Model model, ThreatModel threat, AttackOptions options, int targetClasses) {
        super(model, threat, options);
        if (threat.norm() != Norm.LINF) throw new IllegalArgumentException("fab-t: only the L-inf version is implemented");
        if (options.targeted()) throw new IllegalArgumentException("fab-t chooses its own targets; success is any misclassification");
        if (targetClasses < 1) throw new IllegalArgumentException("fab-t: target classes must be >= 1");
        this.targetClasses = targetClasses;
    }

    @Override
    public String name() {
        return "fab-t";
    }

    @Override
    public float[] foundNorms() {
        return found.clone();
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int n = (int) x0.dim(0), classes = model.numClasses();
        float[] y = Backends.toFloatArray(labels);
        float[] z = cleanLogits(x0);
        int[][] ranked = Rows.ranked(z, n, classes);
        float[] best = new float[n];
        for (int i = 0; i < n; i++) best[i] = Rows.argmax(z, i, classes) != (int) y[i] ? 0 : Float.POSITIVE_INFINITY;
        for (int k = 1; k <= Math.min(targetClasses, classes - 1); k++) {
            final int rank = k;
            int[] idx = IntStream.range(0, n).filter(i -> !(best[i] <= threat.eps())).toArray();
            if (idx.length == 0) break;
            try (MemoryScope s = MemoryScope.open()) {
                double[] yt = new double[idx.length], tt = new double[idx.length];
                for (int j = 0; j < idx.length; j++) {
                    yt[j] = y[idx[j]];
                    tt[j] = ranked[idx[j]][rank] == (int) y[idx[j]] ? ranked[idx[j]][0] : ranked[idx[j]][rank];
                }
                Tensor x0s = Rows.gather(backend, x0, idx), adv = backend.duplicate(x0s);
                float[] norms = attackTarget(x0s, yt, tt, adv, gen);
                for (int j = 0; j < idx.length; j++) {
                    if (norms[j] < best[idx[j]]) {
                        best[idx[j]] = norms[j];
                        long d = adv.numel() / idx.length;
                        backend.copyBlock(adv, j * d, d, xAdv, idx[j] * d, d, 1, d);
                    }
                }
            }
        }
        found = best;
        project(x0, xAdv);
    }

    /** One FAB run towards targets t; adv receives the smallest adversarial point per row; returns its norms. */
    private float[] attackTarget(Tensor x0, double[] y, double[] t, Tensor adv, Generator gen) {
        int m = (int) x0.dim(0), classes = model.numClasses();
        long d = x0.numel() / Math.max(1, m);
        float[] best = new float[m];
        Arrays.fill(best, Float.POSITIVE_INFINITY);
        Tensor x = backend.duplicate(x0);
        if (options.randomStart()) {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor noise = newLike(x0);
                gen.uniform(noise, -threat.eps() / 2, threat.eps() / 2);
                backend.binary(BinaryOp.ADD, x, noise, x);
                backend.unary(UnaryOp.CLAMP, x, x, threat.lo(), threat.hi());
            }
        }
        double[] seed = new double[m * classes];
        for (int j = 0; j < m; j++) {
            seed[j * classes + (int) t[j]] += 1;
            seed[j * classes + (int) y[j]] -= 1;
        }
        Shape rows = Shape.of(m, d), both = Shape.of(2L * m, d);
        for (int step = 0; step < options.steps(); step++) {
            try (MemoryScope s = MemoryScope.open()) {
                // f = z_t - z_y and its gradient g at x; the boundary {v : f + g . (v - x) = 0}.
                Tensor g = backend.empty(x0.dtype(), rows);
                LogitGradients lg = new LogitGradients(model, x);
                lg.gradient(Rows.of(x0, seed, m, classes), g);
                lg.release();
                countQueries(m);
                countGradientEvaluations(m);
                float[] z = Backends.toFloatArray(lg.logits());
                // Needed change of g . v: -f from x, g . (x - x0) - f from x0.
                Tensor diff = backend.empty(x0.dtype(), rows), gd = backend.empty(x0.dtype(), Shape.of(m, 1));
                backend.axpby(1, x.reshape(m, d), -1, x0.reshape(m, d), diff);
                backend.binary(BinaryOp.MUL, diff, g, diff);
                backend.reduce(ReduceOp.SUM, diff, m, d, 1, gd);
                float[] gdx = Backends.toFloatArray(gd);
                double[] c = new double[2 * m];
                for (int j = 0; j < m; j++) {
                    double f = z[j * classes + (int) t[j]] - z[j * classes + (int) y[j]];
                    c[j] = -f;
                    c[m + j] = gdx[j] - f;
                }
                Tensor p = backend.empty(x0.dtype(), both), w = backend.empty(x0.dtype(), both);
                Tensor delta = backend.empty(x0.dtype(), both);
                backend.copyBlock(x, 0, m * d, p, 0, m * d, 1, m * d);
                backend.copyBlock(x0, 0, m * d, p, m * d, m * d, 1, m * d);
                backend.copyBlock(g, 0, m * d, w, 0, m * d, 1, m * d);
                backend.copyBlock(g, 0, m * d, w, m * d, m * d, 1, m * d);
                LinfHyperplaneProjection.project(backend, p, w, Rows.of(x0, c, 2L * m, 1), threat.lo(), threat.hi(), delta);
                float[] size = Rows.norms(backend, Norm.LINF, delta);
                double[] alpha = new double[m];
                for (int j = 0; j < m; j++) {
                    double a1 = Math.max(size[j], 1e-8), a2 = Math.max(size[m + j], 1e-8);
                    alpha[j] = Math.min(Math.max(a1 / (a1 + a2), 0), ALPHA_MAX);
                }
                // x = clip((1 - a)(x + eta d) + a (x0 + eta d0)) = clip(x + a (x0 - x) + eta ((1 - a) d + a d0)).
                Tensor a = Rows.of(x0, alpha, m, 1), xr = x.reshape(m, d);
                Tensor d1 = delta.narrow0(0, m), d2 = delta.narrow0(m, m);
                backend.binary(BinaryOp.SUB, d2, d1, d2);
                backend.binary(BinaryOp.MUL, d2, a, d2);
                backend.binary(BinaryOp.ADD, d1, d2, d1);                       // (1 - a) d + a d0
                backend.axpby(-1, xr, 1, x0.reshape(m, d), diff);
                backend.binary(BinaryOp.MUL, diff, a, diff);                    // a (x0 - x)
                backend.axpby(1, xr, ETA, d1, xr);
                backend.binary(BinaryOp.ADD, xr, diff, xr);
                backend.unary(UnaryOp.CLAMP, xr, xr, threat.lo(), threat.hi());
                recordAdversarial(x0, x, y, adv, best);
            }
        }
        return best;
    }

    /** Keeps misclassified rows of x that beat best (into adv) and pulls them back towards x0 by beta. */
    private void recordAdversarial(Tensor x0, Tensor x, double[] y, Tensor adv, float[] best) {
        int m = (int) x0.dim(0);
        long d = x0.numel() / Math.max(1, m);
        float[] pred = predictions(x);
        float[] size = Rows.distances(backend, Norm.LINF, x, x0);
        double[] fooled = new double[m], better = new double[m];
        for (int j = 0; j < m; j++) {
            if (pred[j] == y[j]) continue;
            fooled[j] = 1;
            if (size[j] < best[j]) {
                best[j] = size[j];
                better[j] = 1;
            }
        }
        blendRows(Rows.of(x0, better, m), x, adv);
        // x = x0 + beta (x - x0) on fooled rows: blend towards the shrunk point.
        Tensor shrunk = newLike(x0);
        backend.axpby(BETA, x, 1 - BETA, x0, shrunk);
        blendRows(Rows.of(x0, fooled, m), shrunk, x);
    }

    private float[] cleanLogits(Tensor x0) {
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            countQueries(x0.dim(0));
            return Backends.toFloatArray(model.logits(Variable.constant(x0)).value());
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }
}
