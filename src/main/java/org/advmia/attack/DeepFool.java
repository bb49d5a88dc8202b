package org.advmia.attack;

import java.util.Arrays;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * DeepFool: Moosavi-Dezfooli, Fawzi and Frossard, "DeepFool: a simple and accurate method to fool
 * deep neural networks", CVPR 2016 (arXiv:1511.04599). A minimum-norm attack: at each iterate x
 * it linearises the classifier and steps to the nearest boundary of the linearised model among
 * the candidate classes k (the highest clean logits): with w_k = grad z_k - grad z_y and
 * f_k = z_k - z_y, the distance is |f_k| / ||w_k||_q (q the dual norm: 2 for L2, 1 for L-inf) and
 * the step r = (d + 1e-4) w / ||w||_2 (L2) or (d + 1e-4) sign(w) (L-inf). The steps accumulate in
 * r_tot and x = clip(x0 + (1 + overshoot) r_tot) (clipping to the box as torchattacks and Foolbox
 * do) until x is misclassified.
 *
 * <p>Defaults (the paper's code): 10 candidate classes (all if fewer), overshoot 0.02, at most 50
 * iterations ({@code steps}). Untargeted and deterministic (random start and step size unused).
 * Each iteration is one batched forward pass over the samples still correctly classified and one
 * backward pass per candidate class through that same graph (seeded one-hot into the logits).
 *
 * <p>Threat model: the perturbation found is reported by {@link #foundNorms()}; the returned
 * x_adv is that point projected onto the eps-ball and the box, so it keeps the threat model's
 * invariants and fools the model only where the found perturbation (nearly) fits the ball.
 */
public final class DeepFool extends Attack implements MinimumNormAttack {
    public static final int DEFAULT_CANDIDATES = 10;
    public static final double DEFAULT_OVERSHOOT = 0.02;
    private final int candidates;
    private final double overshoot;
    private float[] found = new float[0];

    public DeepFool(Model model, ThreatModel threat, AttackOptions options, int candidates, double overshoot) {
        super(model, threat, options);
        if (options.targeted()) throw new IllegalArgumentException(name() + " is an untargeted attack");
        if (candidates < 2) throw new IllegalArgumentException("deepfool: candidate classes must be >= 2");
        if (!(overshoot >= 0)) throw new IllegalArgumentException("deepfool: overshoot must be >= 0");
        this.candidates = candidates;
        this.overshoot = overshoot;
    }

    @Override
    public String name() {
        return threat.norm() == Norm.L2 ? "deepfool-l2" : "deepfool";
    }

    @Override
    public float[] foundNorms() {
        return found.clone();
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int n = (int) x0.dim(0), classes = model.numClasses(), k = Math.min(candidates, classes);
        long d = x0.numel() / Math.max(1, n);
        float[] y = Backends.toFloatArray(labels);
        Tensor rTot = zerosOf(backend, x0.dtype(), n, d);
        boolean[] fooled = new boolean[n];
        int[][] cand = null;
        int[] active = java.util.stream.IntStream.range(0, n).toArray();
        for (int iter = 0; iter <= options.steps() && active.length > 0; iter++) {
            try (MemoryScope s = MemoryScope.open()) {
                int m = active.length;
                LogitGradients lg = new LogitGradients(model, Rows.gather(backend, xAdv, active));
                countQueries(m);
                float[] z = Backends.toFloatArray(lg.logits());
                if (cand == null) cand = candidates(z, y, n, classes, k);
                boolean[] step = new boolean[m];
                int stepping = 0;
                for (int j = 0; j < m; j++) {
                    fooled[active[j]] = Rows.argmax(z, j, classes) != (int) y[active[j]];
                    step[j] = !fooled[active[j]] && iter < options.steps();
                    if (step[j]) stepping++;
                }
                if (stepping > 0) stepTowardsBoundary(lg, z, active, step, cand, classes, k, y, x0, rTot, xAdv);
                lg.release();
                int[] next = new int[stepping];
                for (int j = 0, t = 0; j < m; j++) if (step[j]) next[t++] = active[j];
                active = next;
            }
        }
        found = Rows.distances(backend, threat.norm(), xAdv, x0);
        for (int i = 0; i < n; i++) if (!fooled[i]) found[i] = Float.POSITIVE_INFINITY;
        project(x0, xAdv);
    }

    /** One DeepFool step for the rows of the subset marked in step (rows of rTot and xAdv named by idx). */
    private void stepTowardsBoundary(LogitGradients lg, float[] z, int[] idx, boolean[] step, int[][] cand,
                                     int classes, int k, float[] y, Tensor x0, Tensor rTot, Tensor xAdv) {
        int m = idx.length;
        long d = rTot.dim(1);
        Shape rows = Shape.of(m, d);
        Tensor g0 = backend.empty(x0.dtype(), rows), gk = backend.empty(x0.dtype(), rows);
        Tensor w = backend.empty(x0.dtype(), rows), bestW = zerosOf(backend, x0.dtype(), m, d);
        lg.gradient(seed(x0, idx, step, cand, 0, classes), g0);
        countGradientEvaluations(m);
        double[] bestDist = new double[m], bestNorm = new double[m];
        Arrays.fill(bestDist, Double.POSITIVE_INFINITY);
        for (int c = 1; c < k; c++) {
            lg.gradient(seed(x0, idx, step, cand, c, classes), gk);
            countGradientEvaluations(m);
            backend.binary(BinaryOp.SUB, gk, g0, w);
            float[] dual = Rows.norms(backend, threat.norm() == Norm.L2 ? Norm.L2 : null, w);
            double[] better = new double[m];
            for (int j = 0; j < m; j++) {
                int i = idx[j];
                double f = z[j * classes + cand[i][c]] - z[j * classes + cand[i][0]];
                double dist = Math.abs(f) / dual[j];
                if (step[j] && dual[j] > 0 && dist < bestDist[j]) {
                    bestDist[j] = dist;
                    bestNorm[j] = dual[j];
                    better[j] = 1;
                }
            }
            blendRows(Rows.of(x0, better, m), w, bestW);
        }
        // r = (dist + 1e-4) w / ||w||_2 (L2) or (dist + 1e-4) sign(w) (L-inf); 0 for rows not stepping.
        double[] scale = new double[m];
        for (int j = 0; j < m; j++) {
            if (!Double.isFinite(bestDist[j])) continue;
            scale[j] = threat.norm() == Norm.L2 ? (bestDist[j] + 1e-4) / bestNorm[j] : bestDist[j] + 1e-4;
        }
        if (threat.norm() == Norm.LINF) backend.unary(UnaryOp.SIGN, bestW, bestW, 0, 0);
        backend.binary(BinaryOp.MUL, bestW, Rows.of(x0, scale, m, 1), bestW);
        Tensor r = Rows.gather(backend, rTot, idx);
        backend.binary(BinaryOp.ADD, r, bestW, r);
        Rows.scatter(backend, r, idx, rTot);
        Tensor x = backend.empty(x0.dtype(), rows);
        backend.axpby(1, Rows.gather(backend, x0, idx).reshape(m, d), 1 + overshoot, r, x);
        backend.unary(UnaryOp.CLAMP, x, x, threat.lo(), threat.hi());
        Rows.scatter(backend, x.reshape(xAdv.shape().withDim(0, m)), idx, xAdv);
    }

    /** One-hot seed [m, C] at candidate c of each stepping row (zero rows elsewhere). */
    private static Tensor seed(Tensor like, int[] idx, boolean[] step, int[][] cand, int c, int classes) {
        double[] s = new double[idx.length * classes];
        for (int j = 0; j < idx.length; j++) if (step[j]) s[j * classes + cand[idx[j]][c]] = 1;
        return Rows.of(like, s, idx.length, classes);
    }

    /** Per sample: the true class, then the other classes with the highest clean logits (k in all). */
    private static int[][] candidates(float[] z, float[] y, int n, int classes, int k) {
        int[][] ranked = Rows.ranked(z, n, classes), out = new int[n][k];
        for (int i = 0; i < n; i++) {
            out[i][0] = (int) y[i];
            for (int j = 0, t = 1; t < k; j++) if (ranked[i][j] != (int) y[i]) out[i][t++] = ranked[i][j];
        }
        return out;
    }
}
