package org.advmia.attack;

import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.RandomKind;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Square Attack (L-inf): Andriushchenko, Croce, Flammarion and Hein, "Square Attack: a
 * query-efficient black-box adversarial attack via random search", ECCV 2020 (arXiv:1912.00049).
 * Random search on the margin loss z_y - max_{j != y} z_j (targeted: minus the target's margin),
 * forward passes only. It starts from vertical stripes of +-eps (one random sign per column and
 * channel); each iteration proposes, per sample, a square of side s = round(sqrt(p H W)) (at least
 * 1, at most min(H, W) - 1) at a random position set to x0 + (a random +-eps per channel), clipped
 * to the box, and keeps it where the loss decreases. A sample stops once it is misclassified.
 * p starts at p_init and halves after 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10000
 * iterations, rescaled to the budget. Defaults: 5000 queries per sample (options.steps(); the
 * start counts as one), as AutoAttack runs it (the paper's ImageNet budget is 10000), and the
 * paper's p_init 0.8. The loss is always the margin; options.loss() is not used.
 *
 * <p>Deviations from the reference code: positions are uniform over all H - s + 1 rows and
 * columns (it draws from H - s, so the last row and column never change after the start); a
 * proposal that would leave the image unchanged gets its signs negated instead of redrawn until
 * it changes something (for one channel that is the same distribution).
 *
 * <p>Batched: one forward pass per iteration over the samples still robust ({@link PackedRows});
 * the host reads back the [N] losses only. Randomness: each sample has its own counter-based
 * stream, seeded by a draw from the attack's generator mixed with a hash of the sample's pixels
 * and class, so a sample gets the same result alone or anywhere in any batch.
 */
public final class SquareAttack extends Attack {
    private static final int[] HALVINGS = {10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000};
    private static final int CHUNK = 64;   // iterations of random numbers drawn per sample at once
    private static final int X0 = 0, CLS = 1, BEST = 2, LOSS = 3, RND = 4;
    private final double pInit;

    public SquareAttack(Model model, ThreatModel threat, AttackOptions options, double pInit) {
        super(model, threat, options);
        if (threat.norm() != org.advmia.backend.Norm.LINF) throw new IllegalArgumentException("square: L-inf only");
        if (!(pInit > 0 && pInit <= 1)) throw new IllegalArgumentException("square: p_init must be in (0, 1], got " + pInit);
        this.pInit = pInit;
    }

    @Override
    public String name() {
        return "square";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int budget = options.steps();
        if (threat.eps() == 0 || budget == 0) return;
        int n = (int) x0.dim(0), c = (int) x0.dim(1), h = (int) x0.dim(2), w = (int) x0.dim(3), k = 2 + c;
        Tensor cls = options.targeted() ? targets : labels;
        long[] seeds = sampleSeeds(backend, x0, cls, gen);
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor stripes = backend.empty(x0.dtype(), Shape.of(n, c, 1, w));
            for (int i = 0; i < n; i++) backend.random(RandomKind.UNIFORM, stripes.narrow0(i, 1), seeds[i], 0, 0, 1);
            Tensor best = proposal(x0, stripes);
            Tensor loss = loss(best, cls);
            Tensor rnd = backend.empty(x0.dtype(), Shape.of(n, (long) CHUNK * k));
            Tensor hIdx = iota(h, x0.dtype()).reshape(1, 1, h, 1), wIdx = iota(w, x0.dtype()).reshape(1, 1, 1, w);
            try (PackedRows rows = new PackedRows(backend, x0, cls, best, loss, rnd)) {
                for (int t = 1; rows.count() > 0 && t < budget; t++) {
                    try (MemoryScope it = MemoryScope.open()) {
                        float[] l = Backends.toFloatArray(rows.get(LOSS));
                        boolean[] done = new boolean[l.length];
                        for (int r = 0; r < l.length; r++) done[r] = l[r] < 0;
                        rows.retire(done, BEST, xAdv);
                        if (rows.count() == 0) break;
                        if ((t - 1) % CHUNK == 0) {
                            Tensor r = rows.get(RND);
                            for (int i = 0; i < rows.count(); i++) {
                                backend.random(RandomKind.UNIFORM, r.narrow0(i, 1), seeds[rows.original(i)],
                                        (long) c * w + (long) (t - 1) * k, 0, 1);
                            }
                        }
                        step(rows, side(pSchedule(pInit, t - 1, budget), h, w), (t - 1) % CHUNK, k, hIdx, wIdx);
                    }
                }
                rows.retireAll(BEST, xAdv);
            }
        }
    }

    /** One random-search step on the packed rows: squares of side s, randomness from slot tt of the chunk. */
    private void step(PackedRows rows, int s, int tt, int k, Tensor hIdx, Tensor wIdx) {
        Tensor x0 = rows.get(X0), best = rows.get(BEST), lossBest = rows.get(LOSS), rnd = rows.get(RND);
        long m = rows.count(), d = x0.numel() / m;
        int c = (int) x0.dim(1);
        Tensor mask = backend.empty(x0.dtype(), Shape.of(m, 1, x0.dim(2), x0.dim(3)));
        backend.binary(BinaryOp.MUL, window(rnd, (long) tt * k, s, hIdx), window(rnd, (long) tt * k + 1, s, wIdx), mask);
        Tensor signs = backend.empty(x0.dtype(), Shape.of(m, c, 1, 1));
        backend.copyBlock(rnd, (long) tt * k + 2, (long) CHUNK * k, signs, 0, c, m, c);
        Tensor prop = proposal(x0, signs);
        // A proposal equal to the current window (it repeats the current signs) is negated.
        Tensor diff = newLike(x0), flip = backend.empty(x0.dtype(), Shape.of(m, 1, 1, 1));
        backend.binary(BinaryOp.SUB, prop, best, diff);
        backend.binary(BinaryOp.MUL, diff, mask, diff);
        backend.reduce(ReduceOp.ABS_MAX, diff.reshape(m, d), m, d, 1, flip.reshape(m, 1));
        backend.unary(UnaryOp.SIGN, flip, flip, 0, 0);
        backend.unary(UnaryOp.AFFINE, flip, flip, 2, -1);                 // changed: 1, unchanged: -1
        backend.binary(BinaryOp.MUL, signs, flip, signs);
        backend.binary(BinaryOp.ADD, x0, signs, prop);
        backend.unary(UnaryOp.CLAMP, prop, prop, threat.lo(), threat.hi());
        Tensor cand = paste(mask, prop, best);
        Tensor l = loss(cand, rows.get(CLS));
        Tensor improved = backend.empty(x0.dtype(), Shape.of(m, 1, 1, 1));
        backend.binary(BinaryOp.GT, lossBest, l, improved.reshape(m));
        Tensor next = select(improved, cand, best);
        backend.copyBlock(next, 0, next.numel(), best, 0, best.numel(), 1, best.numel());
        backend.binary(BinaryOp.MIN, lossBest, l, lossBest);
    }

    /**
     * The indicator [m, 1, L, 1] (or [m, 1, 1, L]) of positions [r, r + s) along an axis of length
     * L, r = floor(u (L - s + 1)) with u from column col of the random chunk; floor-free:
     * i is inside iff u (L - s + 1) < i + 1 and u (L - s + 1) >= i - s + 1.
     */
    private Tensor window(Tensor rnd, long col, int s, Tensor idx) {
        long m = rnd.dim(0), len = idx.numel();
        Tensor v = backend.empty(rnd.dtype(), Shape.of(m, 1, 1, 1));
        backend.copyBlock(rnd, col, rnd.dim(1), v, 0, 1, m, 1);
        backend.unary(UnaryOp.AFFINE, v, v, len - s + 1, 0);
        backend.unary(UnaryOp.CLAMP, v, v, 0, len - s + 0.5);           // u may round to 1 in float
        Tensor upper = newLike(idx), lower = newLike(idx);
        backend.unary(UnaryOp.AFFINE, idx, upper, 1, 1);
        backend.unary(UnaryOp.AFFINE, idx, lower, 1, 1 - s);
        Shape out = idx.dim(2) == len ? Shape.of(m, 1, len, 1) : Shape.of(m, 1, 1, len);
        Tensor in = backend.empty(rnd.dtype(), out), above = backend.empty(rnd.dtype(), out);
        backend.binary(BinaryOp.GT, upper, v, in);
        backend.binary(BinaryOp.GE, v, lower, above);
        backend.binary(BinaryOp.MUL, in, above, in);
        return in;
    }

    /** clamp(x0 + eps * (u > 0.5 ? 1 : -1)) for uniforms u broadcast over x0; u is overwritten with the +-eps. */
    private Tensor proposal(Tensor x0, Tensor u) {
        backend.binary(BinaryOp.GT, u, half(u), u);
        backend.unary(UnaryOp.AFFINE, u, u, 2 * threat.eps(), -threat.eps());
        Tensor x = newLike(x0);
        backend.binary(BinaryOp.ADD, x0, u, x);
        backend.unary(UnaryOp.CLAMP, x, x, threat.lo(), threat.hi());
        return x;
    }

    private Tensor half(Tensor like) {
        Tensor t = backend.empty(like.dtype(), Shape.of(1));
        backend.fill(t, 0.5);
        return t;
    }

    /** prop inside the window mask [m, 1, H, W] and best outside, exactly (every channel). */
    private Tensor paste(Tensor mask, Tensor prop, Tensor best) {
        Tensor outside = newLike(mask), x = newLike(prop), y = newLike(best);
        backend.unary(UnaryOp.AFFINE, mask, outside, -1, 1);
        backend.binary(BinaryOp.MUL, prop, mask, x);
        backend.binary(BinaryOp.MUL, best, outside, y);
        backend.binary(BinaryOp.ADD, x, y, x);
        return x;
    }

    /** The loss to minimise, one query per sample: the margin, negated for a targeted attack. */
    private Tensor loss(Tensor x, Tensor cls) {
        countQueries(x.dim(0));
        Tensor logits = scores(x);
        Tensor m = backend.empty(x.dtype(), Shape.of(x.dim(0)));
        backend.margin(logits, cls, m, null, null);
        if (options.targeted()) backend.unary(UnaryOp.NEG, m, m, 0, 0);
        return m;
    }

    private Tensor iota(int len, DType dtype) {
        float[] v = new float[len];
        for (int i = 0; i < len; i++) v[i] = i;
        Tensor t = backend.empty(dtype, Shape.of(len));
        backend.copyFromHost(v, t);
        return t;
    }

    /** The published schedule of p: halved after fixed fractions of a 10000-iteration run. */
    static double pSchedule(double pInit, int iteration, int budget) {
        int scaled = (int) ((double) iteration / budget * 10000);
        int halvings = 0;
        for (int mark : HALVINGS) if (scaled > mark) halvings++;
        return pInit / (1 << halvings);
    }

    /** The square's side for fraction p of the pixels (round half to even, as Python's round). */
    static int side(double p, int h, int w) {
        int s = (int) Math.rint(Math.sqrt(p * h * w));
        return Math.max(1, Math.min(s, Math.min(h, w) - 1));
    }

    /** Per-sample stream seeds: one draw from gen mixed with a hash of each sample's pixels and class. */
    static long[] sampleSeeds(org.advmia.backend.Backend backend, Tensor x0, Tensor cls, Generator gen) {
        int n = (int) x0.dim(0);
        long salt;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor r = backend.empty(x0.dtype(), Shape.of(2));
            gen.uniform(r, 0, 1);
            float[] v = Backends.toFloatArray(r);
            salt = ((long) Float.floatToIntBits(v[0]) << 32 | (Float.floatToIntBits(v[1]) & 0xffffffffL)) ^ gen.seed();
            float[] y = Backends.toFloatArray(cls), row = new float[(int) (x0.numel() / Math.max(1, n))];
            long[] seeds = new long[n];
            for (int i = 0; i < n; i++) {
                backend.copyToHost(x0.narrow0(i, 1), row);
                long hash = 0xcbf29ce484222325L ^ Float.floatToIntBits(y[i]);
                for (float f : row) hash = (hash ^ Float.floatToIntBits(f)) * 0x100000001b3L;
                seeds[i] = mix(salt ^ mix(hash));
            }
            return seeds;
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
