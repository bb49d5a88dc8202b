package org.advmia.tensor;

/**
 * A reference-counted block of device memory. Backends subclass it; the tensor layer only
 * counts references, so views and scopes can share one block safely.
 */
public abstract class Storage {
    private final DType dtype;
    private final Device device;
    private final long capacity;
    private int refs = 1;

    protected Storage(DType dtype, Device device, long capacity) {
        this.dtype = dtype;
        this.device = device;
        this.capacity = capacity;
    }

    /** Address of element 0 (host or device address). */
    public abstract long address();

    /** Returns the memory to whoever allocated it; called once, when the last reference goes. */
    protected abstract void free();

    public final DType dtype() {
        return dtype;
    }

    public final Device device() {
        return device;
    }

    /** Capacity in elements. */
    public final long capacity() {
        return capacity;
    }

    public final synchronized boolean isLive() {
        return refs > 0;
    }

    final synchronized void retain() {
        if (refs <= 0) throw new IllegalStateException("storage already freed");
        refs++;
    }

    final void release() {
        boolean last;
        synchronized (this) {
            if (refs <= 0) throw new IllegalStateException("storage released twice");
            last = --refs == 0;
        }
        if (last) free();
    }
}
