package org.advmia.backend.cpu;

import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Storage;

final class CpuStorage extends Storage {
    private final CpuAllocator allocator;
    private final long address;
    private final long bytes;

    CpuStorage(CpuAllocator allocator, DType dtype, long elements) {
        super(dtype, Device.CPU, elements);
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
