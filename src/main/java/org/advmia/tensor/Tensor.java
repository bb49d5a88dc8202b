package org.advmia.tensor;

/**
 * A dense, row-major N-d array in native (host or device) memory. A tensor is a window
 * (offset + shape) onto a reference-counted {@link Storage}; views share the storage.
 *
 * <p>Lifetime is deterministic: a tensor created while a {@link MemoryScope} is open belongs to
 * that scope and is closed with it; otherwise the creator closes it. Data never passes through
 * the Java heap except at explicit host copies.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final long offset;
    private final Shape shape;
    private boolean closed;
    MemoryScope scope;

    /** Wraps storage that the caller has just allocated (taking over its one reference). */
    public static Tensor wrap(Storage storage, Shape shape) {
        if (shape.numel() > storage.capacity()) {
            throw new IllegalArgumentException("shape " + shape + " needs " + shape.numel()
                    + " elements but the storage holds " + storage.capacity());
        }
        Tensor t = new Tensor(storage, 0, shape);
        MemoryScope.adopt(t);
        return t;
    }

    private Tensor(Storage storage, long offset, Shape shape) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape;
    }

    public Shape shape() {
        return shape;
    }

    public long dim(int axis) {
        return shape.dim(axis);
    }

    public int rank() {
        return shape.rank();
    }

    public long numel() {
        return shape.numel();
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Device device() {
        return storage.device();
    }

    public Storage storage() {
        return storage;
    }

    /** Offset of element 0 within the storage, in elements. */
    public long offset() {
        return offset;
    }

    /** Address of this tensor's first element; throws if the tensor was closed. */
    public long address() {
        checkLive();
        return storage.address() + offset * storage.dtype().bytes;
    }

    public boolean isClosed() {
        return closed;
    }

    public void checkLive() {
        if (closed || !storage.isLive()) {
            throw new IllegalStateException("tensor " + shape + " was used after it was closed"
                    + " (was it created inside a MemoryScope that has ended? keep() it to take ownership)");
        }
    }

    /** A view with another shape of the same element count. */
    public Tensor reshape(long... dims) {
        checkLive();
        return view(offset, shape.reshape(dims));
    }

    public Tensor reshape(Shape s) {
        return reshape(s.toArray());
    }

    /** A view of rows [start, start + length) along axis 0. */
    public Tensor narrow0(long start, long length) {
        checkLive();
        long rows = shape.dim(0);
        if (start < 0 || length < 0 || start + length > rows) {
            throw new IllegalArgumentException("narrow0(" + start + ", " + length + ") outside axis 0 of " + shape);
        }
        long rowSize = shape.prod(1, shape.rank());
        return view(offset + start * rowSize, shape.withDim(0, length));
    }

    private Tensor view(long off, Shape s) {
        storage.retain();
        Tensor t = new Tensor(storage, off, s);
        MemoryScope.adopt(t);
        return t;
    }

    /** Moves this tensor out of its scope: the caller now owns it and must close it. */
    public Tensor keep() {
        if (scope != null) scope.forget(this);
        return this;
    }

    /** Hands this tensor to the scope enclosing its current one (or to the caller if none). */
    public Tensor escape() {
        if (scope != null) scope.escape(this);
        return this;
    }

    /**
     * {@link #escape()} if this tensor belongs to {@code s}, else nothing. For a result computed
     * inside a short-lived scope that may also be a tensor from outside it (a model that returns
     * its input): that one must keep its owner.
     */
    public Tensor escapeFrom(MemoryScope s) {
        if (s != null && scope == s) s.escape(this);
        return this;
    }

    public boolean sameShape(Tensor o) {
        return shape.equals(o.shape);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (scope != null) scope.forget(this);
        storage.release();
    }

    @Override
    public String toString() {
        return "Tensor" + shape + "(" + dtype() + ", " + device() + (closed ? ", closed" : "") + ")";
    }
}
