package org.advmia.backend;

import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * The device seam: the closed set of primitive ops that a device must provide. Everything above
 * (autograd, layers, losses, models, attacks, trainers) is written once in terms of these.
 *
 * <p>Conventions: every tensor is dense and row-major; outputs are preallocated by the caller
 * (so hot loops can reuse buffers); integer-valued tensors (labels, indices) are stored as floats;
 * implementations check shapes and raise {@link IllegalArgumentException} naming the operand.
 */
public interface Backend {
    Device device();

    String name();

    // ---- memory (5)

    /** Uninitialised tensor; it belongs to the current MemoryScope if one is open. */
    Tensor empty(DType dtype, Shape shape);

    void copyFromHost(float[] src, Tensor dst);

    void copyToHost(Tensor src, float[] dst);

    void copyFromHost(double[] src, Tensor dst);

    void copyToHost(Tensor src, double[] dst);

    // ---- data movement (4)

    void fill(Tensor y, double value);

    /**
     * Copies a rows x cols block: element (r, c) goes from src[srcOffset + r * srcStride + c]
     * to dst[dstOffset + r * dstStride + c]. Slicing, concatenation and splitting are this op.
     */
    void copyBlock(Tensor src, long srcOffset, long srcStride, Tensor dst, long dstOffset, long dstStride, long rows,
                   long cols);

    /** Batched 2-D transpose: viewing x as [batch, rows, cols], y[b, c, r] = x[b, r, c]. */
    void transpose(Tensor x, long batch, long rows, long cols, Tensor y);

    /** A new tensor (in the current scope) holding a copy of t. */
    default Tensor duplicate(Tensor t) {
        Tensor c = empty(t.dtype(), t.shape());
        copyBlock(t, 0, t.numel(), c, 0, t.numel(), 1, t.numel());
        return c;
    }

    /** Converts between dtypes; same element count. */
    void cast(Tensor src, Tensor dst);

    // ---- elementwise and reductions (6)

    void unary(UnaryOp op, Tensor x, Tensor y, double a, double b);

    /** gx = gy * f'(x), using x and/or y = f(x), whichever the op's derivative needs. */
    void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, Tensor gx, double a, double b);

    /** y = a op b with NumPy broadcasting; y must have the broadcast shape. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor y);

    /** out = alpha * x + beta * y. */
    void axpby(double alpha, Tensor x, double beta, Tensor y, Tensor out);

    /** Viewing x as [outer, n, inner]: y[o, i] = reduce over k of x[o, k, i]. */
    void reduce(ReduceOp op, Tensor x, long outer, long n, long inner, Tensor y);

    /** Row-wise argmax of x [rows, cols] into y [rows]. */
    void argmax(Tensor x, Tensor y);

    /** Number of NaN or infinite values. */
    long countNonFinite(Tensor x);

    // ---- linear algebra and convolution (4)

    /**
     * C = alpha * op(A) * op(B) + beta * C on row-major matrices: A is [M, K] ([K, M] if
     * transA), B is [K, N] ([N, K] if transB), C is [M, N].
     */
    void gemm(boolean transA, boolean transB, long m, long n, long k, double alpha, Tensor a, Tensor b, double beta,
              Tensor c);

    void conv2d(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y);

    void conv2dBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor gx);

    /** gw and/or gb may be null to skip them. */
    void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb);

    /**
     * y = conv(relu(x)) + bias: a ReLU fused into the convolution that consumes it, so that a
     * backend can rectify the input as it reads it instead of writing relu(x) to memory and
     * reading it back (the CPU backend does, on its Winograd path). This default materialises
     * relu(x) in a temporary.
     */
    default void conv2dReluInput(ConvGeometry g, Tensor x, Tensor w, Tensor bias, Tensor y) {
        try (Tensor r = empty(x.dtype(), x.shape())) {
            unary(UnaryOp.RELU, x, r, 0, 0);
            conv2d(g, r, w, bias, y);
        }
    }

    /** The gradient of {@link #conv2dReluInput} with respect to x: the convolution's, zero where x <= 0. */
    default void conv2dReluInputBackwardData(ConvGeometry g, Tensor gy, Tensor w, Tensor x, Tensor gx) {
        conv2dBackwardData(g, gy, w, gx);
        unaryBackward(UnaryOp.RELU, x, null, gx, gx, 0, 0);
    }

    /** The weight and bias gradients of {@link #conv2dReluInput}; gw and/or gb may be null to skip them. */
    default void conv2dReluInputBackwardFilter(ConvGeometry g, Tensor x, Tensor gy, Tensor gw, Tensor gb) {
        try (Tensor r = empty(x.dtype(), x.shape())) {
            unary(UnaryOp.RELU, x, r, 0, 0);
            conv2dBackwardFilter(g, r, gy, gw, gb);
        }
    }

    /**
     * Max-pool (2x2 windows, stride 2) of the convolution of x, or of relu(x) where reluInput: y
     * [N, Cout, OH/2, OW/2] and its argmax indices as {@link #pool2d} writes them (positions in the
     * convolution's OH x OW plane), so {@link #pool2dBackward} with a 2x2 / stride-2 geometry is its
     * pool's backward. OH and OW must be even. A backend can take the pool while the convolution's
     * output is in cache and never store it (the CPU's Winograd path does); this default stores it.
     */
    default void conv2dMaxPool2(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor bias, Tensor y,
                                Tensor indices) {
        if (g.outH() % 2 != 0 || g.outW() % 2 != 0) {
            throw new IllegalArgumentException("conv2d + max-pool: the convolution's output " + g.outH() + "x"
                    + g.outW() + " is not even");
        }
        try (Tensor c = empty(x.dtype(), org.advmia.tensor.Shape.of(g.outputShape()))) {
            if (reluInput) conv2dReluInput(g, x, w, bias, c);
            else conv2d(g, x, w, bias, c);
            pool2d(maxPool2Geometry(g), c, y, indices);
        }
    }

    /**
     * The backward of {@link #conv2dMaxPool2} from the gradient gy of its pooled output and its
     * indices: gx with respect to x (zero where x <= 0 when reluInput), gw and gb; each may be null
     * to skip it. A backend can keep the convolution's full-size output gradient, which only this
     * backward needs, in cache (the CPU backend does, a chunk of images at a time); this default
     * materialises it with {@link #pool2dBackward}.
     */
    default void conv2dMaxPool2Backward(ConvGeometry g, boolean reluInput, Tensor x, Tensor w, Tensor gy,
                                        Tensor indices, Tensor gx, Tensor gw, Tensor gb) {
        try (Tensor gc = empty(gy.dtype(), org.advmia.tensor.Shape.of(g.outputShape()))) {
            pool2dBackward(maxPool2Geometry(g), gy, indices, gc);
            if (gx != null) {
                if (reluInput) conv2dReluInputBackwardData(g, gc, w, x, gx);
                else conv2dBackwardData(g, gc, w, gx);
            }
            if (gw != null || gb != null) {
                if (reluInput) conv2dReluInputBackwardFilter(g, x, gc, gw, gb);
                else conv2dBackwardFilter(g, x, gc, gw, gb);
            }
        }
    }

    /** The 2x2 / stride-2 max-pool over the output of the convolution g (see {@link #conv2dMaxPool2}). */
    static PoolGeometry maxPool2Geometry(ConvGeometry g) {
        return new PoolGeometry(PoolKind.MAX, g.n(), g.cout(), g.outH(), g.outW(), 2, 2, 2, 2, 0, 0, g.outH() / 2,
                g.outW() / 2, false);
    }

    // ---- spatial (5)

    /** indices (max pooling only, may be null) receive each window's argmax within its plane. */
    void pool2d(PoolGeometry g, Tensor x, Tensor y, Tensor indices);

    void pool2dBackward(PoolGeometry g, Tensor gy, Tensor indices, Tensor gx);

    /**
     * Per plane p (all leading axes of src and indices but the last two): out[p, o] =
     * src[p, indices[p, o]], with indices into the flattened H x W plane (max-unpool backward).
     */
    void gatherPlanes(Tensor src, Tensor indices, Tensor out);

    /** k x k median filter over each H x W plane of x [..., H, W] (reflect-101 borders), k odd. */
    void medianFilter(Tensor x, int k, Tensor y);

    /** bilinear=false is nearest; y's spatial size sets the scale. */
    void upsample(boolean bilinear, boolean alignCorners, Tensor x, Tensor y);

    void upsampleBackward(boolean bilinear, boolean alignCorners, Tensor gy, Tensor gx);

    // ---- normalisation (2)

    /**
     * Batch norm over [N, C, *]. Training uses batch statistics and updates running ones (if
     * non-null); eval uses running ones. saveMean / saveInvStd [C] receive what backward needs.
     */
    void batchNorm(boolean training, double momentum, double eps, Tensor x, Tensor gamma, Tensor beta,
                   Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean, Tensor saveInvStd);

    /** gx, gGamma, gBeta may be null to skip them. */
    void batchNormBackward(boolean training, Tensor x, Tensor gy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                           Tensor gx, Tensor gGamma, Tensor gBeta);

    /**
     * {@link #batchNorm} followed by act (RELU or RELU6; null for none) applied to y in place. A
     * backend may fuse the two into one pass over the tensor.
     */
    default void batchNormActivation(boolean training, double momentum, double eps, Tensor x, Tensor gamma,
                                     Tensor beta, Tensor runningMean, Tensor runningVar, Tensor y, Tensor saveMean,
                                     Tensor saveInvStd, UnaryOp act) {
        requireBatchNormActivation(act);
        batchNorm(training, momentum, eps, x, gamma, beta, runningMean, runningVar, y, saveMean, saveInvStd);
        if (act != null) unary(act, y, y, 0, 0);
    }

    /**
     * The backward of {@link #batchNormActivation}: gy is the gradient of its output y, from which
     * act's mask is read (exact for RELU and RELU6). gx, gGamma, gBeta may be null to skip them.
     */
    default void batchNormActivationBackward(boolean training, Tensor x, Tensor y, UnaryOp act, Tensor gy,
                                             Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor gx,
                                             Tensor gGamma, Tensor gBeta) {
        requireBatchNormActivation(act);
        if (act == null) {
            batchNormBackward(training, x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
            return;
        }
        try (Tensor gn = empty(gy.dtype(), gy.shape())) {
            unaryBackward(act, y, y, gy, gn, 0, 0);
            batchNormBackward(training, x, gn, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
        }
    }

    private static void requireBatchNormActivation(UnaryOp act) {
        if (act != null && act != UnaryOp.RELU && act != UnaryOp.RELU6) {
            throw new IllegalArgumentException("batch norm: only RELU and RELU6 can be fused, got " + act);
        }
    }

    // ---- losses over logits [N, C] (5)

    void logSoftmax(Tensor x, Tensor y);

    void logSoftmaxBackward(Tensor y, Tensor gy, Tensor gx);

    /**
     * Per-sample cross-entropy (class weights may be null; label smoothing in [0, 1]) into
     * loss [N]; with gLoss non-null, writes the logit gradient into gLogits instead.
     */
    void softmaxCrossEntropy(Tensor logits, Tensor labels, Tensor weights, double smoothing, Tensor loss, Tensor gLoss,
                             Tensor gLogits);

    /** margin = z[label] - max over other classes; backward when gMargin is non-null. */
    void margin(Tensor logits, Tensor labels, Tensor margin, Tensor gMargin, Tensor gLogits);

    /** Croce and Hein's DLR loss (targets null: untargeted); backward when gLoss is non-null. */
    void dlr(Tensor logits, Tensor labels, Tensor targets, Tensor loss, Tensor gLoss, Tensor gLogits);

    /** Elementwise BCE with logits (posWeight [C] over the last axis, may be null). */
    void bceWithLogits(Tensor logits, Tensor targets, Tensor posWeight, Tensor loss, Tensor gLoss, Tensor gLogits);

    // ---- in-place updates (4)

    void sgdStep(Tensor param, Tensor grad, Tensor momentumBuffer, double lr, double momentum, double dampening,
                 double weightDecay, boolean nesterov, boolean firstStep);

    void adamStep(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
                  double weightDecay, boolean decoupled, long step);

    /** Counter-based: element i is a function of (seed, offset + i) only, identical on every backend. */
    void random(RandomKind kind, Tensor y, long seed, long offset, double a, double b);

    /**
     * The fused attack step on x [N, ...] around x0: step along g (sign for L-inf, normalised
     * for L2; g null = projection only), project onto the eps-ball, clip to [lo, hi]. Per-sample
     * alphaRows / epsRows / active [N] override the scalars when non-null.
     */
    void attackStep(Norm norm, Tensor x0, Tensor x, Tensor g, double alpha, Tensor alphaRows, double eps,
                    Tensor epsRows, Tensor active, double lo, double hi);

    /** Waits for queued work (a no-op on synchronous devices). */
    void synchronize();

    /** Bytes of device memory the allocator holds (in use plus cached). */
    AllocatorStats allocatorStats();
}
