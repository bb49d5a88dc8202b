package org.advmia.attack;

import java.util.Arrays;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * SimBA-DCT: Guo, Gardner, You, Wilson and Weinberger, "Simple Black-box Adversarial Attacks",
 * ICML 2019 (arXiv:1905.07121). Score-based, forward passes only: for each direction q of the
 * orthonormal 2-D DCT-II basis (per channel), in a random order, try x + alpha q, then x - alpha q,
 * and keep the first that lowers the probability of the true class (targeted: raises the
 * target's; compared as cross-entropy, which is monotone in it); a sample stops once it is
 * misclassified. The order is the paper's strided one: a random permutation of the
 * freqDims x freqDims lowest frequencies of every channel, then of each further band of
 * {@code stride} frequencies, up to the full basis; one order serves the whole batch, as in the
 * reference. Budget: options.steps() directions (two queries each at most, plus one at the start).
 *
 * <p>Defaults and threat model: freqDims = H / 4 (rounded, at least 1) and stride = freqDims / 4
 * (at least 1), the paper's ratios of 28 and 7 at 224 pixels scaled to our smaller images; 1000
 * directions. SimBA itself is unbounded in L-inf; this variant is projected, as the reference's
 * {@code linf_bound} option: the accumulated DCT perturbation is clipped to [-eps, eps] and the
 * box before every query. Step alpha (the L2 length of one step): by default eps sqrt(H W) / 4,
 * so that one step moves the peak pixels of a basis image (amplitude 2 / sqrt(H W)) by eps / 2.
 * The paper's fixed 0.2 for 224 x 224 ImageNet moves pixels by under 1/255 and needs thousands of
 * directions; on small images with an L-inf budget the search must reach the ball's surface
 * within a few hundred. (On the 12 x 12 test model, peaks of eps / 4, eps / 2, eps and 2 eps gave
 * robust accuracies 0.18, 0.15, 0.17 and 0.16 at eps 0.3, and eps / 2 was also best at 0.1.)
 *
 * <p>Batched: two forward passes per direction over the samples still robust ({@link PackedRows});
 * the second pass also computes the rows whose first try succeeded, discards them and does not
 * count them as queries. The host reads back one [N] vector per direction.
 */
public final class SimpleBlackBoxAttack extends Attack {
    private static final int X0 = 0, CLS = 1, CUR = 2, DELTA = 3, CE = 4;
    private final int freqDims;
    private final boolean autoStep;

    /** freqDims 0 picks H / 4; autoStep ignores options.stepSize() for eps sqrt(H W) / 4. */
    public SimpleBlackBoxAttack(Model model, ThreatModel threat, AttackOptions options, int freqDims, boolean autoStep) {
        super(model, threat, options);
        if (threat.norm() != org.advmia.backend.Norm.LINF) throw new IllegalArgumentException("simba: L-inf only");
        if (freqDims < 0) throw new IllegalArgumentException("simba: freqDims must be >= 0, got " + freqDims);
        this.freqDims = freqDims;
        this.autoStep = autoStep;
    }

    @Override
    public String name() {
        return "simba";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (threat.eps() == 0 || options.steps() == 0) return;
        int n = (int) x0.dim(0), c = (int) x0.dim(1), h = (int) x0.dim(2), w = (int) x0.dim(3);
        int freq = freqDims > 0 ? freqDims : Math.max(1, (int) Math.round(Math.min(h, w) / 4.0));
        int[] order = directionOrder(c, h, w, freq, Math.max(1, freq / 4), keys(c * h * w, x0.dtype(), gen),
                options.steps());
        double alpha = autoStep ? threat.eps() * Math.sqrt((double) h * w) / 4 : options.stepSize();
        Tensor cls = options.targeted() ? targets : labels;
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor dh = dctMatrix(h, x0.dtype()), dw = dctMatrix(w, x0.dtype());
            Tensor logits = scores(x0);
            countQueries(n);
            Tensor ce = crossEntropy(logits, cls), delta = newLike(x0);
            backend.fill(delta, 0);
            boolean[] done = flags(success(logits, cls), 1);
            try (PackedRows rows = new PackedRows(backend, x0, cls, x0, delta, ce)) {
                rows.retire(done, CUR, xAdv);
                for (int i = 0; i < order.length && rows.count() > 0; i++) {
                    try (MemoryScope it = MemoryScope.open()) {
                        float[] code = Backends.toFloatArray(step(rows, basis(order[i], c, h, w, dh, dw, alpha)));
                        long second = 0;
                        for (float f : code) if (((int) f & 1) == 0) second++;
                        countQueries(rows.count() + second);
                        rows.retire(flags(code, 2), CUR, xAdv);
                    }
                }
                rows.retireAll(CUR, xAdv);
            }
        }
    }

    /** Tries +q, then -q where +q failed, on every packed row; returns per row (+q kept) + 2 (now adversarial). */
    private Tensor step(PackedRows rows, Tensor q) {
        Tensor x0 = rows.get(X0), cls = rows.get(CLS), cur = rows.get(CUR), delta = rows.get(DELTA), ce = rows.get(CE);
        long m = rows.count();
        Tensor plus = candidate(x0, delta, q, BinaryOp.ADD), minus = candidate(x0, delta, q, BinaryOp.SUB);
        Tensor logitsP = scores(plus), logitsM = scores(minus);
        Tensor ceP = crossEntropy(logitsP, cls), ceM = crossEntropy(logitsM, cls);
        Tensor keepP = improved(ceP, ce), keepM = improved(ceM, ce), notP = newLike(keepP);
        backend.unary(UnaryOp.AFFINE, keepP, notP, -1, 1);
        backend.binary(BinaryOp.MUL, keepM, notP, keepM);
        Tensor coef = newLike(keepP), move = newLike(delta);
        backend.binary(BinaryOp.SUB, keepP, keepM, coef);
        backend.binary(BinaryOp.MUL, q, coef.reshape(m, 1, 1, 1), move);
        backend.binary(BinaryOp.ADD, delta, move, delta);
        copy(select(keepP, plus, select(keepM, minus, cur)), cur);
        copy(select(keepP, ceP, select(keepM, ceM, ce)), ce);
        Tensor code = newLike(keepP), s = success(logitsP, cls);
        backend.binary(BinaryOp.MUL, s, keepP, code);
        s = success(logitsM, cls);
        backend.binary(BinaryOp.MUL, s, keepM, s);
        backend.binary(BinaryOp.ADD, code, s, code);
        backend.axpby(2, code, 1, keepP, code);
        return code;
    }

    /** The projection of x0 + (delta op q) onto the eps-ball and the box. */
    private Tensor candidate(Tensor x0, Tensor delta, Tensor q, BinaryOp op) {
        Tensor x = newLike(x0);
        backend.binary(op, delta, q, x);
        backend.binary(BinaryOp.ADD, x0, x, x);
        project(x0, x);
        return x;
    }

    /** alpha times basis image k = (channel, u, v): [1, C, H, W], the outer product of two DCT rows. */
    private Tensor basis(int k, int c, int h, int w, Tensor dh, Tensor dw, double alpha) {
        int ch = k / (h * w), u = (k / w) % h, v = k % w;
        Tensor q = backend.empty(dh.dtype(), Shape.of(1, c, h, w));
        if (c > 1) backend.fill(q, 0);
        Tensor plane = q.reshape(c, (long) h * w).narrow0(ch, 1).reshape(h, w);
        backend.binary(BinaryOp.MUL, dh.narrow0(u, 1).reshape(h, 1), dw.narrow0(v, 1), plane);
        backend.unary(UnaryOp.AFFINE, plane, plane, alpha, 0);
        return q;
    }

    /** Rows of the orthonormal DCT-II matrix: D[u, i] = sqrt((u == 0 ? 1 : 2) / L) cos(pi (2i + 1) u / 2L). */
    static Tensor dctMatrix(int len, DType dtype) {
        double[] d = new double[len * len];
        for (int u = 0; u < len; u++) {
            double scale = Math.sqrt((u == 0 ? 1.0 : 2.0) / len);
            for (int i = 0; i < len; i++) d[u * len + i] = scale * Math.cos(Math.PI * (2 * i + 1) * u / (2.0 * len));
        }
        return Backends.tensor(dtype, d, len, len);
    }

    /**
     * The first {@code limit} directions (channel * H * W + u * W + v) in the strided low-frequency
     * order: by band (0 while max(u, v) < freq, then one band per {@code stride} frequencies), and
     * within a band by the random keys.
     */
    static int[] directionOrder(int c, int h, int w, int freq, int stride, float[] keys, int limit) {
        Integer[] idx = new Integer[c * h * w];
        int[] band = new int[idx.length];
        for (int k = 0; k < idx.length; k++) {
            idx[k] = k;
            int top = Math.max((k / w) % h, k % w);
            band[k] = top < freq ? 0 : 1 + (top - freq) / stride;
        }
        Arrays.sort(idx, (a, b) -> band[a] != band[b] ? Integer.compare(band[a], band[b]) : Float.compare(keys[a], keys[b]));
        int[] out = new int[Math.min(limit, idx.length)];
        for (int i = 0; i < out.length; i++) out[i] = idx[i];
        return out;
    }

    private float[] keys(int count, DType dtype, Generator gen) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor t = backend.empty(dtype, Shape.of(count));
            gen.uniform(t, 0, 1);
            return Backends.toFloatArray(t);
        }
    }

    private Tensor crossEntropy(Tensor logits, Tensor cls) {
        Tensor ce = backend.empty(logits.dtype(), Shape.of(logits.dim(0)));
        backend.softmaxCrossEntropy(logits, cls, null, 0, ce, null, null);
        return ce;
    }

    /** 1 where the new value is better: a lower true-class (higher target) probability. */
    private Tensor improved(Tensor ceNew, Tensor ce) {
        Tensor t = newLike(ce);
        if (options.targeted()) backend.binary(BinaryOp.GT, ce, ceNew, t);
        else backend.binary(BinaryOp.GT, ceNew, ce, t);
        return t;
    }

    /** 1 where the logits are adversarial: misclassified (targeted: the target class). */
    private Tensor success(Tensor logits, Tensor cls) {
        Tensor pred = backend.empty(logits.dtype(), Shape.of(logits.dim(0))), s = newLike(pred);
        backend.argmax(logits, pred);
        backend.binary(BinaryOp.EQ, pred, cls, s);
        if (!options.targeted()) backend.unary(UnaryOp.AFFINE, s, s, -1, 1);
        return s;
    }

    private static boolean[] flags(Tensor t, int bit) {
        return flags(Backends.toFloatArray(t), bit);
    }

    private static boolean[] flags(float[] code, int bit) {
        boolean[] b = new boolean[code.length];
        for (int i = 0; i < b.length; i++) b[i] = ((int) code[i] & bit) != 0;
        return b;
    }

    private void copy(Tensor src, Tensor dst) {
        backend.copyBlock(src, 0, src.numel(), dst, 0, dst.numel(), 1, dst.numel());
    }
}
