package org.advmia.attack;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Per-sample row bookkeeping shared by the minimum-norm attacks, which work on the subset of a
 * batch that is still unbroken: gathering and scattering rows, per-row norms, per-row host values
 * as device tensors, and class rankings.
 */
final class Rows {
    private Rows() {}

    /** A new tensor holding rows idx of src (src itself, as a view, when idx is 0..N-1). */
    static Tensor gather(Backend b, Tensor src, int[] idx) {
        long n = src.dim(0), d = src.numel() / Math.max(1, n);
        if (isIdentity(idx, n)) return src.reshape(src.shape());
        Tensor out = b.empty(src.dtype(), src.shape().withDim(0, idx.length));
        for (int j = 0; j < idx.length; j++) b.copyBlock(src, idx[j] * d, d, out, j * d, d, 1, d);
        return out;
    }

    /** dst rows idx = rows of src (a no-op when src is dst's storage from an identity gather). */
    static void scatter(Backend b, Tensor src, int[] idx, Tensor dst) {
        long d = dst.numel() / Math.max(1, dst.dim(0));
        for (int j = 0; j < idx.length; j++) {
            if (src.address() == dst.address() && j == idx[j]) continue;
            b.copyBlock(src, j * d, d, dst, idx[j] * d, d, 1, d);
        }
    }

    static boolean isIdentity(int[] idx, long n) {
        if (idx.length != n) return false;
        for (int j = 0; j < idx.length; j++) if (idx[j] != j) return false;
        return true;
    }

    /** Per-row norm of a - b (L2, or L-inf), on the host. */
    static float[] distances(Backend b, Norm norm, Tensor a, Tensor c) {
        try (MemoryScope s = MemoryScope.open()) {
            long n = a.dim(0), d = a.numel() / Math.max(1, n);
            Tensor diff = b.empty(a.dtype(), Shape.of(n, d));
            b.axpby(1, a.reshape(n, d), -1, c.reshape(n, d), diff);
            return norms(b, norm, diff);
        }
    }

    /** Per-row norm of rows [n, d]: L2, L-inf, or L1 (norm null). */
    static float[] norms(Backend b, Norm norm, Tensor rows) {
        try (MemoryScope s = MemoryScope.open()) {
            long n = rows.dim(0), d = rows.numel() / Math.max(1, n);
            Tensor out = b.empty(rows.dtype(), Shape.of(n, 1));
            ReduceOp op = norm == Norm.L2 ? ReduceOp.SUM_SQUARES : norm == Norm.LINF ? ReduceOp.ABS_MAX : ReduceOp.ABS_SUM;
            b.reduce(op, rows.reshape(n, d), n, d, 1, out);
            if (norm == Norm.L2) b.unary(UnaryOp.SQRT, out, out, 0, 0);
            return Backends.toFloatArray(out);
        }
    }

    /** A device tensor of the given shape (and the dtype of like) from host values. */
    static Tensor of(Tensor like, double[] values, long... shape) {
        return Backends.tensor(like.dtype(), values, shape);
    }

    /** Row i of logits z [n, c] as class indices sorted by decreasing logit (ties: lower index first). */
    static int[][] ranked(float[] z, int n, int c) {
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) {
            final int base = i * c;
            out[i] = java.util.stream.IntStream.range(0, c).boxed()
                    .sorted((p, q) -> Float.compare(z[base + q], z[base + p])).mapToInt(Integer::intValue).toArray();
        }
        return out;
    }

    /** Argmax of each row of z [n, c] (the first maximum, as the argmax kernel). */
    static int argmax(float[] z, int i, int c) {
        int best = 0;
        for (int j = 1; j < c; j++) if (z[i * c + j] > z[i * c + best]) best = j;
        return best;
    }
}
