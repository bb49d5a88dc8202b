package org.advmia.attack;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * The L-inf projection onto a hyperplane intersected with a box, which FAB needs (Croce and Hein,
 * ICML 2020, Sec. 3.1): per row, the smallest-L-inf d with w . d = c and lo <= p + d <= hi.
 *
 * <p>With s = sign(c), each coordinate can move by at most u_i = hi - p_i (if s w_i > 0) or
 * p_i - lo (if s w_i < 0) in the helpful direction, so with ||d||_inf <= t the largest reachable
 * s w . d is h(t) = sum_i |w_i| min(t, u_i), a nondecreasing piecewise-linear function. The answer
 * is d_i = sign(s w_i) min(t*, u_i) with t* the smallest t where h(t) >= |c|; when even
 * h(max u) < |c| the hyperplane is out of the box's reach and d moves every coordinate to the
 * bound (the closest the box allows). t* is found on the device, batched over rows (a sorted
 * breakpoint scan would need a sort primitive), by Newton's method from t = 0: h is concave, so
 * each step lands at or below t* and crosses at least one breakpoint unless it is exact, which
 * makes the search exact in a few steps (at most {@value #MAX_NEWTON_STEPS}; each costs one host
 * read of two numbers per row to test convergence). The test compares it with an exact
 * sort-based version.
 */
final class LinfHyperplaneProjection {
    static final int MAX_NEWTON_STEPS = 50;

    private LinfHyperplaneProjection() {}

    /** p, w, out [m, d]; c [m, 1]: out = the projection step d for each row. */
    static void project(Backend b, Tensor p, Tensor w, Tensor c, double lo, double hi, Tensor out) {
        long m = p.dim(0), d = p.numel() / Math.max(1, m);
        try (MemoryScope s = MemoryScope.open()) {
            Shape rows = Shape.of(m, d), col = Shape.of(m, 1);
            Tensor sc = b.empty(p.dtype(), col), absC = b.empty(p.dtype(), col);
            b.unary(UnaryOp.SIGN, c, sc, 0, 0);
            b.unary(UnaryOp.ABS, c, absC, 0, 0);
            Tensor ws = b.empty(p.dtype(), rows), aw = b.empty(p.dtype(), rows), pos = b.empty(p.dtype(), rows);
            b.binary(BinaryOp.MUL, w, sc, ws);
            b.unary(UnaryOp.ABS, ws, aw, 0, 0);
            b.binary(BinaryOp.GT, ws, zero(b, p), pos);
            // u = pos ? hi - p : p - lo = (p - lo) + pos * (hi + lo - 2p)
            Tensor u = b.empty(p.dtype(), rows), t = b.empty(p.dtype(), rows);
            b.unary(UnaryOp.AFFINE, p, t, -2, hi + lo);
            b.binary(BinaryOp.MUL, t, pos, t);
            b.unary(UnaryOp.AFFINE, p, u, 1, -lo);
            b.binary(BinaryOp.ADD, u, t, u);
            b.unary(UnaryOp.RELU, u, u, 0, 0);
            Tensor tStar = b.empty(p.dtype(), col), maxU = b.empty(p.dtype(), col);
            Tensor h = b.empty(p.dtype(), col), slope = b.empty(p.dtype(), col), step = b.empty(p.dtype(), col);
            b.fill(tStar, 0);
            b.reduce(ReduceOp.MAX, u, m, d, 1, maxU);
            float[] need = Backends.toFloatArray(absC);
            for (int it = 0; it < MAX_NEWTON_STEPS; it++) {
                // h(t) and its right slope h'(t) = sum of |w_i| over u_i > t.
                b.binary(BinaryOp.MIN, u, tStar, t);
                b.binary(BinaryOp.MUL, t, aw, t);
                b.reduce(ReduceOp.SUM, t, m, d, 1, h);
                b.binary(BinaryOp.GT, u, tStar, t);
                b.binary(BinaryOp.MUL, t, aw, t);
                b.reduce(ReduceOp.SUM, t, m, d, 1, slope);
                b.binary(BinaryOp.SUB, absC, h, h);                     // the residual |c| - h(t)
                if (converged(Backends.toFloatArray(h), Backends.toFloatArray(slope), need)) break;
                b.unary(UnaryOp.CLAMP, slope, slope, 1e-30, Double.MAX_VALUE);
                b.binary(BinaryOp.DIV, h, slope, step);
                b.unary(UnaryOp.RELU, step, step, 0, 0);
                b.binary(BinaryOp.ADD, tStar, step, tStar);
                b.binary(BinaryOp.MIN, tStar, maxU, tStar);
            }
            b.binary(BinaryOp.MIN, u, tStar, t);
            b.unary(UnaryOp.SIGN, ws, pos, 0, 0);
            b.binary(BinaryOp.MUL, t, pos, out.reshape(m, d));  // w . d = s (s w) . d = s |c| = c
        }
    }

    /** Every row has reached |c| (to float precision) or has no slope left (out of reach, saturated). */
    private static boolean converged(float[] residual, float[] slope, float[] need) {
        for (int j = 0; j < residual.length; j++) {
            if (residual[j] > 1e-5 * need[j] && slope[j] > 0) return false;
        }
        return true;
    }

    private static Tensor zero(Backend b, Tensor like) {
        Tensor z = b.empty(like.dtype(), Shape.of(1));
        b.fill(z, 0);
        return z;
    }
}
