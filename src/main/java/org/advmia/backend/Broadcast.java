package org.advmia.backend;

import org.advmia.tensor.Shape;

/** NumPy broadcasting of two shapes: the result shape and each operand's element strides. */
public record Broadcast(long[] dims, long[] stridesA, long[] stridesB) {

    public static Broadcast of(String op, Shape a, Shape b) {
        int rank = Math.max(1, Math.max(a.rank(), b.rank()));
        long[] dims = new long[rank], sa = new long[rank], sb = new long[rank];
        long accA = 1, accB = 1;
        for (int i = rank - 1; i >= 0; i--) {
            int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
            long da = ia >= 0 ? a.dim(ia) : 1, db = ib >= 0 ? b.dim(ib) : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + a + " and " + b + " do not broadcast (axis " + i + ")");
            }
            dims[i] = Math.max(da, db);
            if (da == 0 || db == 0) dims[i] = 0;
            sa[i] = da == 1 ? 0 : accA;
            sb[i] = db == 1 ? 0 : accB;
            accA *= da;
            accB *= db;
        }
        return new Broadcast(dims, sa, sb);
    }

    public Shape shape() {
        return Shape.of(dims);
    }

    public int rank() {
        return dims.length;
    }
}
