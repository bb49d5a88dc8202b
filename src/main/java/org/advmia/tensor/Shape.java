package org.advmia.tensor;

import java.util.Arrays;

/** An immutable list of extents, row-major. */
public final class Shape {
    private final long[] dims;
    private final long numel;

    private Shape(long[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + ": extent " + i + " is negative");
            }
            n = Math.multiplyExact(n, dims[i]);
        }
        this.dims = dims;
        this.numel = n;
    }

    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    public static Shape of(int... dims) {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = dims[i];
        return new Shape(d);
    }

    public int rank() {
        return dims.length;
    }

    /** Extent along axis i; negative i counts from the end. */
    public long dim(int i) {
        return dims[axis(i)];
    }

    public int axis(int i) {
        int a = i < 0 ? i + dims.length : i;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException("axis " + i + " out of range for shape " + this);
        }
        return a;
    }

    public long numel() {
        return numel;
    }

    public long[] toArray() {
        return dims.clone();
    }

    /** Product of extents over axes [from, to). */
    public long prod(int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= dims[i];
        return p;
    }

    /** Resolves one -1 extent so the result has this shape's element count. */
    public Shape reshape(long... target) {
        long known = 1;
        int infer = -1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape " + Arrays.toString(target) + ": more than one -1");
                infer = i;
            } else {
                known *= target[i];
            }
        }
        long[] out = target.clone();
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(target));
            }
            out[infer] = numel / known;
        }
        Shape s = new Shape(out);
        if (s.numel != numel) {
            throw new IllegalArgumentException("cannot reshape " + this + " (" + numel + " elements) to " + s);
        }
        return s;
    }

    public Shape withDim(int axis, long extent) {
        long[] d = dims.clone();
        d[axis(axis)] = extent;
        return new Shape(d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
