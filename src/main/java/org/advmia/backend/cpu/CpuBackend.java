package org.advmia.backend.cpu;

import java.util.Map;
import org.advmia.backend.AllocatorStats;
import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Broadcast;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.Norm;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.PoolKind;
import org.advmia.backend.RandomKind;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.bytedeco.javacpp.Loader;

import static org.advmia.backend.Checks.len;
import static org.advmia.backend.Checks.addr;
import static org.advmia.backend.Checks.requireNumel;
import static org.advmia.backend.Checks.requireDtypes;
import static org.advmia.backend.Checks.requireSameDtype;
import static org.advmia.backend.Checks.requireShape;

/** The CPU backend: C++ kernels from src/main/cpp on their own thread pool (advmia_pool.h), GEMM through OpenBLAS. */
public final class CpuBackend implements Backend {
    private static volatile CpuBackend instance;

    private final CpuAllocator allocator = new CpuAllocator();

    private CpuBackend() {
        CpuNative.adv_set_threads(threadCount());
        Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
        String path = openBlasPath();
        check(CpuNative.adv_init_blas(path));
    }

    /** The process-wide CPU backend; loads the native libraries on first use. */
    public static CpuBackend get() {
        CpuBackend b = instance;
        if (b == null) {
            synchronized (CpuBackend.class) {
                if (instance == null) instance = new CpuBackend();
                b = instance;
            }
        }
        return b;
    }

    /** Threads for kernels: -Dadvmia.threads, else ADVMIA_THREADS, else every core. */
    static int threadCount() {
        String s = System.getProperty("advmia.threads", System.getenv("ADVMIA_THREADS"));
        if (s != null && !s.isBlank()) {
            try {
                int n = Integer.parseInt(s.trim());
                if (n > 0) return n;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException("advmia.threads / ADVMIA_THREADS = '" + s + "': expected a positive integer");
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public int threads() {
        return CpuNative.adv_get_threads();
    }

    public void setThreads(int n) {
        if (n <= 0) throw new IllegalArgumentException("threads must be positive, got " + n);
        CpuNative.adv_set_threads(n);
    }

    private static String openBlasPath() {
        for (Map.Entry<String, String> e : Loader.getLoadedLibraries().entrySet()) {
            String p = e.getValue();
            if (p != null && p.contains("libopenblas") && !p.contains("jniopenblas")) return p;
        }
        throw new IllegalStateException("OpenBLAS did not load: no libopenblas among " + Loader.getLoadedLibraries().keySet()
                + " (is org.bytedeco:openblas:linux-x86_64 on the classpath?)");
    }

    static void check(int rc) {
        if (rc != 0) throw new IllegalArgumentException(CpuNative.adv_last_error());
    }

    private static void requireCpu(Tensor t, String name) {
        if (t != null && t.device().kind() != Device.Kind.CPU) {
            throw new IllegalArgumentException(name + " is on " + t.device() + ", expected cpu");
        }
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Tensor empty(DType dtype, Shape shape) {
        return Tensor.wrap(new CpuStorage(allocator, dtype, shape.numel()), shape);
    }

    /** Returns every cached block of the pool to the system. */
    public void trimPool() {
        allocator.trim();
    }

    /** The pool's high-water mark of bytes in use since the last call (phase-by-phase memory reports). */
    public long resetPeakInUse() {
        return allocator.resetPeak();
    }

    @Override
    public AllocatorStats allocatorStats() {
        return allocator.stats();
    }

    @Override
    public void copyFromHost(float[] src, Tensor dst) {
        requireCpu(dst, "destination");
        requireNumel("copyFromHost", "destination", dst, src.length);
        check(CpuNative.adv_copy_in_f32(src, src.length, dst.dtype().code, dst.address(), dst.numel()));
    }

    @Override
    public void copyToHost(Tensor src, float[] dst) {
        requireCpu(src, "source");
        requireNumel("copyToHost", "source", src, dst.length);
        check(CpuNative.adv_copy_out_f32(src.dtype().code, src.address(), src.numel(), dst, dst.length));
    }

    @Override
    public void copyFromHost(double[] src, Tensor dst) {
        requireCpu(dst, "destination");
        requireNumel("copyFromHost", "destination", dst, src.length);
        check(CpuNative.adv_copy_in_f64(src, src.length, dst.dtype().code, dst.address(), dst.numel()));
    }

    @Override
    public void copyToHost(Tensor src, double[] dst) {
        requireCpu(src, "source");
        requireNumel("copyToHost", "source", src, dst.length);
        check(CpuNative.adv_copy_out_f64(src.dtype().code, src.address(), src.numel(), dst, dst.length));
    }

    @Override
    public void fill(Tensor y, double value) {
        check(CpuNative.adv_fill(y.dtype().code, y.address(), y.numel(), y.numel(), value));
    }

    @Override
    public void copyBlock(Tensor src, long srcOffset, long srcStride, Tensor dst, long dstOffset, long dstStride,
                          long rows, long cols) {
        requireSameDtype("copyBlock", src, dst);
        check(CpuNative.adv_copy_block(src.dtype().code, src.address(), src.numel(), srcOffset, srcStride,
                dst.address(), dst.numel(), dstOffset, dstStride, rows, cols));
    }

    @Override
    public void transpose(Tensor x, long batch, long rows, long cols, Tensor y) {
        requireSameDtype("transpose", x, y);
        requireNumel("transpose", "input", x, batch * rows * cols);
        requireNumel("transpose", "output", y, batch * rows * cols);
        check(CpuNative.adv_transpose(x.dtype().code, batch, rows, cols, x.address(), x.numel(), y.address(),
                y.numel()));
    }

    @Override
    public void cast(Tensor src, Tensor dst) {
        requireNumel("cast", "destination", dst, src.numel());
        check(CpuNative.adv_cast(src.dtype().code, src.address(), src.numel(), dst.dtype().code, dst.address(),
                dst.numel(), src.numel()));
    }

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor y, double a, double b) {
        requireSameDtype(op.name(), x, y);
        requireNumel(op.name(), "output", y, x.numel());
        check(CpuNative.adv_unary(x.dtype().code, op.code(), x.address(), x.numel(), y.address(), y.numel(),
                x.numel(), a, b));
    }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a, double b) {
        requireDtypes(op.name() + " backward", gy, gx, x, y);
        requireSameDtype(op.name() + " backward", gy, gx);
        requireNumel(op.name() + " backward", "input gradient", gx, gy.numel());
        if (x != null) requireNumel(op.name() + " backward", "input", x, gy.numel());
        if (y != null) requireNumel(op.name() + " backward", "output", y, gy.numel());
        check(CpuNative.adv_unary_bwd(gy.dtype().code, op.code(), addr(x), len(x), addr(y), len(y), gy.address(),
                gy.numel(), gx.address(), gx.numel(), gy.numel(), a, b));
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor y) {
        requireSameDtype(op.name(), a, b);
        requireSameDtype(op.name(), a, y);
        Broadcast bc = Broadcast.of(op.name(), a.shape(), b.shape());
        requireShape(op.name(), "output", y, bc.shape().toArray());
        if (y.numel() == 0) return;
        check(CpuNative.adv_binary(a.dtype().code, op.code(), a.address(), a.numel(), b.address(), b.numel(),
                y.address(), y.numel(), bc.rank(), bc.dims(), bc.stridesA(), bc.stridesB()));
    }

    @Override
    public void axpby(double alpha, Tensor x, double beta, Tensor y, Tensor out) {
        requireSameDtype("axpby", x, y);
        requireSameDtype("axpby", x, out);
        requireNumel("axpby", "y", y, x.numel());
        requireNumel("axpby", "output", out, x.numel());
        check(CpuNative.adv_axpby(x.dtype().code, x.address(), x.numel(), y.address(), y.numel(), out.address(),
                out.numel(), x.numel(), alpha, beta));
    }

    @Override
    public void reduce(ReduceOp op, Tensor x, long outer, long n, long inner, Tensor y) {
        requireSameDtype("reduce", x, y);
        requireNumel("reduce " + op, "input", x, outer * n * inner);
        requireNumel("reduce " + op, "output", y, outer * inner);
        check(CpuNative.adv_reduce(x.dtype().code, op.code(), x.address(), x.numel(), y.address(), y.numel(), outer, n,
                inner));
    }

    @Override
    public void argmax(Tensor x, Tensor y) {
        requireSameDtype("argmax", x, y);
        long rows = x.rank() == 1 ? 1 : x.dim(0);
        long cols = x.numel() / Math.max(rows, 1);
        requireNumel("argmax", "output", y, rows);
        check(CpuNative.adv_argmax(x.dtype().code, x.address(), x.numel(), y.address(), y.numel(), rows, cols));
    }

    @Override
    public long countNonFinite(Tensor x) {
        long r = CpuNative.adv_count_nonfinite(x.dtype().code, x.address(), x.numel(), x.numel());
        if (r < 0) throw new IllegalArgumentException(CpuNative.adv_last_error());
        return r;
    }

    @Override
    public void gemm(boolean transA, boolean transB, long m, long n, long k, double alpha, Tensor a, Tensor b,
                     double beta, Tensor c) {
        requireSameDtype("gemm", a, b);
        requireSameDtype("gemm", a, c);
        requireNumel("gemm", "A", a, m * k);
        requireNumel("gemm", "B", b, k * n);
        requireNumel("gemm", "C", c, m * n);
        check(CpuNative.adv_gemm(a.dtype().code, transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.address(), a.numel(),
                transA ? m : k, b.address(), b.numel(), transB ? k : n, beta, c.address(), c.numel(), n));
    }

    /**
     * How the CPU backend computes a convolution. {@code AUTO} (what the {@link Backend} methods use)
     * picks per layer shape; the others force one path, so tests can compare them.
     */
    public enum ConvAlgorithm {
        /**
         * Winograd where it was measured faster (3x3 stride-1 layers with >= 16 channels), F(2x2,3x3) or
         * F(4x4,3x3) per layer and direction (advmia_conv.h, wino4_wins_*), else im2col.
         */
        AUTO(0),
        /** im2col (or a direct depthwise kernel) + OpenBLAS GEMM. */
        IM2COL(1),
        /** Winograd F(2x2,3x3); only for 3x3, stride-1, dilation-1, ungrouped convolutions. */
        WINOGRAD(2),
        /** Winograd F(4x4,3x3); for the same convolutions as {@link #WINOGRAD}. */
        WINOGRAD4(3);

        final int code;

        ConvAlgorithm(int code) {
            this.code = code;
        }
    }

    /**
     * For tests: the Winograd tile size (2 or 4) that {@link ConvAlgorithm#AUTO} uses wherever it takes
     * Winograd, so that callers which cannot pass an algorithm (autograd) can be checked through
     * each kernel; 0 restores the measured per-layer choice. Process-wide.
     */
    public void setWinogradTileForTests(int tile) {
        check(CpuNative.adv_set_wino_tile(tile));
    }

    /**
     * For tests: the instruction set of the Winograd kernels, which are compiled twice (AVX2 and
     * AVX-512, advmia_winograd_kernels.h) and picked per call from what the CPU has: 256 forces the
     * AVX2 copy, 512 the AVX-512 copy (an error where the CPU lacks it), 0 restores the CPU's best.
     * Process-wide. Returns the set now in use (256 or 512).
     */
    public int setWinogradIsaForTests(int bits) {
        int inUse = CpuNative.adv_set_wino_isa(bits);
        check(inUse < 0 ? -1 : 0);
        return inUse;
    }

    /** Whether this CPU runs the AVX-512 copy of the Winograd kernels (F, VL, BW and DQ present). */
    public boolean hasAvx512() {
        return CpuNative.adv_cpu_has_avx512() == 1;
    }

    @Override
    public void conv2d(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y) {
        conv2d(g, x, w, bias, y, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2d(ConvGeometry, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2d(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y, ConvAlgorithm algorithm) {
        checkConvForward(g, x, w, bias, y, algorithm);
        check(CpuNative.adv_conv2d_fwd(x.dtype().code, algorithm.code, g.toArray(), x.address(), x.numel(), w.address(), w.numel(),
                addr(bias), len(bias), y.address(), y.numel()));
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor gx) {
        conv2dBackwardData(g, gy, w, gx, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dBackwardData(ConvGeometry, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor gx, ConvAlgorithm algorithm) {
        checkConvBackwardData(g, gy, w, algorithm);
        requireShape("conv2d backward", "input gradient", gx, g.inputShape());
        requireSameDtype("conv2d backward", gy, w);
        requireSameDtype("conv2d backward", gy, gx);
        check(CpuNative.adv_conv2d_bwd_data(gy.dtype().code, algorithm.code, g.toArray(), gy.address(), gy.numel(), w.address(),
                w.numel(), gx.address(), gx.numel()));
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb) {
        conv2dBackwardFilter(g, x, gy, gw, gb, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dBackwardFilter(ConvGeometry, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb,
                                     ConvAlgorithm algorithm) {
        checkConvBackwardFilter(g, x, gy, gw, gb, algorithm);
        check(CpuNative.adv_conv2d_bwd_filter(x.dtype().code, algorithm.code, g.toArray(), x.address(), x.numel(), gy.address(),
                gy.numel(), addr(gw), len(gw), addr(gb), len(gb)));
    }

    @Override
    public void conv2dReluInput(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y) {
        conv2dReluInput(g, x, w, bias, y, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dReluInput(ConvGeometry, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dReluInput(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y, ConvAlgorithm algorithm) {
        checkConvForward(g, x, w, bias, y, algorithm);
        check(CpuNative.adv_conv2d_relu_fwd(x.dtype().code, algorithm.code, g.toArray(), x.address(), x.numel(),
                w.address(), w.numel(), addr(bias), len(bias), y.address(), y.numel()));
    }

    @Override
    public void conv2dReluInputBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor x, Tensor gx) {
        conv2dReluInputBackwardData(g, gy, w, x, gx, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dReluInputBackwardData(ConvGeometry, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dReluInputBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor x, Tensor gx,
                                            ConvAlgorithm algorithm) {
        checkConvBackwardData(g, gy, w, algorithm);
        requireShape("conv2d backward", "input", x, g.inputShape());
        requireShape("conv2d backward", "input gradient", gx, g.inputShape());
        requireSameDtype("conv2d backward", gy, w);
        requireSameDtype("conv2d backward", gy, x);
        requireSameDtype("conv2d backward", gy, gx);
        check(CpuNative.adv_conv2d_relu_bwd_data(gy.dtype().code, algorithm.code, g.toArray(), gy.address(),
                gy.numel(), w.address(), w.numel(), x.address(), x.numel(), gx.address(), gx.numel()));
    }

    @Override
    public void conv2dReluInputBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb) {
        conv2dReluInputBackwardFilter(g, x, gy, gw, gb, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dReluInputBackwardFilter(ConvGeometry, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dReluInputBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb,
                                              ConvAlgorithm algorithm) {
        checkConvBackwardFilter(g, x, gy, gw, gb, algorithm);
        check(CpuNative.adv_conv2d_relu_bwd_filter(x.dtype().code, algorithm.code, g.toArray(), x.address(),
                x.numel(), gy.address(), gy.numel(), addr(gw), len(gw), addr(gb), len(gb)));
    }

    private static void checkConvForward(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y,
                                         ConvAlgorithm algorithm) {
        if (algorithm == null) throw new IllegalArgumentException("conv2d: algorithm is null (use ConvAlgorithm.AUTO)");
        requireDtypes("conv2d", x, w, bias, y);
        requireShape("conv2d", "input", x, g.inputShape());
        requireShape("conv2d", "weight", w, g.weightShape());
        requireShape("conv2d", "output", y, g.outputShape());
        if (bias != null) requireShape("conv2d", "bias", bias, new long[] {g.cout()});
        requireSameDtype("conv2d", x, w);
        requireSameDtype("conv2d", x, y);
    }

    /** The checks backward-data shares with its fused-ReLU twin; each adds its own operands. */
    private static void checkConvBackwardData(ConvGeometry g, Tensor gy, Tensor w, ConvAlgorithm algorithm) {
        if (algorithm == null)
            throw new IllegalArgumentException("conv2d backward: algorithm is null (use ConvAlgorithm.AUTO)");
        requireShape("conv2d backward", "output gradient", gy, g.outputShape());
        requireShape("conv2d backward", "weight", w, g.weightShape());
    }

    private static void checkConvBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb,
                                                ConvAlgorithm algorithm) {
        if (algorithm == null)
            throw new IllegalArgumentException("conv2d backward: algorithm is null (use ConvAlgorithm.AUTO)");
        requireDtypes("conv2d backward", x, gy, gw, gb);
        requireShape("conv2d backward", "input", x, g.inputShape());
        requireShape("conv2d backward", "output gradient", gy, g.outputShape());
        if (gw != null) requireShape("conv2d backward", "weight gradient", gw, g.weightShape());
        if (gb != null) requireShape("conv2d backward", "bias gradient", gb, new long[] {g.cout()});
        requireSameDtype("conv2d backward", x, gy);
    }

    @Override
    public void conv2dMaxPool2(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor bias, Tensor y,
                               Tensor indices) {
        conv2dMaxPool2(g, reluInput, x, w, bias, y, indices, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dMaxPool2(ConvGeometry, boolean, Tensor, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dMaxPool2(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor bias, Tensor y,
                               Tensor indices, ConvAlgorithm algorithm) {
        if (algorithm == null) throw new IllegalArgumentException("conv2d: algorithm is null (use ConvAlgorithm.AUTO)");
        if (indices == null) throw new IllegalArgumentException("conv2d + max-pool: indices are required");
        PoolGeometry pg = Backend.maxPool2Geometry(g);
        requireDtypes("conv2d + max-pool", x, w, bias, y, indices);
        requireShape("conv2d + max-pool", "input", x, g.inputShape());
        requireShape("conv2d + max-pool", "weight", w, g.weightShape());
        requireShape("conv2d + max-pool", "output", y, pg.outputShape());
        requireShape("conv2d + max-pool", "indices", indices, pg.outputShape());
        if (bias != null) requireShape("conv2d + max-pool", "bias", bias, new long[] {g.cout()});
        requireSameDtype("conv2d + max-pool", x, w);
        requireSameDtype("conv2d + max-pool", x, y);
        requireSameDtype("conv2d + max-pool", x, indices);
        check(CpuNative.adv_conv2d_pool_fwd(x.dtype().code, algorithm.code, reluInput ? 1 : 0, g.toArray(),
                x.address(), x.numel(), w.address(), w.numel(), addr(bias), len(bias), y.address(), y.numel(),
                indices.address(), indices.numel()));
    }

    @Override
    public void conv2dMaxPool2Backward(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor gy,
                                       Tensor indices, Tensor gx, Tensor gw, Tensor gb) {
        conv2dMaxPool2Backward(g, reluInput, x, w, gy, indices, gx, gw, gb, ConvAlgorithm.AUTO);
    }

    /** {@link #conv2dMaxPool2Backward(ConvGeometry, boolean, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)} with a chosen algorithm. */
    public void conv2dMaxPool2Backward(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor gy,
                                       Tensor indices, Tensor gx, Tensor gw, Tensor gb, ConvAlgorithm algorithm) {
        String op = "conv2d + max-pool backward";
        if (algorithm == null) throw new IllegalArgumentException(op + ": algorithm is null (use ConvAlgorithm.AUTO)");
        if (x == null || w == null || gy == null || indices == null)
            throw new IllegalArgumentException(op + ": input, weight, output gradient and indices are required");
        PoolGeometry pg = Backend.maxPool2Geometry(g);
        requireDtypes(op, x, w, gy, indices, gx, gw, gb);
        requireShape(op, "input", x, g.inputShape());
        requireShape(op, "weight", w, g.weightShape());
        requireShape(op, "output gradient", gy, pg.outputShape());
        requireShape(op, "indices", indices, pg.outputShape());
        if (gx != null) requireShape(op, "input gradient", gx, g.inputShape());
        if (gw != null) requireShape(op, "weight gradient", gw, g.weightShape());
        if (gb != null) requireShape(op, "bias gradient", gb, new long[] {g.cout()});
        check(CpuNative.adv_conv2d_pool_bwd(x.dtype().code, algorithm.code, reluInput ? 1 : 0, g.toArray(),
                x.address(), x.numel(), w.address(), w.numel(), gy.address(), gy.numel(), indices.address(),
                indices.numel(), addr(gx), len(gx), addr(gw), len(gw), addr(gb), len(gb)));
    }

    @Override
    public void pool2d(PoolGeometry g, Tensor x, Tensor y, Tensor indices) {
        requireDtypes("pool2d", x, y, indices);
        requireShape("pool2d", "input", x, g.inputShape());
        requireShape("pool2d", "output", y, g.outputShape());
        if (indices != null) requireShape("pool2d", "indices", indices, g.outputShape());
        requireSameDtype("pool2d", x, y);
        check(CpuNative.adv_pool2d_fwd(x.dtype().code, g.toArray(), x.address(), x.numel(), y.address(), y.numel(),
                addr(indices), len(indices)));
    }

    @Override
    public void pool2dBackward(PoolGeometry g, Tensor gy, Tensor indices, Tensor gx) {
        requireDtypes("pool2d backward", gy, indices, gx);
        requireShape("pool2d backward", "output gradient", gy, g.outputShape());
        requireShape("pool2d backward", "input gradient", gx, g.inputShape());
        if (g.kind() == PoolKind.MAX) {
            if (indices == null) throw new IllegalArgumentException("max pool backward needs the forward pass's indices");
            requireShape("pool2d backward", "indices", indices, g.outputShape());
        }
        requireSameDtype("pool2d backward", gy, gx);
        check(CpuNative.adv_pool2d_bwd(gy.dtype().code, g.toArray(), gy.address(), gy.numel(), addr(indices),
                len(indices), gx.address(), gx.numel()));
    }

    @Override
    public void gatherPlanes(Tensor src, Tensor indices, Tensor out) {
        requireDtypes("gatherPlanes", src, indices, out);
        if (src.rank() < 2 || indices.rank() != src.rank()) {
            throw new IllegalArgumentException("gatherPlanes: source " + src.shape() + " and indices " + indices.shape()
                    + " must be [..., H, W] of equal rank");
        }
        requireShape("gatherPlanes", "output", out, indices.shape().toArray());
        requireSameDtype("gatherPlanes", src, out);
        long planes = src.shape().prod(0, src.rank() - 2);
        if (indices.shape().prod(0, indices.rank() - 2) != planes) {
            throw new IllegalArgumentException("gatherPlanes: source " + src.shape() + " and indices " + indices.shape()
                    + " have different leading axes");
        }
        long s = src.dim(-1) * src.dim(-2), o = indices.dim(-1) * indices.dim(-2);
        check(CpuNative.adv_gather_planes(src.dtype().code, planes, s, o, src.address(), src.numel(),
                indices.address(), indices.numel(), out.address(), out.numel()));
    }

    @Override
    public void medianFilter(Tensor x, int k, Tensor y) {
        requireDtypes("median filter", x, y);
        if (x.rank() < 2) throw new IllegalArgumentException("median filter: input " + x.shape() + " needs [..., H, W]");
        requireShape("median filter", "output", y, x.shape().toArray());
        long h = x.dim(-2), w = x.dim(-1);
        check(CpuNative.adv_median_filter(x.dtype().code, x.numel() / (h * w), h, w, k, x.address(), x.numel(),
                y.address(), y.numel()));
    }

    @Override
    public void upsample(boolean bilinear, boolean alignCorners, Tensor x, Tensor y) {
        upsampleImpl(false, bilinear, alignCorners, x, y);
    }

    @Override
    public void upsampleBackward(boolean bilinear, boolean alignCorners, Tensor gy, Tensor gx) {
        upsampleImpl(true, bilinear, alignCorners, gx, gy);
    }

    private void upsampleImpl(boolean backward, boolean bilinear, boolean ac, Tensor small, Tensor large) {
        String op = backward ? "upsample backward" : "upsample";
        if (small.rank() != 4 || large.rank() != 4) {
            throw new IllegalArgumentException(op + ": expected NCHW tensors, got " + small.shape() + " and " + large.shape());
        }
        requireSameDtype(op, small, large);
        if (small.dim(0) != large.dim(0) || small.dim(1) != large.dim(1)) {
            throw new IllegalArgumentException(op + ": batch and channels differ: " + small.shape() + " vs " + large.shape());
        }
        Tensor in = backward ? large : small, out = backward ? small : large;
        check(CpuNative.adv_upsample(small.dtype().code, backward ? 1 : 0, bilinear ? 1 : 0, ac ? 1 : 0, small.dim(0),
                small.dim(1), small.dim(2), small.dim(3), large.dim(2), large.dim(3), in.address(), in.numel(),
                out.address(), out.numel()));
    }

    private static long minLen(long c, Tensor... ts) {
        long m = Long.MAX_VALUE;
        for (Tensor t : ts) if (t != null) m = Math.min(m, t.numel());
        return m == Long.MAX_VALUE ? c : m;
    }

    @Override
    public void batchNorm(boolean training, double momentum, double eps, Tensor x, Tensor gamma, Tensor beta,
                          Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        batchNormActivation(training, momentum, eps, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd,
                null);
    }

    private static int bnActivationCode(UnaryOp act) {
        if (act == null) return -1;
        if (act != UnaryOp.RELU && act != UnaryOp.RELU6) {
            throw new IllegalArgumentException("batch norm: only RELU and RELU6 can be fused, got " + act);
        }
        return act.code();
    }

    @Override
    public void batchNormActivation(boolean training, double momentum, double eps, Tensor x, Tensor gamma,
                                    Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean,
                                    Tensor saveInvStd, UnaryOp act) {
        int actCode = bnActivationCode(act);
        if (x.rank() < 2) throw new IllegalArgumentException("batch norm: input " + x.shape() + " needs [N, C, ...]");
        requireShape("batch norm", "output", y, x.shape().toArray());
        requireSameDtype("batch norm", x, y);
        long n = x.dim(0), c = x.dim(1), hw = x.numel() / Math.max(1, n * c);
        for (Tensor t : new Tensor[] {gamma, beta, runningMean, runningVar, saveMean, saveInvStd}) {
            if (t != null) {
                requireShape("batch norm", "per-channel tensor", t, new long[] {c});
                requireSameDtype("batch norm", x, t);
            }
        }
        check(CpuNative.adv_batchnorm_fwd(x.dtype().code, training ? 1 : 0, actCode, n, c, hw,
                minLen(c, gamma, beta, runningMean, runningVar, saveMean, saveInvStd), momentum, eps, x.address(),
                x.numel(), addr(gamma), addr(beta), addr(runningMean), addr(runningVar), y.address(), y.numel(),
                addr(saveMean), addr(saveInvStd)));
    }

    @Override
    public void batchNormBackward(boolean training, Tensor x, Tensor gy, Tensor gamma, Tensor saveMean,
                                  Tensor saveInvStd, Tensor gx, Tensor gGamma, Tensor gBeta) {
        batchNormActivationBackward(training, x, null, null, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
    }

    @Override
    public void batchNormActivationBackward(boolean training, Tensor x, Tensor y, UnaryOp act, Tensor gy,
                                            Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor gx,
                                            Tensor gGamma, Tensor gBeta) {
        int actCode = bnActivationCode(act);
        if (act != null && y == null) throw new IllegalArgumentException("batch norm backward: a fused " + act
                + " needs its output y");
        requireDtypes("batch norm backward", x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta,
                act == null ? null : y);
        requireShape("batch norm backward", "output gradient", gy, x.shape().toArray());
        if (act != null) requireShape("batch norm backward", "activation output", y, x.shape().toArray());
        if (gx != null) requireShape("batch norm backward", "input gradient", gx, x.shape().toArray());
        long n = x.dim(0), c = x.dim(1), hw = x.numel() / Math.max(1, n * c);
        for (Tensor t : new Tensor[] {gamma, saveMean, saveInvStd, gGamma, gBeta}) {
            if (t != null) requireShape("batch norm backward", "per-channel tensor", t, new long[] {c});
        }
        Tensor yy = act == null ? null : y;
        check(CpuNative.adv_batchnorm_bwd(x.dtype().code, training ? 1 : 0, actCode, n, c, hw,
                minLen(c, gamma, saveMean, saveInvStd, gGamma, gBeta), x.address(), x.numel(), addr(yy), len(yy),
                gy.address(), gy.numel(), addr(gamma), addr(saveMean), addr(saveInvStd), addr(gx), len(gx),
                addr(gGamma), addr(gBeta)));
    }

    private static long[] rowsCols(String op, Tensor logits) {
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits must be [N, C], got " + logits.shape());
        return new long[] {logits.dim(0), logits.dim(1)};
    }

    @Override
    public void logSoftmax(Tensor x, Tensor y) {
        requireDtypes("log_softmax", x, y);
        long[] nc = rowsCols("log_softmax", x);
        requireShape("log_softmax", "output", y, x.shape().toArray());
        check(CpuNative.adv_log_softmax(x.dtype().code, 0, nc[0], nc[1], x.address(), x.numel(), y.address(),
                y.numel(), 0, 0, 0, 0));
    }

    @Override
    public void logSoftmaxBackward(Tensor y, Tensor gy, Tensor gx) {
        requireDtypes("log_softmax backward", y, gy, gx);
        long[] nc = rowsCols("log_softmax backward", y);
        requireShape("log_softmax backward", "output gradient", gy, y.shape().toArray());
        requireShape("log_softmax backward", "input gradient", gx, y.shape().toArray());
        check(CpuNative.adv_log_softmax(y.dtype().code, 1, nc[0], nc[1], 0, 0, y.address(), y.numel(), gy.address(),
                gy.numel(), gx.address(), gx.numel()));
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor weights, double smoothing, Tensor loss,
                                    Tensor gLoss, Tensor gLogits) {
        requireDtypes("cross_entropy", logits, labels, weights, loss, gLoss, gLogits);
        long[] nc = rowsCols("cross_entropy", logits);
        requireShape("cross_entropy", "labels", labels, new long[] {nc[0]});
        if (weights != null) requireShape("cross_entropy", "class weights", weights, new long[] {nc[1]});
        boolean bwd = gLoss != null;
        if (bwd) {
            requireShape("cross_entropy backward", "loss gradient", gLoss, new long[] {nc[0]});
            requireShape("cross_entropy backward", "logit gradient", gLogits, logits.shape().toArray());
        } else {
            requireShape("cross_entropy", "loss", loss, new long[] {nc[0]});
        }
        check(CpuNative.adv_softmax_ce(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], smoothing, logits.address(),
                logits.numel(), labels.address(), labels.numel(), addr(weights), len(weights), addr(loss), len(loss),
                addr(gLoss), len(gLoss), addr(gLogits), len(gLogits)));
    }

    @Override
    public void margin(Tensor logits, Tensor labels, Tensor margin, Tensor gMargin, Tensor gLogits) {
        requireDtypes("margin", logits, labels, margin, gMargin, gLogits);
        long[] nc = rowsCols("margin", logits);
        requireShape("margin", "labels", labels, new long[] {nc[0]});
        boolean bwd = gMargin != null;
        if (bwd) requireShape("margin backward", "logit gradient", gLogits, logits.shape().toArray());
        check(CpuNative.adv_margin(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], logits.address(), logits.numel(),
                labels.address(), labels.numel(), addr(margin), len(margin), addr(gMargin), len(gMargin),
                addr(gLogits), len(gLogits)));
    }

    @Override
    public void dlr(Tensor logits, Tensor labels, Tensor targets, Tensor loss, Tensor gLoss, Tensor gLogits) {
        requireDtypes("dlr", logits, labels, targets, loss, gLoss, gLogits);
        long[] nc = rowsCols("dlr", logits);
        requireShape("dlr", "labels", labels, new long[] {nc[0]});
        if (targets != null) requireShape("dlr", "targets", targets, new long[] {nc[0]});
        boolean bwd = gLoss != null;
        if (bwd) requireShape("dlr backward", "logit gradient", gLogits, logits.shape().toArray());
        check(CpuNative.adv_dlr(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], logits.address(), logits.numel(),
                labels.address(), labels.numel(), addr(targets), len(targets), addr(loss), len(loss), addr(gLoss),
                len(gLoss), addr(gLogits), len(gLogits)));
    }

    @Override
    public void bceWithLogits(Tensor logits, Tensor targets, Tensor posWeight, Tensor loss, Tensor gLoss,
                              Tensor gLogits) {
        requireDtypes("bce_with_logits", logits, targets, posWeight, loss, gLoss, gLogits);
        requireShape("bce_with_logits", "targets", targets, logits.shape().toArray());
        long c = logits.rank() == 0 ? 1 : logits.dim(-1);
        if (posWeight != null) requireShape("bce_with_logits", "pos_weight", posWeight, new long[] {c});
        boolean bwd = gLoss != null;
        if (bwd) {
            requireShape("bce_with_logits backward", "loss gradient", gLoss, logits.shape().toArray());
            requireShape("bce_with_logits backward", "logit gradient", gLogits, logits.shape().toArray());
        } else {
            requireShape("bce_with_logits", "loss", loss, logits.shape().toArray());
        }
        check(CpuNative.adv_bce_logits(logits.dtype().code, bwd ? 1 : 0, logits.numel(), c, logits.address(),
                logits.numel(), targets.address(), targets.numel(), addr(posWeight), len(posWeight), addr(loss),
                len(loss), addr(gLoss), len(gLoss), addr(gLogits), len(gLogits)));
    }

    @Override
    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, double lr, double momentum, double dampening,
                        double weightDecay, boolean nesterov, boolean firstStep) {
        requireDtypes("sgd", param, grad, momentumBuffer);
        requireShape("sgd", "gradient", grad, param.shape().toArray());
        if (momentumBuffer != null) requireShape("sgd", "momentum buffer", momentumBuffer, param.shape().toArray());
        check(CpuNative.adv_sgd_step(param.dtype().code, param.address(), param.numel(), grad.address(), grad.numel(),
                addr(momentumBuffer), len(momentumBuffer), param.numel(), lr, momentum, dampening, weightDecay,
                nesterov ? 1 : 0, firstStep ? 1 : 0));
    }

    @Override
    public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                         double eps, double weightDecay, boolean decoupled, long step) {
        requireDtypes("adam", param, grad, m, v);
        requireShape("adam", "gradient", grad, param.shape().toArray());
        requireShape("adam", "first moment", m, param.shape().toArray());
        requireShape("adam", "second moment", v, param.shape().toArray());
        check(CpuNative.adv_adam_step(param.dtype().code, param.address(), param.numel(), grad.address(), grad.numel(),
                m.address(), m.numel(), v.address(), v.numel(), param.numel(), lr, beta1, beta2, eps, weightDecay,
                decoupled ? 1 : 0, step));
    }

    @Override
    public void random(RandomKind kind, Tensor y, long seed, long offset, double a, double b) {
        check(CpuNative.adv_random(y.dtype().code, kind.code(), y.address(), y.numel(), y.numel(), seed, offset, a, b));
    }

    @Override
    public void attackStep(Norm norm, Tensor x0, Tensor x, Tensor g, double alpha, Tensor alphaRows, double eps,
                           Tensor epsRows, Tensor active, double lo, double hi) {
        requireDtypes("attack step", x0, x, g, alphaRows, epsRows, active);
        requireShape("attack step", "adversarial input", x, x0.shape().toArray());
        if (g != null) requireShape("attack step", "gradient", g, x0.shape().toArray());
        long n = x0.rank() == 0 ? 1 : x0.dim(0);
        long d = x0.numel() / Math.max(1, n);
        for (Tensor t : new Tensor[] {alphaRows, epsRows, active}) {
            if (t != null) requireShape("attack step", "per-sample tensor", t, new long[] {n});
        }
        check(CpuNative.adv_attack_step(x0.dtype().code, norm.code(), n, d, x0.address(), x0.numel(), x.address(),
                x.numel(), addr(g), len(g), alpha, addr(alphaRows), len(alphaRows), eps, addr(epsRows), len(epsRows),
                addr(active), len(active), lo, hi));
    }

    @Override
    public void synchronize() {
        // CPU kernels are synchronous.
    }
}
