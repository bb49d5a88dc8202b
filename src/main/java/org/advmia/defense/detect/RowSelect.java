package org.advmia.defense.detect;

import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Device-side selections that detectors hold fixed while differentiating: the one-hot of each
 * row's maximum, and k-nearest-neighbour weights, built from argmax and comparisons only (no
 * host round trip, so they can run inside attack loops).
 */
final class RowSelect {
    /** Added to a candidate to remove it from later argmax passes; far beyond any squared distance. */
    private static final double REMOVED = -1e30;

    private RowSelect() {}

    /** [rows, cols] -> [rows, cols] with a 1 at each row's (first) maximum. iota is [1, cols] = 0..cols-1. */
    static Tensor oneHotArgmax(Backend be, Tensor scores, Tensor iota) {
        long rows = scores.dim(0), cols = scores.dim(1);
        Tensor idx = be.empty(scores.dtype(), Shape.of(rows));
        be.argmax(scores, idx);
        Tensor hot = be.empty(scores.dtype(), Shape.of(rows, cols));
        be.binary(BinaryOp.EQ, idx.reshape(rows, 1), iota, hot);
        return hot;
    }

    /**
     * LID weights from squared distances d2 [N, B]: w = (1/k) on the k nearest candidates, and
     * additionally -1 on the k-th nearest, so that sum_j w_j log r_j = (1/k) sum_i log(r_i / r_k).
     * Candidates with excluded = 1 ([N, B] of 0/1, may be null) are never chosen.
     */
    static Tensor nearestWeights(Backend be, Tensor d2, Tensor excluded, int k, Tensor iota) {
        long n = d2.dim(0), b = d2.dim(1);
        Tensor work = be.empty(d2.dtype(), d2.shape());
        be.unary(UnaryOp.NEG, d2, work, 0, 0);
        if (excluded != null) be.axpby(1, work, REMOVED, excluded, work);
        Tensor weights = be.empty(d2.dtype(), d2.shape());
        be.fill(weights, 0);
        Tensor hot = null;
        for (int i = 0; i < k; i++) {
            hot = oneHotArgmax(be, work, iota);
            be.axpby(1, weights, 1.0 / k, hot, weights);
            be.axpby(1, work, REMOVED, hot, work);
        }
        be.axpby(1, weights, -1, hot, weights);
        return weights;
    }
}
