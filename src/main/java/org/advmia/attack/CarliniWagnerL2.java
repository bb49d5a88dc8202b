package org.advmia.attack;

import java.util.Arrays;
import java.util.Map;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.optim.Adam;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * The Carlini-Wagner L2 attack: Carlini and Wagner, "Towards Evaluating the Robustness of Neural
 * Networks", IEEE S&amp;P 2017 (arXiv:1608.04644). A minimum-norm attack in the change of variables
 * x = lo + (hi - lo)(tanh(w) + 1) / 2, which keeps x in the box: Adam minimises, per sample,
 * ||x - x0||_2^2 + c f(x) with f = max(z_y - max_{j != y} z_j, -kappa) (targeted:
 * max(max_{j != t} z_j - z_t, -kappa)), and a binary search per sample sets c: c grows x10 until a
 * search step succeeds, then bisects between the largest failing and smallest successful c. Each
 * sample keeps the smallest-L2 adversarial iterate seen over the whole search (adversarial: the
 * label's logit is beaten by kappa; targeted: the target's logit leads by kappa).
 *
 * <p>Defaults: the paper's code (and Foolbox) use 9 binary-search steps, initial c 1e-3, Adam with
 * lr 0.01, kappa 0, abort-early (a search step ends when the total objective has not dropped by
 * 0.01% over a tenth of its iterations), w restarted at atanh(x0) with fresh Adam moments each
 * search step. They run 10,000 iterations per search step; we default to 100 ({@code steps}) to
 * keep evaluations affordable. {@code stepSize} overrides the learning rate; random start unused.
 *
 * <p>Threat model: the smallest successful perturbation is reported by {@link #foundNorms()};
 * the returned x_adv is it projected onto the L2 eps-ball (x0 where none succeeded), so it may
 * stop fooling the model when eps is smaller than what CW needed.
 */
public final class CarliniWagnerL2 extends Attack implements MinimumNormAttack {
    public static final int DEFAULT_SEARCH_STEPS = 9;
    public static final double DEFAULT_INITIAL_CONST = 1e-3, DEFAULT_LR = 0.01;
    private final int searchSteps;
    private final double initialConst;
    private float[] found = new float[0];

    public CarliniWagnerL2(Model model, ThreatModel threat, AttackOptions options, int searchSteps, double initialConst) {
        super(model, threat, options);
        if (threat.norm() != Norm.L2) throw new IllegalArgumentException("cw-l2 needs an L2 threat model");
        if (searchSteps < 1) throw new IllegalArgumentException("cw-l2: binary-search steps must be >= 1");
        if (!(initialConst > 0) || Double.isInfinite(initialConst)) {
            throw new IllegalArgumentException("cw-l2: initial constant c must be finite and > 0");
        }
        this.searchSteps = searchSteps;
        this.initialConst = initialConst;
    }

    @Override
    public String name() {
        return "cw-l2";
    }

    @Override
    public float[] foundNorms() {
        return found.clone();
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int n = (int) x0.dim(0), classes = model.numClasses();
        double half = (threat.hi() - threat.lo()) / 2, lr = options.stepSize() > 0 ? options.stepSize() : DEFAULT_LR;
        Tensor lab = options.targeted() ? targets : labels;
        float[] want = Backends.toFloatArray(lab);
        // w0 = atanh(u) with u = (x0 - mid) / half scaled by 0.999999 (as the paper's code) to stay finite.
        Tensor w0 = newLike(x0), t = newLike(x0);
        backend.unary(UnaryOp.AFFINE, x0, w0, 0.999999 / half, -0.999999 * (threat.lo() + half) / half);
        backend.unary(UnaryOp.AFFINE, w0, t, -1, 1);
        backend.unary(UnaryOp.AFFINE, w0, w0, 1, 1);
        backend.binary(BinaryOp.DIV, w0, t, w0);
        backend.unary(UnaryOp.LOG, w0, w0, 0, 0);
        backend.unary(UnaryOp.AFFINE, w0, w0, 0.5, 0);
        double[] c = new double[n], lower = new double[n], upper = new double[n];
        Arrays.fill(c, initialConst);
        Arrays.fill(upper, 1e10);
        double[] bestSq = new double[n];
        Arrays.fill(bestSq, Double.POSITIVE_INFINITY);
        int check = Math.max(1, options.steps() / 10);
        for (int search = 0; search < searchSteps; search++) {
            boolean[] success = new boolean[n];
            try (MemoryScope s = MemoryScope.open()) {
                Variable w = Variable.leaf(backend.duplicate(w0), true);
                Tensor cRows = Rows.of(x0, c, n);
                double previous = Double.POSITIVE_INFINITY;
                try (Adam adam = Adam.adam(Map.of("w", w), lr)) {
                    for (int step = 0; step < options.steps(); step++) {
                        try (MemoryScope it = MemoryScope.open()) {
                            Variable x = Ops.affine(Ops.tanh(w), half, threat.lo() + half);
                            Variable logits = model.logits(x);
                            Variable m = Losses.margin(logits, lab);
                            // f = max(s m, -kappa) = relu(s m + kappa) - kappa, s = 1 untargeted, -1 targeted.
                            Variable f = Ops.addScalar(Ops.relu(Ops.affine(m, options.targeted() ? -1 : 1, options.kappa())),
                                    -options.kappa());
                            Variable dist = Ops.sum(Ops.reshape(Ops.square(Ops.sub(x, Variable.constant(x0))), n, -1), 1, false);
                            Variable obj = Ops.add(dist, Ops.mul(Variable.constant(cRows), f));
                            Tensor ones = newLike(obj.value());
                            backend.fill(ones, 1);
                            adam.zeroGrad();
                            obj.backward(ones);
                            countQueries(n);
                            countGradientEvaluations(n);
                            track(x.value(), logits.value(), dist.value(), want, classes, bestSq, success, xAdv);
                            adam.step();
                            if (step % check == 0) {
                                double total = sum(Backends.toFloatArray(obj.value()));
                                if (total > previous * 0.9999) break;
                                previous = total;
                            }
                        }
                    }
                } finally {
                    w.releaseGrad();
                }
            }
            for (int i = 0; i < n; i++) {
                if (success[i]) {
                    upper[i] = Math.min(upper[i], c[i]);
                    if (upper[i] < 1e9) c[i] = (lower[i] + upper[i]) / 2;
                } else {
                    lower[i] = Math.max(lower[i], c[i]);
                    c[i] = upper[i] < 1e9 ? (lower[i] + upper[i]) / 2 : c[i] * 10;
                }
            }
        }
        found = new float[n];
        for (int i = 0; i < n; i++) found[i] = (float) Math.sqrt(bestSq[i]);
        project(x0, xAdv);
    }

    /** Marks this step's adversarial rows and keeps (in best) those closer than the best so far. */
    private void track(Tensor x, Tensor logits, Tensor dist, float[] want, int classes, double[] bestSq,
                       boolean[] success, Tensor best) {
        int n = want.length;
        float[] z = Backends.toFloatArray(logits), sq = Backends.toFloatArray(dist);
        double[] better = new double[n];
        for (int i = 0; i < n; i++) {
            // The paper's test: shift the label's (target's) logit by kappa against the attack, then argmax.
            int label = (int) want[i];
            z[i * classes + label] += (float) (options.targeted() ? -options.kappa() : options.kappa());
            int pred = Rows.argmax(z, i, classes);
            if (options.targeted() ? pred != label : pred == label) continue;
            success[i] = true;
            if (sq[i] < bestSq[i]) {
                bestSq[i] = sq[i];
                better[i] = 1;
            }
        }
        blendRows(Rows.of(x, better, n), x, best);
    }

    private static double sum(float[] v) {
        double s = 0;
        for (float f : v) s += f;
        return s;
    }
}
