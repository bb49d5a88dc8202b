package org.advmia.backend.cuda;

import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Storage;

/** A block of device memory from the CUDA backend's caching pool. */
final class CudaStorage extends Storage {
    private final CudaAllocator allocator;
    private final long address;
    private final long bytes;

    CudaStorage(CudaAllocator allocator, Device device, DType dtype, long elements) {
        super(dtype, device, elements);
        this.allocator = allocator;
        this.bytes = Math.max(1, elements) * dtype.bytes;
        this.address = allocator.allocate(bytes);
    }

    @Override
    public long address() {
        return address;
    }

    @Override
    protected void free() {
        allocator.release(address, bytes);
    }
}
