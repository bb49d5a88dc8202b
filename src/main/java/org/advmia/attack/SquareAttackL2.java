package org.advmia.attack;

import java.util.SplittableRandom;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.Norm;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Square Attack in L2: Andriushchenko, Croce, Flammarion and Hein, ECCV 2020 (arXiv:1912.00049),
 * Algorithm 3. Random search on the margin loss (targeted: minus the target's margin), forward
 * passes only, with the perturbation always rescaled to L2 norm eps before clipping to the box.
 *
 * <p>The start is a grid of s0 x s0 tiles, s0 = floor(H / 5), centred in the image, each holding
 * the paper's "meta pseudo-Gaussian" pattern (below) times a random sign per channel. Each
 * iteration draws two windows W1, W2 of odd side s = max(3, round(sqrt(p H W))), p on the same
 * schedule as the L-inf attack; per channel, the new content of W1 is that pattern with a random
 * sign plus the current perturbation inside W1 (normalised), rescaled to
 * sqrt(max(eps^2 - ||delta||^2, 0) / C + ||delta restricted to W1 u W2||^2); W2 is zeroed
 * (the mass moves from W2 to W1), and the whole perturbation is rescaled to norm eps and the
 * result clipped to [lo, hi]. A proposal is kept where the loss decreases; a sample stops once it
 * is adversarial. Clipping only moves pixels towards x0, so ||x_adv - x0||_2 <= eps always holds.
 *
 * <p>The meta pattern of side s: the top floor(s/2) rows hold a sum of centred rectangles
 * weighted 1/(k+1)^2 (k = 0, 1, ...), the bottom rows the negated pattern of the remaining rows;
 * the whole is normalised to unit norm and transposed with probability 1/2.
 *
 * <p>Deviations from the reference code: window positions are uniform over all H - s + 1 rows and
 * columns (see {@link SquareAttack}); the pattern's orientation is drawn per sample and tile
 * rather than once per batch, so a sample's result does not depend on its batch. Randomness is a
 * per-sample stream (the same seeds as {@link SquareAttack}).
 *
 * <p>Batched: one forward pass per iteration over the samples still robust. The window
 * bookkeeping (two random windows per sample, per-channel norms) runs on the host, in float64,
 * and each iteration uploads the candidate batch once: on the CPU backend that is a memcpy next to
 * a forward pass; a device backend would want a dedicated proposal kernel instead.
 */
public final class SquareAttackL2 extends Attack {
    private final double pInit;
    private float[] staging;
    private org.advmia.tensor.DType dtype;

    public SquareAttackL2(Model model, ThreatModel threat, AttackOptions options, double pInit) {
        super(model, threat, options);
        if (threat.norm() != Norm.L2) throw new IllegalArgumentException("square-l2: the threat model must be L2, got " + threat);
        if (!(pInit > 0 && pInit <= 1)) throw new IllegalArgumentException("square-l2: p_init must be in (0, 1], got " + pInit);
        this.pInit = pInit;
    }

    @Override
    public String name() {
        return "square-l2";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int budget = options.steps();
        if (threat.eps() == 0 || budget == 0) return;
        if (x0.rank() != 4) throw new IllegalArgumentException("square-l2: expects images [N, C, H, W], got " + x0.shape());
        int n = (int) x0.dim(0), c = (int) x0.dim(1), h = (int) x0.dim(2), w = (int) x0.dim(3), d = c * h * w;
        Tensor cls = options.targeted() ? targets : labels;
        dtype = x0.dtype();
        long[] seeds = SquareAttack.sampleSeeds(backend, x0, cls, gen);
        SplittableRandom[] rnd = new SplittableRandom[n];
        for (int i = 0; i < n; i++) rnd[i] = new SplittableRandom(seeds[i]);
        float[] x = Backends.toFloatArray(x0), y = Backends.toFloatArray(cls);
        float[] best = new float[n * d], cand = new float[n * d];
        double eps = threat.eps();
        double[] delta = new double[d];
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(delta, 0);
            initialPerturbation(delta, c, h, w, rnd[i]);
            writeCandidate(x, i, delta, eps, best, i);
        }
        int[] active = new int[n];
        for (int i = 0; i < n; i++) active[i] = i;
        double[] lossBest = losses(best, active, n, y, x0.shape());
        int m = compact(active, n, lossBest);
        for (int t = 1; m > 0 && t < budget; t++) {
            int s = side(SquareAttack.pSchedule(pInit, t - 1, budget), h, w);
            for (int r = 0; r < m; r++) {
                int i = active[r];
                for (int k = 0; k < d; k++) delta[k] = (double) best[i * d + k] - x[i * d + k];
                propose(delta, c, h, w, s, eps, rnd[i]);
                writeCandidate(x, i, delta, eps, cand, r);
            }
            double[] l = losses(cand, active, m, y, x0.shape());
            for (int r = 0; r < m; r++) {
                int i = active[r];
                if (l[r] < lossBest[i]) {
                    lossBest[i] = l[r];
                    System.arraycopy(cand, r * d, best, i * d, d);
                }
            }
            m = compact(active, m, lossBest);
        }
        backend.copyFromHost(best, xAdv);
    }

    /** Keeps the samples whose loss is still >= 0 (not yet adversarial) at the front; returns their count. */
    private static int compact(int[] active, int m, double[] lossBest) {
        int k = 0;
        for (int r = 0; r < m; r++) if (lossBest[active[r]] >= 0) active[k++] = active[r];
        return k;
    }

    /** The margin loss of rows 0..m-1 of cand (sample active[r]), one query each. */
    private double[] losses(float[] cand, int[] active, int m, float[] y, Shape shape) {
        countQueries(m);
        int d = (int) (shape.numel() / shape.dim(0));
        float[] rows = cand;
        if (cand.length != m * d) {
            // The robust set shrinks now and then; the staging buffer follows it, not every iteration.
            if (staging == null || staging.length != m * d) staging = new float[m * d];
            System.arraycopy(cand, 0, staging, 0, m * d);
            rows = staging;
        }
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor xs = backend.empty(dtype, Shape.of(m, shape.dim(1), shape.dim(2), shape.dim(3)));
            backend.copyFromHost(rows, xs);
            float[] cv = new float[m];
            for (int r = 0; r < m; r++) cv[r] = y[active[r]];
            Tensor cl = backend.empty(xs.dtype(), Shape.of(m));
            backend.copyFromHost(cv, cl);
            Tensor margin = backend.empty(xs.dtype(), Shape.of(m));
            backend.margin(scores(xs), cl, margin, null, null);
            if (options.targeted()) backend.unary(UnaryOp.NEG, margin, margin, 0, 0);
            float[] mv = Backends.toFloatArray(margin);
            double[] out = new double[m];
            for (int r = 0; r < m; r++) out[r] = mv[r];
            return out;
        }
    }

    /** out row r = clip(x0_i + eps * delta / ||delta||) (x0_i where delta is zero). */
    private void writeCandidate(float[] x, int i, double[] delta, double eps, float[] out, int r) {
        int d = delta.length;
        double norm = 0;
        for (double v : delta) norm += v * v;
        norm = Math.sqrt(norm);
        double scale = norm > 0 ? eps / norm : 0;
        for (int k = 0; k < d; k++) {
            double v = x[i * d + k] + scale * delta[k];
            out[r * d + k] = (float) Math.min(threat.hi(), Math.max(threat.lo(), v));
        }
    }

    /** The start: a centred grid of s0 x s0 meta patterns, each with a random sign per channel. */
    static void initialPerturbation(double[] delta, int c, int h, int w, SplittableRandom rnd) {
        int s0 = Math.max(1, Math.min(h, w) / 5);
        int th = h / s0, tw = w / s0, oh = (h - th * s0) / 2, ow = (w - tw * s0) / 2;
        for (int a = 0; a < th; a++) {
            for (int b = 0; b < tw; b++) {
                double[] pattern = metaPattern(s0, rnd.nextBoolean());
                for (int ch = 0; ch < c; ch++) {
                    double sign = rnd.nextBoolean() ? 1 : -1;
                    for (int i = 0; i < s0; i++) {
                        for (int j = 0; j < s0; j++) {
                            delta[(ch * h + oh + a * s0 + i) * w + ow + b * s0 + j] += sign * pattern[i * s0 + j];
                        }
                    }
                }
            }
        }
    }

    /** One proposal (Algorithm 3): move the perturbation's mass from window 2 into a new pattern in window 1. */
    static void propose(double[] delta, int c, int h, int w, int s, double eps, SplittableRandom rnd) {
        int r1 = rnd.nextInt(h - s + 1), c1 = rnd.nextInt(w - s + 1);
        int r2 = rnd.nextInt(h - s + 1), c2 = rnd.nextInt(w - s + 1);
        double[] pattern = metaPattern(s, rnd.nextBoolean());
        double normImage = 0, normWindows = 0;
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < h; i++) {
                for (int j = 0; j < w; j++) {
                    double v = delta[(ch * h + i) * w + j];
                    normImage += v * v;
                    if (inside(i, j, r1, c1, s) || inside(i, j, r2, c2, s)) normWindows += v * v;
                }
            }
        }
        double target = Math.sqrt(Math.max(eps * eps - normImage, 0) / c + normWindows);
        double[] fresh = new double[c * s * s];
        for (int ch = 0; ch < c; ch++) {
            double sign = rnd.nextBoolean() ? 1 : -1, old = 0;
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) {
                    double v = delta[(ch * h + r1 + i) * w + c1 + j];
                    old += v * v;
                }
            }
            old = Math.sqrt(old);
            double norm = 0;
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) {
                    double v = sign * pattern[i * s + j] + delta[(ch * h + r1 + i) * w + c1 + j] / (1e-12 + old);
                    fresh[(ch * s + i) * s + j] = v;
                    norm += v * v;
                }
            }
            double scale = target / (1e-12 + Math.sqrt(norm));
            for (int k = ch * s * s; k < (ch + 1) * s * s; k++) fresh[k] *= scale;
        }
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) delta[(ch * h + r2 + i) * w + c2 + j] = 0;
            }
        }
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < s; i++) {
                for (int j = 0; j < s; j++) delta[(ch * h + r1 + i) * w + c1 + j] = fresh[(ch * s + i) * s + j];
            }
        }
    }

    private static boolean inside(int i, int j, int r, int c, int s) {
        return i >= r && i < r + s && j >= c && j < c + s;
    }

    /** The window side for fraction p: odd, at least 3, at most the image's smaller side. */
    static int side(double p, int h, int w) {
        int s = Math.max(3, (int) Math.rint(Math.sqrt(p * h * w)));
        if (s % 2 == 0) s++;
        int cap = Math.min(h, w);
        if (s > cap) s = cap % 2 == 1 ? cap : cap - 1;
        return Math.max(1, s);
    }

    /** The s x s meta pseudo-Gaussian pattern, unit L2 norm, row-major; transposed if asked. */
    static double[] metaPattern(int s, boolean transpose) {
        int top = s / 2;
        double[] p = new double[s * s];
        double[] a = rectangles(top, s), b = rectangles(s - top, s);
        for (int i = 0; i < top; i++) for (int j = 0; j < s; j++) p[i * s + j] = a[i * s + j];
        for (int i = 0; i < s - top; i++) for (int j = 0; j < s; j++) p[(top + i) * s + j] = -b[i * s + j];
        normalise(p);
        if (!transpose) return p;
        double[] t = new double[s * s];
        for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) t[j * s + i] = p[i * s + j];
        return t;
    }

    /**
     * rows x cols, unit norm: sum over k of 1/(k+1)^2 on the rectangle of rows [rc - k, rc + k] and
     * columns [cc - k, cc + k] (clipped), centre (rc, cc) = (rows / 2, cols / 2), k = 0 .. max(rc, cc).
     * An element at Chebyshev distance m from the centre therefore holds sum_{k >= m} 1/(k+1)^2.
     */
    static double[] rectangles(int rows, int cols) {
        double[] r = new double[rows * cols];
        int rc = rows / 2, cc = cols / 2, kmax = Math.max(rc, cc);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                int dist = Math.max(Math.abs(i - rc), Math.abs(j - cc));
                double v = 0;
                for (int k = dist; k <= kmax; k++) v += 1.0 / ((k + 1.0) * (k + 1.0));
                r[i * cols + j] = v;
            }
        }
        normalise(r);
        return r;
    }

    private static void normalise(double[] v) {
        double n = 0;
        for (double e : v) n += e * e;
        n = Math.sqrt(n);
        if (n > 0) for (int k = 0; k < v.length; k++) v[k] /= n;
    }
}
