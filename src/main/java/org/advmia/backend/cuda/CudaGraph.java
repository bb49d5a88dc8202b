package org.advmia.backend.cuda;

/**
 * A captured sequence of CUDA work ({@link CudaBackend#capture}) that replays with one launch.
 * While it is open, the device blocks it recorded stay reserved for it; close it to release them.
 */
public final class CudaGraph implements AutoCloseable {
    private final CudaAllocator allocator;
    private long exec;

    CudaGraph(long exec, CudaAllocator allocator) {
        this.exec = exec;
        this.allocator = allocator;
    }

    /** Queues one replay on the engine's stream (asynchronous, like every op). */
    public void launch() {
        if (exec == 0) throw new IllegalStateException("CUDA graph already closed");
        CudaBackend.check(CudaNative.advc_graph_launch(exec));
    }

    @Override
    public void close() {
        if (exec == 0) return;
        CudaNative.advc_synchronize();  // a replay may still be running on the blocks about to be released
        CudaNative.advc_graph_destroy(exec);
        exec = 0;
        allocator.graphDestroyed();
    }
}
