package org.advmia.backend.cuda;

import static org.advmia.backend.Checks.addr;
import static org.advmia.backend.Checks.len;
import static org.advmia.backend.Checks.requireDtypes;
import static org.advmia.backend.Checks.requireNumel;
import static org.advmia.backend.Checks.requireSameDtype;
import static org.advmia.backend.Checks.requireShape;

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

/**
 * The CUDA backend: the hand-written kernels of src/main/cuda (through {@link CudaNative}),
 * cuBLAS GEMM and cuDNN convolutions and batch norm (through {@link CudaLibraries}), a caching
 * device pool ({@link CudaAllocator}) and one stream that every op is queued on. Ops return as
 * soon as their work is queued; {@link #synchronize()} and the copies to the host wait for it,
 * and report any bad data a kernel found (a label outside [0, C), a pooling index outside its
 * plane), which the CPU backend would have rejected in the call itself.
 *
 * <p>Shape checks are the CPU backend's, plus a device check: every operand must live on this
 * device, since a host address handed to a kernel would fault the whole CUDA context.
 */
public final class CudaBackend implements Backend {
    private static volatile CudaBackend instance;
    private static volatile Throwable initError;

    private final Device device;
    private final CudaAllocator allocator = new CudaAllocator();
    private final CudaLibraries libraries;
    private final boolean cudnnBatchNorm;
    private final String description;

    private CudaBackend(int index) {
        check(CudaNative.advc_init(index));
        this.device = Device.cuda(index);
        boolean tf32 = Boolean.parseBoolean(System.getProperty("advmia.cuda.tf32", "false"));
        this.cudnnBatchNorm = Boolean.parseBoolean(System.getProperty("advmia.cuda.cudnnBatchNorm", "true"));
        this.libraries = new CudaLibraries(index, CudaNative.advc_stream(), tf32);
        this.description = CudaNative.advc_device_info(index) + ", " + CudaLibraries.version() + (tf32 ? ", TF32 on" : "");
    }

    /** True when a GPU is visible and the backend (kernels, cuBLAS, cuDNN) starts on it. */
    public static boolean isAvailable() {
        if (instance != null) return true;  // the per-op path (Backends.of) stays a field read
        if (initError != null || !CudaNative.available()) return false;
        try {
            get();
            return true;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Why {@link #isAvailable()} is false (null when it is true). */
    public static String unavailableReason() {
        String r = CudaNative.unavailableReason();
        if (r != null) return r;
        if (!isAvailable()) return "CUDA backend failed to start: " + initError;
        return null;
    }

    /** The process-wide CUDA backend on device 0. */
    public static CudaBackend get() {
        return get(0);
    }

    /** The process-wide CUDA backend; one engine context per process, bound to the first device asked for. */
    public static CudaBackend get(int index) {
        CudaBackend b = instance;
        if (b == null) {
            synchronized (CudaBackend.class) {
                if (instance == null) {
                    if (initError != null) throw new IllegalStateException("CUDA backend failed to start: " + initError, initError);
                    if (!CudaNative.available()) throw new IllegalStateException(CudaNative.unavailableReason());
                    try {
                        instance = new CudaBackend(index);
                    } catch (RuntimeException | LinkageError e) {
                        initError = e;
                        throw new IllegalStateException("CUDA backend failed to start on cuda:" + index + ": " + e, e);
                    }
                }
                b = instance;
            }
        }
        if (b.device.index() != index) {
            throw new IllegalArgumentException("cuda:" + index + " requested, but this process's CUDA engine is bound to "
                    + b.device);
        }
        return b;
    }

    static void check(int rc) {
        if (rc != 0) throw new IllegalArgumentException(CudaNative.advc_last_error());
    }

    private void onDevice(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !t.device().equals(device)) {
                throw new IllegalArgumentException(op + ": operand " + t.shape() + " is on " + t.device() + ", expected "
                        + device);
            }
        }
    }

    /** "NVIDIA H100 ..., sm_90, 79.1 GiB, ..., cuDNN 9.x": for `advmia info` and benchmark logs. */
    public String description() {
        return description;
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public String name() {
        return device.toString();
    }

    @Override
    public Tensor empty(DType dtype, Shape shape) {
        return Tensor.wrap(new CudaStorage(allocator, device, dtype, shape.numel()), shape);
    }

    /** Returns every cached block of the pool to the device. */
    public void trimPool() {
        allocator.trim();
    }

    @Override
    public AllocatorStats allocatorStats() {
        return allocator.stats();
    }

    // ---- memory

    @Override
    public void copyFromHost(float[] src, Tensor dst) {
        onDevice("copyFromHost", dst);
        requireNumel("copyFromHost", "destination", dst, src.length);
        check(CudaNative.advc_copy_in_f32(src, src.length, dst.dtype().code, dst.address(), dst.numel()));
    }

    @Override
    public void copyToHost(Tensor src, float[] dst) {
        onDevice("copyToHost", src);
        requireNumel("copyToHost", "source", src, dst.length);
        check(CudaNative.advc_copy_out_f32(src.dtype().code, src.address(), src.numel(), dst, dst.length));
    }

    @Override
    public void copyFromHost(double[] src, Tensor dst) {
        onDevice("copyFromHost", dst);
        requireNumel("copyFromHost", "destination", dst, src.length);
        check(CudaNative.advc_copy_in_f64(src, src.length, dst.dtype().code, dst.address(), dst.numel()));
    }

    @Override
    public void copyToHost(Tensor src, double[] dst) {
        onDevice("copyToHost", src);
        requireNumel("copyToHost", "source", src, dst.length);
        check(CudaNative.advc_copy_out_f64(src.dtype().code, src.address(), src.numel(), dst, dst.length));
    }

    // ---- data movement

    @Override
    public void fill(Tensor y, double value) {
        onDevice("fill", y);
        check(CudaNative.advc_fill(y.dtype().code, y.address(), y.numel(), y.numel(), value));
    }

    @Override
    public void copyBlock(Tensor src, long srcOffset, long srcStride, Tensor dst, long dstOffset, long dstStride,
                          long rows, long cols) {
        onDevice("copyBlock", src, dst);
        requireSameDtype("copyBlock", src, dst);
        check(CudaNative.advc_copy_block(src.dtype().code, src.address(), src.numel(), srcOffset, srcStride,
                dst.address(), dst.numel(), dstOffset, dstStride, rows, cols));
    }

    @Override
    public void transpose(Tensor x, long batch, long rows, long cols, Tensor y) {
        onDevice("transpose", x, y);
        requireSameDtype("transpose", x, y);
        requireNumel("transpose", "input", x, batch * rows * cols);
        requireNumel("transpose", "output", y, batch * rows * cols);
        check(CudaNative.advc_transpose(x.dtype().code, batch, rows, cols, x.address(), x.numel(), y.address(),
                y.numel()));
    }

    @Override
    public void cast(Tensor src, Tensor dst) {
        onDevice("cast", src, dst);
        requireNumel("cast", "destination", dst, src.numel());
        check(CudaNative.advc_cast(src.dtype().code, src.address(), src.numel(), dst.dtype().code, dst.address(),
                dst.numel(), src.numel()));
    }

    // ---- elementwise and reductions

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor y, double a, double b) {
        onDevice(op.name(), x, y);
        requireSameDtype(op.name(), x, y);
        requireNumel(op.name(), "output", y, x.numel());
        check(CudaNative.advc_unary(x.dtype().code, op.code(), x.address(), x.numel(), y.address(), y.numel(),
                x.numel(), a, b));
    }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a, double b) {
        String name = op.name() + " backward";
        onDevice(name, x, y, gy, gx);
        requireDtypes(name, gy, gx, x, y);
        requireSameDtype(name, gy, gx);
        requireNumel(name, "input gradient", gx, gy.numel());
        if (x != null) requireNumel(name, "input", x, gy.numel());
        if (y != null) requireNumel(name, "output", y, gy.numel());
        check(CudaNative.advc_unary_bwd(gy.dtype().code, op.code(), addr(x), len(x), addr(y), len(y), gy.address(),
                gy.numel(), gx.address(), gx.numel(), gy.numel(), a, b));
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor y) {
        onDevice(op.name(), a, b, y);
        requireSameDtype(op.name(), a, b);
        requireSameDtype(op.name(), a, y);
        Broadcast bc = Broadcast.of(op.name(), a.shape(), b.shape());
        requireShape(op.name(), "output", y, bc.shape().toArray());
        if (y.numel() == 0) return;
        check(CudaNative.advc_binary(a.dtype().code, op.code(), a.address(), a.numel(), b.address(), b.numel(),
                y.address(), y.numel(), bc.rank(), bc.dims(), bc.stridesA(), bc.stridesB()));
    }

    @Override
    public void axpby(double alpha, Tensor x, double beta, Tensor y, Tensor out) {
        onDevice("axpby", x, y, out);
        requireSameDtype("axpby", x, y);
        requireSameDtype("axpby", x, out);
        requireNumel("axpby", "y", y, x.numel());
        requireNumel("axpby", "output", out, x.numel());
        check(CudaNative.advc_axpby(x.dtype().code, x.address(), x.numel(), y.address(), y.numel(), out.address(),
                out.numel(), x.numel(), alpha, beta));
    }

    @Override
    public void reduce(ReduceOp op, Tensor x, long outer, long n, long inner, Tensor y) {
        onDevice("reduce", x, y);
        requireSameDtype("reduce", x, y);
        requireNumel("reduce " + op, "input", x, outer * n * inner);
        requireNumel("reduce " + op, "output", y, outer * inner);
        check(CudaNative.advc_reduce(x.dtype().code, op.code(), x.address(), x.numel(), y.address(), y.numel(), outer,
                n, inner));
    }

    @Override
    public void argmax(Tensor x, Tensor y) {
        onDevice("argmax", x, y);
        requireSameDtype("argmax", x, y);
        long rows = x.rank() == 1 ? 1 : x.dim(0);
        long cols = x.numel() / Math.max(rows, 1);
        requireNumel("argmax", "output", y, rows);
        check(CudaNative.advc_argmax(x.dtype().code, x.address(), x.numel(), y.address(), y.numel(), rows, cols));
    }

    @Override
    public long countNonFinite(Tensor x) {
        onDevice("countNonFinite", x);
        long r = CudaNative.advc_count_nonfinite(x.dtype().code, x.address(), x.numel(), x.numel());
        if (r < 0) throw new IllegalArgumentException(CudaNative.advc_last_error());
        return r;
    }

    // ---- linear algebra and convolution

    @Override
    public void gemm(boolean transA, boolean transB, long m, long n, long k, double alpha, Tensor a, Tensor b,
                     double beta, Tensor c) {
        onDevice("gemm", a, b, c);
        requireSameDtype("gemm", a, b);
        requireSameDtype("gemm", a, c);
        requireNumel("gemm", "A", a, m * k);
        requireNumel("gemm", "B", b, k * n);
        requireNumel("gemm", "C", c, m * n);
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        if (k == 0) {
            // cuBLAS leaves C untouched for k = 0; the definition says C = beta * C.
            axpby(beta, c, 0, c, c);
            return;
        }
        libraries.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    public void conv2d(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y) {
        onDevice("conv2d", x, w, bias, y);
        requireDtypes("conv2d", x, w, bias, y);
        requireShape("conv2d", "input", x, g.inputShape());
        requireShape("conv2d", "weight", w, g.weightShape());
        requireShape("conv2d", "output", y, g.outputShape());
        if (bias != null) requireShape("conv2d", "bias", bias, new long[] {g.cout()});
        requireSameDtype("conv2d", x, w);
        requireSameDtype("conv2d", x, y);
        libraries.convForward(g, x, w, bias, y);
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor gx) {
        onDevice("conv2d backward", gy, w, gx);
        requireShape("conv2d backward", "output gradient", gy, g.outputShape());
        requireShape("conv2d backward", "weight", w, g.weightShape());
        requireShape("conv2d backward", "input gradient", gx, g.inputShape());
        requireSameDtype("conv2d backward", gy, w);
        requireSameDtype("conv2d backward", gy, gx);
        libraries.convBackwardData(g, gy, w, gx);
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb) {
        onDevice("conv2d backward", x, gy, gw, gb);
        requireDtypes("conv2d backward", x, gy, gw, gb);
        requireShape("conv2d backward", "input", x, g.inputShape());
        requireShape("conv2d backward", "output gradient", gy, g.outputShape());
        if (gw != null) requireShape("conv2d backward", "weight gradient", gw, g.weightShape());
        if (gb != null) requireShape("conv2d backward", "bias gradient", gb, new long[] {g.cout()});
        requireSameDtype("conv2d backward", x, gy);
        if (!libraries.convBackwardFilter(g, x, gy, gw, gb)) {
            if (gw != null) fill(gw, 0);
            if (gb != null) fill(gb, 0);
        }
    }

    // ---- spatial

    @Override
    public void pool2d(PoolGeometry g, Tensor x, Tensor y, Tensor indices) {
        onDevice("pool2d", x, y, indices);
        requireDtypes("pool2d", x, y, indices);
        requireShape("pool2d", "input", x, g.inputShape());
        requireShape("pool2d", "output", y, g.outputShape());
        if (indices != null) requireShape("pool2d", "indices", indices, g.outputShape());
        requireSameDtype("pool2d", x, y);
        check(CudaNative.advc_pool2d_fwd(x.dtype().code, g.toArray(), x.address(), x.numel(), y.address(), y.numel(),
                addr(indices), len(indices)));
    }

    @Override
    public void pool2dBackward(PoolGeometry g, Tensor gy, Tensor indices, Tensor gx) {
        onDevice("pool2d backward", gy, indices, gx);
        requireDtypes("pool2d backward", gy, indices, gx);
        requireShape("pool2d backward", "output gradient", gy, g.outputShape());
        requireShape("pool2d backward", "input gradient", gx, g.inputShape());
        if (g.kind() == PoolKind.MAX) {
            if (indices == null) throw new IllegalArgumentException("max pool backward needs the forward pass's indices");
            requireShape("pool2d backward", "indices", indices, g.outputShape());
        }
        requireSameDtype("pool2d backward", gy, gx);
        check(CudaNative.advc_pool2d_bwd(gy.dtype().code, g.toArray(), gy.address(), gy.numel(), addr(indices),
                len(indices), gx.address(), gx.numel()));
    }

    @Override
    public void gatherPlanes(Tensor src, Tensor indices, Tensor out) {
        onDevice("gatherPlanes", src, indices, out);
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
        check(CudaNative.advc_gather_planes(src.dtype().code, planes, s, o, src.address(), src.numel(),
                indices.address(), indices.numel(), out.address(), out.numel()));
    }

    @Override
    public void medianFilter(Tensor x, int k, Tensor y) {
        onDevice("median filter", x, y);
        requireDtypes("median filter", x, y);
        if (x.rank() < 2) throw new IllegalArgumentException("median filter: input " + x.shape() + " needs [..., H, W]");
        requireShape("median filter", "output", y, x.shape().toArray());
        long h = x.dim(-2), w = x.dim(-1);
        check(CudaNative.advc_median_filter(x.dtype().code, x.numel() / (h * w), h, w, k, x.address(), x.numel(),
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
        onDevice(op, small, large);
        if (small.rank() != 4 || large.rank() != 4) {
            throw new IllegalArgumentException(op + ": expected NCHW tensors, got " + small.shape() + " and " + large.shape());
        }
        requireSameDtype(op, small, large);
        if (small.dim(0) != large.dim(0) || small.dim(1) != large.dim(1)) {
            throw new IllegalArgumentException(op + ": batch and channels differ: " + small.shape() + " vs " + large.shape());
        }
        Tensor in = backward ? large : small, out = backward ? small : large;
        check(CudaNative.advc_upsample(small.dtype().code, backward ? 1 : 0, bilinear ? 1 : 0, ac ? 1 : 0, small.dim(0),
                small.dim(1), small.dim(2), small.dim(3), large.dim(2), large.dim(3), in.address(), in.numel(),
                out.address(), out.numel()));
    }

    // ---- normalisation

    private static long minLen(long c, Tensor... ts) {
        long m = Long.MAX_VALUE;
        for (Tensor t : ts) if (t != null) m = Math.min(m, t.numel());
        return m == Long.MAX_VALUE ? c : m;
    }

    /** cuDNN's batch norm covers training mode with affine parameters and eps at or above its minimum. */
    private boolean cudnnBatchNormFits(boolean training, Tensor x, Tensor gamma, Tensor beta, double eps) {
        return cudnnBatchNorm && training && gamma != null && beta != null && eps >= 1e-5 && x.dim(0) > 0
                && x.numel() / Math.max(1, x.dim(1)) > 1;
    }

    @Override
    public void batchNorm(boolean training, double momentum, double eps, Tensor x, Tensor gamma, Tensor beta,
                          Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        onDevice("batch norm", x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
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
        if (saveMean != null && saveInvStd != null && (runningMean == null) == (runningVar == null)
                && cudnnBatchNormFits(training, x, gamma, beta, eps)) {
            libraries.batchNormTraining(momentum, eps, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
            return;
        }
        check(CudaNative.advc_batchnorm_fwd(x.dtype().code, training ? 1 : 0, n, c, hw,
                minLen(c, gamma, beta, runningMean, runningVar, saveMean, saveInvStd), momentum, eps, x.address(),
                x.numel(), addr(gamma), addr(beta), addr(runningMean), addr(runningVar), y.address(), y.numel(),
                addr(saveMean), addr(saveInvStd)));
    }

    @Override
    public void batchNormBackward(boolean training, Tensor x, Tensor gy, Tensor gamma, Tensor saveMean,
                                  Tensor saveInvStd, Tensor gx, Tensor gGamma, Tensor gBeta) {
        onDevice("batch norm backward", x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
        requireDtypes("batch norm backward", x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
        requireShape("batch norm backward", "output gradient", gy, x.shape().toArray());
        if (gx != null) requireShape("batch norm backward", "input gradient", gx, x.shape().toArray());
        long n = x.dim(0), c = x.dim(1), hw = x.numel() / Math.max(1, n * c);
        for (Tensor t : new Tensor[] {gamma, saveMean, saveInvStd, gGamma, gBeta}) {
            if (t != null) requireShape("batch norm backward", "per-channel tensor", t, new long[] {c});
        }
        // cuDNN computes all three gradients at once; it needs gamma (beta plays no part in backward).
        if (gx != null && gGamma != null && gBeta != null && saveMean != null && saveInvStd != null
                && cudnnBatchNormFits(training, x, gamma, gamma, 1e-5)) {
            libraries.batchNormTrainingBackward(x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
            return;
        }
        check(CudaNative.advc_batchnorm_bwd(x.dtype().code, training ? 1 : 0, n, c, hw,
                minLen(c, gamma, saveMean, saveInvStd, gGamma, gBeta), x.address(), x.numel(), gy.address(),
                gy.numel(), addr(gamma), addr(saveMean), addr(saveInvStd), addr(gx), len(gx), addr(gGamma),
                addr(gBeta)));
    }

    // ---- losses

    private static long[] rowsCols(String op, Tensor logits) {
        if (logits.rank() != 2) throw new IllegalArgumentException(op + ": logits must be [N, C], got " + logits.shape());
        return new long[] {logits.dim(0), logits.dim(1)};
    }

    @Override
    public void logSoftmax(Tensor x, Tensor y) {
        onDevice("log_softmax", x, y);
        requireDtypes("log_softmax", x, y);
        long[] nc = rowsCols("log_softmax", x);
        requireShape("log_softmax", "output", y, x.shape().toArray());
        check(CudaNative.advc_log_softmax(x.dtype().code, 0, nc[0], nc[1], x.address(), x.numel(), y.address(),
                y.numel(), 0, 0, 0, 0));
    }

    @Override
    public void logSoftmaxBackward(Tensor y, Tensor gy, Tensor gx) {
        onDevice("log_softmax backward", y, gy, gx);
        requireDtypes("log_softmax backward", y, gy, gx);
        long[] nc = rowsCols("log_softmax backward", y);
        requireShape("log_softmax backward", "output gradient", gy, y.shape().toArray());
        requireShape("log_softmax backward", "input gradient", gx, y.shape().toArray());
        check(CudaNative.advc_log_softmax(y.dtype().code, 1, nc[0], nc[1], 0, 0, y.address(), y.numel(), gy.address(),
                gy.numel(), gx.address(), gx.numel()));
    }

    @Override
    public void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor weights, double smoothing, Tensor loss,
                                    Tensor gLoss, Tensor gLogits) {
        onDevice("cross_entropy", logits, labels, weights, loss, gLoss, gLogits);
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
        check(CudaNative.advc_softmax_ce(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], smoothing, logits.address(),
                logits.numel(), labels.address(), labels.numel(), addr(weights), len(weights), addr(loss), len(loss),
                addr(gLoss), len(gLoss), addr(gLogits), len(gLogits)));
    }

    @Override
    public void margin(Tensor logits, Tensor labels, Tensor margin, Tensor gMargin, Tensor gLogits) {
        onDevice("margin", logits, labels, margin, gMargin, gLogits);
        requireDtypes("margin", logits, labels, margin, gMargin, gLogits);
        long[] nc = rowsCols("margin", logits);
        requireShape("margin", "labels", labels, new long[] {nc[0]});
        boolean bwd = gMargin != null;
        if (bwd) requireShape("margin backward", "logit gradient", gLogits, logits.shape().toArray());
        check(CudaNative.advc_margin(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], logits.address(), logits.numel(),
                labels.address(), labels.numel(), addr(margin), len(margin), addr(gMargin), len(gMargin),
                addr(gLogits), len(gLogits)));
    }

    @Override
    public void dlr(Tensor logits, Tensor labels, Tensor targets, Tensor loss, Tensor gLoss, Tensor gLogits) {
        onDevice("dlr", logits, labels, targets, loss, gLoss, gLogits);
        requireDtypes("dlr", logits, labels, targets, loss, gLoss, gLogits);
        long[] nc = rowsCols("dlr", logits);
        requireShape("dlr", "labels", labels, new long[] {nc[0]});
        if (targets != null) requireShape("dlr", "targets", targets, new long[] {nc[0]});
        boolean bwd = gLoss != null;
        if (bwd) requireShape("dlr backward", "logit gradient", gLogits, logits.shape().toArray());
        check(CudaNative.advc_dlr(logits.dtype().code, bwd ? 1 : 0, nc[0], nc[1], logits.address(), logits.numel(),
                labels.address(), labels.numel(), addr(targets), len(targets), addr(loss), len(loss), addr(gLoss),
                len(gLoss), addr(gLogits), len(gLogits)));
    }

    @Override
    public void bceWithLogits(Tensor logits, Tensor targets, Tensor posWeight, Tensor loss, Tensor gLoss,
                              Tensor gLogits) {
        onDevice("bce_with_logits", logits, targets, posWeight, loss, gLoss, gLogits);
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
        check(CudaNative.advc_bce_logits(logits.dtype().code, bwd ? 1 : 0, logits.numel(), c, logits.address(),
                logits.numel(), targets.address(), targets.numel(), addr(posWeight), len(posWeight), addr(loss),
                len(loss), addr(gLoss), len(gLoss), addr(gLogits), len(gLogits)));
    }

    // ---- in-place updates

    @Override
    public void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, double lr, double momentum, double dampening,
                        double weightDecay, boolean nesterov, boolean firstStep) {
        onDevice("sgd", param, grad, momentumBuffer);
        requireDtypes("sgd", param, grad, momentumBuffer);
        requireShape("sgd", "gradient", grad, param.shape().toArray());
        if (momentumBuffer != null) requireShape("sgd", "momentum buffer", momentumBuffer, param.shape().toArray());
        check(CudaNative.advc_sgd_step(param.dtype().code, param.address(), param.numel(), grad.address(), grad.numel(),
                addr(momentumBuffer), len(momentumBuffer), param.numel(), lr, momentum, dampening, weightDecay,
                nesterov ? 1 : 0, firstStep ? 1 : 0));
    }

    @Override
    public void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                         double eps, double weightDecay, boolean decoupled, long step) {
        onDevice("adam", param, grad, m, v);
        requireDtypes("adam", param, grad, m, v);
        requireShape("adam", "gradient", grad, param.shape().toArray());
        requireShape("adam", "first moment", m, param.shape().toArray());
        requireShape("adam", "second moment", v, param.shape().toArray());
        check(CudaNative.advc_adam_step(param.dtype().code, param.address(), param.numel(), grad.address(),
                grad.numel(), m.address(), m.numel(), v.address(), v.numel(), param.numel(), lr, beta1, beta2, eps,
                weightDecay, decoupled ? 1 : 0, step));
    }

    @Override
    public void random(RandomKind kind, Tensor y, long seed, long offset, double a, double b) {
        onDevice("random", y);
        check(CudaNative.advc_random(y.dtype().code, kind.code(), y.address(), y.numel(), y.numel(), seed, offset, a, b));
    }

    @Override
    public void attackStep(Norm norm, Tensor x0, Tensor x, Tensor g, double alpha, Tensor alphaRows, double eps,
                           Tensor epsRows, Tensor active, double lo, double hi) {
        onDevice("attack step", x0, x, g, alphaRows, epsRows, active);
        requireDtypes("attack step", x0, x, g, alphaRows, epsRows, active);
        requireShape("attack step", "adversarial input", x, x0.shape().toArray());
        if (g != null) requireShape("attack step", "gradient", g, x0.shape().toArray());
        long n = x0.rank() == 0 ? 1 : x0.dim(0);
        long d = x0.numel() / Math.max(1, n);
        for (Tensor t : new Tensor[] {alphaRows, epsRows, active}) {
            if (t != null) requireShape("attack step", "per-sample tensor", t, new long[] {n});
        }
        check(CudaNative.advc_attack_step(x0.dtype().code, norm.code(), n, d, x0.address(), x0.numel(), x.address(),
                x.numel(), addr(g), len(g), alpha, addr(alphaRows), len(alphaRows), eps, addr(epsRows), len(epsRows),
                addr(active), len(active), lo, hi));
    }

    @Override
    public void synchronize() {
        check(CudaNative.advc_synchronize());
    }

    /**
     * Records everything {@code region} queues on this backend into a CUDA graph, without running
     * it, for cheap replays (a whole PGD iteration: forward, backward, attack step). The region must
     * already have run once eagerly (so the pool holds its blocks and cuDNN's algorithms and
     * workspace are chosen), must not synchronise or copy to the host, and the tensors it reads or
     * updates from outside must outlive the graph.
     */
    public CudaGraph capture(Runnable region) {
        allocator.beginCapture();
        boolean recording = false;
        try {
            check(CudaNative.advc_graph_begin());
            recording = true;
            region.run();
            recording = false;
            long exec = CudaNative.advc_graph_end();
            if (exec == 0) throw new IllegalStateException("CUDA graph capture failed: " + CudaNative.advc_last_error());
            allocator.endCapture();
            return new CudaGraph(exec, allocator);
        } catch (RuntimeException | Error e) {
            if (recording) CudaNative.advc_graph_destroy(CudaNative.advc_graph_end());
            allocator.graphDestroyed();
            throw e;
        }
    }
}
