package org.advmia.backend.cuda;

import static org.bytedeco.cuda.global.cublas.*;
import static org.bytedeco.cuda.global.cudnn.*;

import java.util.HashMap;
import org.advmia.backend.ConvGeometry;
import org.advmia.tensor.DType;
import org.advmia.tensor.Tensor;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * cuBLAS (GEMM) and cuDNN (convolutions, training-mode batch norm) through the bytedeco CUDA
 * preset, on the engine's stream. TF32 is off unless asked for (-Dadvmia.cuda.tf32=true), so
 * float32 results stay within 1e-4 of the CPU. Convolution algorithms are chosen once per shape
 * from cuDNN's heuristics, deterministic ones only, so the same inputs give the same bits.
 * Calls are serialised: one set of descriptors and one workspace per engine.
 */
final class CudaLibraries implements AutoCloseable {
    /** Largest workspace an algorithm may ask for; larger ones are skipped for a leaner one. */
    private static final long WORKSPACE_LIMIT = 1L << 30;
    private static final int ALGO_CANDIDATES = 8;

    private final boolean tf32;
    private final int device;
    private final cublasContext blas = new cublasContext();
    private final cudnnContext dnn = new cudnnContext();
    private final cudnnTensorStruct xDesc = new cudnnTensorStruct(), yDesc = new cudnnTensorStruct(),
            biasDesc = new cudnnTensorStruct();
    private final cudnnFilterStruct wDesc = new cudnnFilterStruct();
    private final cudnnConvolutionStruct convDesc = new cudnnConvolutionStruct();
    private final FloatPointer oneF = new FloatPointer(1f), zeroF = new FloatPointer(0f);
    private final DoublePointer oneD = new DoublePointer(1d), zeroD = new DoublePointer(0d);
    private final FloatPointer alphaF = new FloatPointer(1), betaF = new FloatPointer(1);
    private final DoublePointer alphaD = new DoublePointer(1), betaD = new DoublePointer(1);
    private final HashMap<String, int[]> algorithms = new HashMap<>();
    private final IntPointer returned = new IntPointer(1);
    private final SizeTPointer workspaceNeeded = new SizeTPointer(1);
    private long workspace;
    private long workspaceBytes;
    /** cuBLAS's own workspace, set once: without it cuBLAS may allocate inside a graph capture. */
    private static final long BLAS_WORKSPACE = 32L << 20;
    private final long blasWorkspace;

    /** A JavaCPP pointer onto a device address (no ownership, no deallocator). */
    static final class DevicePointer extends Pointer {
        DevicePointer(long address) {
            this.address = address;
        }
    }

    static Pointer at(Tensor t) {
        return t == null ? null : new DevicePointer(t.address());
    }

    CudaLibraries(int device, long stream, boolean tf32) {
        this.tf32 = tf32;
        this.device = device;
        bind();
        CUstream_st s = new CUstream_st(new DevicePointer(stream));
        blasCheck(cublasCreate_v2(blas), "cublasCreate");
        blasCheck(cublasSetStream_v2(blas, s), "cublasSetStream");
        blasCheck(cublasSetMathMode(blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
        blasWorkspace = CudaNative.advc_malloc(BLAS_WORKSPACE);
        if (blasWorkspace == 0) throw new OutOfMemoryError("cuBLAS workspace: " + CudaNative.advc_last_error());
        blasCheck(cublasSetWorkspace_v2(blas, new DevicePointer(blasWorkspace), BLAS_WORKSPACE), "cublasSetWorkspace");
        dnnCheck(cudnnCreate(dnn), "cudnnCreate");
        dnnCheck(cudnnSetStream(dnn, s), "cudnnSetStream");
        dnnCheck(cudnnCreateTensorDescriptor(xDesc), "cudnnCreateTensorDescriptor");
        dnnCheck(cudnnCreateTensorDescriptor(yDesc), "cudnnCreateTensorDescriptor");
        dnnCheck(cudnnCreateTensorDescriptor(biasDesc), "cudnnCreateTensorDescriptor");
        dnnCheck(cudnnCreateFilterDescriptor(wDesc), "cudnnCreateFilterDescriptor");
        dnnCheck(cudnnCreateConvolutionDescriptor(convDesc), "cudnnCreateConvolutionDescriptor");
    }

    /**
     * The preset's cudart is a second CUDA runtime in the process (ours is linked statically into
     * the kernel library); both share the device's primary context, but each keeps its own current
     * device per thread, so the preset's must be pointed at ours before cuBLAS or cuDNN run.
     */
    private void bind() {
        if (device != 0) {
            int rc = org.bytedeco.cuda.global.cudart.cudaSetDevice(device);
            if (rc != 0) throw new IllegalStateException("cudaSetDevice(" + device + ") for cuBLAS/cuDNN failed: error " + rc);
        }
    }

    static String version() {
        long v = cudnnGetVersion();
        return "cuDNN " + v / 10000 + "." + (v / 100) % 100 + "." + v % 100;
    }

    private static void blasCheck(int status, String what) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            throw new IllegalStateException(what + " failed: " + cublasGetStatusString(status).getString());
        }
    }

    private static void dnnCheck(int status, String what) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new IllegalStateException(what + " failed: " + cudnnGetErrorString(status).getString());
        }
    }

    private static int cudnnType(DType dt) {
        return dt == DType.FLOAT64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    }

    private static int narrow(String what, long v) {
        if (v > Integer.MAX_VALUE) throw new IllegalArgumentException(what + " = " + v + " exceeds cuBLAS/cuDNN's int range");
        return (int) v;
    }

    private Pointer one(DType dt) {
        return dt == DType.FLOAT64 ? oneD : oneF;
    }

    private Pointer zero(DType dt) {
        return dt == DType.FLOAT64 ? zeroD : zeroF;
    }

    /** Row-major C = alpha op(A) op(B) + beta C, as column-major C^T = op(B)^T op(A)^T. */
    synchronized void gemm(boolean transA, boolean transB, long m, long n, long k, double alpha, Tensor a, Tensor b,
                           double beta, Tensor c) {
        bind();
        if (m == 0 || n == 0) return;
        int mi = narrow("gemm M", m), ni = narrow("gemm N", n), ki = narrow("gemm K", k);
        int lda = transA ? mi : ki, ldb = transB ? ki : ni;
        int opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N, opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
        if (a.dtype() == DType.FLOAT64) {
            alphaD.put(alpha);
            betaD.put(beta);
            blasCheck(cublasDgemm_v2(blas, opB, opA, ni, mi, ki, alphaD, new DoublePointer(at(b)), ldb,
                    new DoublePointer(at(a)), lda, betaD, new DoublePointer(at(c)), ni), "cublasDgemm");
        } else {
            alphaF.put((float) alpha);
            betaF.put((float) beta);
            blasCheck(cublasSgemm_v2(blas, opB, opA, ni, mi, ki, alphaF, new FloatPointer(at(b)), ldb,
                    new FloatPointer(at(a)), lda, betaF, new FloatPointer(at(c)), ni), "cublasSgemm");
        }
    }

    private void describe(ConvGeometry g, DType dt) {
        int t = cudnnType(dt);
        dnnCheck(cudnnSetTensor4dDescriptor(xDesc, CUDNN_TENSOR_NCHW, t, narrow("batch", g.n()), narrow("channels", g.c()),
                narrow("height", g.h()), narrow("width", g.w())), "cudnnSetTensor4dDescriptor(input)");
        dnnCheck(cudnnSetTensor4dDescriptor(yDesc, CUDNN_TENSOR_NCHW, t, (int) g.n(), narrow("filters", g.cout()),
                narrow("output height", g.outH()), narrow("output width", g.outW())), "cudnnSetTensor4dDescriptor(output)");
        dnnCheck(cudnnSetFilter4dDescriptor(wDesc, t, CUDNN_TENSOR_NCHW, (int) g.cout(), (int) (g.c() / g.groups()),
                narrow("kernel height", g.kh()), narrow("kernel width", g.kw())), "cudnnSetFilter4dDescriptor");
        dnnCheck(cudnnSetConvolution2dDescriptor(convDesc, (int) g.padH(), (int) g.padW(), (int) g.strideH(),
                (int) g.strideW(), (int) g.dilationH(), (int) g.dilationW(), CUDNN_CROSS_CORRELATION, t),
                "cudnnSetConvolution2dDescriptor");
        dnnCheck(cudnnSetConvolutionGroupCount(convDesc, (int) g.groups()), "cudnnSetConvolutionGroupCount");
        // FMA math keeps float32 convolutions in full precision (no TF32 tensor cores).
        dnnCheck(cudnnSetConvolutionMathType(convDesc, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
                "cudnnSetConvolutionMathType");
    }

    private long ensureWorkspace(long bytes) {
        if (bytes > workspaceBytes) {
            if (workspace != 0) CudaNative.advc_free(workspace);
            workspace = CudaNative.advc_malloc(bytes);
            if (workspace == 0) {
                workspaceBytes = 0;
                throw new OutOfMemoryError("cuDNN workspace of " + bytes + " bytes: " + CudaNative.advc_last_error());
            }
            workspaceBytes = bytes;
        }
        return workspace;
    }

    private static String key(String dir, ConvGeometry g, DType dt) {
        return dir + dt + java.util.Arrays.toString(g.toArray());
    }

    /** {algorithm, workspace bytes}: the first deterministic, successful, affordable heuristic pick. */
    private int[] pick(String what, int count, java.util.function.IntPredicate ok, java.util.function.IntUnaryOperator algo,
                       java.util.function.IntToLongFunction memory) {
        for (int i = 0; i < count; i++) {
            if (ok.test(i) && memory.applyAsLong(i) <= WORKSPACE_LIMIT) {
                return new int[] {algo.applyAsInt(i), (int) Math.min(Integer.MAX_VALUE, memory.applyAsLong(i))};
            }
        }
        throw new IllegalStateException(what + ": cuDNN offers no deterministic algorithm within "
                + (WORKSPACE_LIMIT >> 20) + " MiB of workspace for this shape");
    }

    synchronized void convForward(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y) {
        bind();
        if (g.n() == 0) return;
        DType dt = x.dtype();
        describe(g, dt);
        int[] choice = algorithms.computeIfAbsent(key("fwd", g, dt), k -> {
            try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(ALGO_CANDIDATES)) {
                dnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(dnn, xDesc, wDesc, convDesc, yDesc, ALGO_CANDIDATES,
                        returned, perf), "cudnnGetConvolutionForwardAlgorithm_v7");
                return pick("conv2d forward", returned.get(), i -> perf.position(i).status() == CUDNN_STATUS_SUCCESS
                        && perf.position(i).determinism() == CUDNN_DETERMINISTIC, i -> perf.position(i).algo(),
                        i -> perf.position(i).memory());
            }
        });
        long ws = ensureWorkspace(Math.max(choice[1], 1));
        dnnCheck(cudnnConvolutionForward(dnn, one(dt), xDesc, at(x), wDesc, at(w), convDesc, choice[0],
                new DevicePointer(ws), workspaceBytes, zero(dt), yDesc, at(y)), "cudnnConvolutionForward");
        if (bias != null) {
            dnnCheck(cudnnSetTensor4dDescriptor(biasDesc, CUDNN_TENSOR_NCHW, cudnnType(dt), 1, (int) g.cout(), 1, 1),
                    "cudnnSetTensor4dDescriptor(bias)");
            dnnCheck(cudnnAddTensor(dnn, one(dt), biasDesc, at(bias), one(dt), yDesc, at(y)), "cudnnAddTensor");
        }
    }

    synchronized void convBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor gx) {
        bind();
        if (g.n() == 0) return;
        DType dt = gy.dtype();
        describe(g, dt);
        int[] choice = algorithms.computeIfAbsent(key("bwd-data", g, dt), k -> {
            try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(ALGO_CANDIDATES)) {
                dnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(dnn, wDesc, yDesc, convDesc, xDesc, ALGO_CANDIDATES,
                        returned, perf), "cudnnGetConvolutionBackwardDataAlgorithm_v7");
                return pick("conv2d backward-data", returned.get(), i -> perf.position(i).status() == CUDNN_STATUS_SUCCESS
                        && perf.position(i).determinism() == CUDNN_DETERMINISTIC, i -> perf.position(i).algo(),
                        i -> perf.position(i).memory());
            }
        });
        long ws = ensureWorkspace(Math.max(choice[1], 1));
        dnnCheck(cudnnConvolutionBackwardData(dnn, one(dt), wDesc, at(w), yDesc, at(gy), convDesc, choice[0],
                new DevicePointer(ws), workspaceBytes, zero(dt), xDesc, at(gx)), "cudnnConvolutionBackwardData");
    }

    /** Returns false when the batch is empty (the caller zero-fills the gradients). */
    synchronized boolean convBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb) {
        bind();
        if (g.n() == 0) return false;
        DType dt = x.dtype();
        describe(g, dt);
        if (gw != null) {
            int[] choice = algorithms.computeIfAbsent(key("bwd-filter", g, dt), k -> {
                try (cudnnConvolutionBwdFilterAlgoPerf_t perf = new cudnnConvolutionBwdFilterAlgoPerf_t(ALGO_CANDIDATES)) {
                    dnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(dnn, xDesc, yDesc, convDesc, wDesc,
                            ALGO_CANDIDATES, returned, perf), "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
                    return pick("conv2d backward-filter", returned.get(),
                            i -> perf.position(i).status() == CUDNN_STATUS_SUCCESS
                                    && perf.position(i).determinism() == CUDNN_DETERMINISTIC,
                            i -> perf.position(i).algo(), i -> perf.position(i).memory());
                }
            });
            long ws = ensureWorkspace(Math.max(choice[1], 1));
            dnnCheck(cudnnConvolutionBackwardFilter(dnn, one(dt), xDesc, at(x), yDesc, at(gy), convDesc, choice[0],
                    new DevicePointer(ws), workspaceBytes, zero(dt), wDesc, at(gw)), "cudnnConvolutionBackwardFilter");
        }
        if (gb != null) {
            dnnCheck(cudnnSetTensor4dDescriptor(biasDesc, CUDNN_TENSOR_NCHW, cudnnType(dt), 1, (int) g.cout(), 1, 1),
                    "cudnnSetTensor4dDescriptor(bias)");
            dnnCheck(cudnnConvolutionBackwardBias(dnn, one(dt), yDesc, at(gy), zero(dt), biasDesc, at(gb)),
                    "cudnnConvolutionBackwardBias");
        }
        return true;
    }

    /** x as [N, C, HW, 1]; the per-channel tensors as [1, C, 1, 1] of the same dtype. */
    private void describeBatchNorm(Tensor x) {
        long n = x.dim(0), c = x.dim(1), hw = x.numel() / Math.max(1, n * c);
        int t = cudnnType(x.dtype());
        dnnCheck(cudnnSetTensor4dDescriptor(xDesc, CUDNN_TENSOR_NCHW, t, narrow("batch", n), narrow("channels", c),
                narrow("spatial size", hw), 1), "cudnnSetTensor4dDescriptor(batch norm)");
        dnnCheck(cudnnSetTensor4dDescriptor(biasDesc, CUDNN_TENSOR_NCHW, t, 1, (int) c, 1, 1),
                "cudnnSetTensor4dDescriptor(batch norm parameters)");
    }

    synchronized void batchNormTraining(double momentum, double eps, Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                        Tensor runningVar, Tensor y, Tensor saveMean, Tensor saveInvStd) {
        bind();
        DType dt = x.dtype();
        describeBatchNorm(x);
        dnnCheck(cudnnBatchNormalizationForwardTraining(dnn, CUDNN_BATCHNORM_SPATIAL, one(dt), zero(dt), xDesc, at(x),
                xDesc, at(y), biasDesc, at(gamma), at(beta), momentum, at(runningMean), at(runningVar), eps,
                at(saveMean), at(saveInvStd)), "cudnnBatchNormalizationForwardTraining");
    }

    synchronized void batchNormTrainingBackward(Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                                Tensor gx, Tensor gGamma, Tensor gBeta) {
        bind();
        DType dt = x.dtype();
        describeBatchNorm(x);
        // With the saved statistics passed, cuDNN does not use epsilon; the minimum satisfies its check.
        dnnCheck(cudnnBatchNormalizationBackward(dnn, CUDNN_BATCHNORM_SPATIAL, one(dt), zero(dt), one(dt), zero(dt), xDesc,
                at(x), xDesc, at(gy), xDesc, at(gx), biasDesc, at(gamma), at(gGamma), at(gBeta), CUDNN_BN_MIN_EPSILON,
                at(saveMean), at(saveInvStd)), "cudnnBatchNormalizationBackward");
    }

    @Override
    public synchronized void close() {
        cudnnDestroyTensorDescriptor(xDesc);
        cudnnDestroyTensorDescriptor(yDesc);
        cudnnDestroyTensorDescriptor(biasDesc);
        cudnnDestroyFilterDescriptor(wDesc);
        cudnnDestroyConvolutionDescriptor(convDesc);
        cudnnDestroy(dnn);
        cublasDestroy_v2(blas);
        if (workspace != 0) CudaNative.advc_free(workspace);
        CudaNative.advc_free(blasWorkspace);
        workspace = 0;
        workspaceBytes = 0;
    }
}
