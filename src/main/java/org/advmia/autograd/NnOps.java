package org.advmia.autograd;

import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.ConvGeometry;
import org.advmia.backend.Generator;
import org.advmia.backend.PoolGeometry;
import org.advmia.backend.PoolKind;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

import static org.advmia.autograd.Ops.backendOf;
import static org.advmia.autograd.Ops.like;

/** Differentiable neural-network ops over NCHW tensors. */
public final class NnOps {
    private NnOps() {}

    private static void requireRank(String op, String name, Variable v, int rank) {
        if (v.shape().rank() != rank) {
            throw new IllegalArgumentException(op + ": " + name + " must have rank " + rank + ", got " + v.shape());
        }
    }

    /** y = x W^T + b, x [N, in], W [out, in], b [out] (may be null). */
    public static Variable linear(Variable x, Variable w, Variable b) {
        requireRank("linear", "input", x, 2);
        requireRank("linear", "weight", w, 2);
        long n = x.shape().dim(0), in = x.shape().dim(1), out = w.shape().dim(0);
        if (w.shape().dim(1) != in) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " has " + in + " features, weight "
                    + w.shape() + " expects " + w.shape().dim(1));
        }
        if (b != null && (b.shape().rank() != 1 || b.shape().dim(0) != out)) {
            throw new IllegalArgumentException("linear: bias " + b.shape() + ", expected [" + out + "]");
        }
        Tensor xv = x.value(), wv = w.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(n, out));
        be.gemm(false, true, n, out, in, 1, xv, wv, 0, y);
        if (b != null) be.binary(BinaryOp.ADD, y, b.value(), y);
        return Autograd.record("linear", y, (g, needs) -> {
            Tensor gx = null, gw = null, gb = null;
            if (needs[0]) {
                gx = be.empty(xv.dtype(), xv.shape());
                be.gemm(false, false, n, in, out, 1, g, wv, 0, gx);
            }
            if (needs[1]) {
                gw = be.empty(wv.dtype(), wv.shape());
                be.gemm(true, false, out, in, n, 1, g, xv, 0, gw);
            }
            if (needs.length > 2 && needs[2]) {
                gb = be.empty(xv.dtype(), Shape.of(out));
                be.reduce(ReduceOp.SUM, g, 1, n, out, gb);
            }
            return new Tensor[] {gx, gw, gb};
        }, x, w, b);
    }

    /** The checked geometry of conv2d(x, w) shared by the plain and fused convolutions. */
    private static ConvGeometry convGeometry(Variable x, Variable w, int stride, int padding, int dilation, int groups) {
        requireRank("conv2d", "input", x, 4);
        requireRank("conv2d", "weight", w, 4);
        Shape xs = x.shape(), ws = w.shape();
        if (xs.dim(1) != ws.dim(1) * groups) {
            throw new IllegalArgumentException("conv2d: input " + xs + " has " + xs.dim(1) + " channels, weight " + ws
                    + " with groups=" + groups + " expects " + ws.dim(1) * groups);
        }
        ConvGeometry g = new ConvGeometry(xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3), ws.dim(0), ws.dim(2), ws.dim(3),
                stride, stride, padding, padding, dilation, dilation, groups);
        return g;
    }

    /** 2-D convolution; weight [Cout, Cin / groups, kh, kw]; bias may be null. */
    public static Variable conv2d(Variable x, Variable w, Variable b, int stride, int padding, int dilation, int groups) {
        ConvGeometry g = convGeometry(x, w, stride, padding, dilation, groups);
        Tensor xv = x.value(), wv = w.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.outputShape()));
        be.conv2d(g, xv, wv, b == null ? null : b.value(), y);
        return Autograd.record("conv2d", y, (gy, needs) -> {
            Tensor gx = null, gw = null, gb = null;
            if (needs[0]) {
                gx = be.empty(xv.dtype(), xv.shape());
                be.conv2dBackwardData(g, gy, wv, gx);
            }
            boolean needB = needs.length > 2 && needs[2];
            if (needs[1] || needB) {
                if (needs[1]) gw = be.empty(wv.dtype(), wv.shape());
                if (needB) gb = be.empty(xv.dtype(), Shape.of(g.cout()));
                be.conv2dBackwardFilter(g, xv, gy, gw, gb);
            }
            return new Tensor[] {gx, gw, gb};
        }, x, w, b);
    }

    /**
     * conv2d(relu(x), w, b): a ReLU fused into the convolution that consumes it. Equal to
     * {@code conv2d(Ops.relu(x), ...)} (values, and gradients: relu'(0) = 0 in both), but relu(x)
     * and its gradient are never materialised on backends that fuse it (the CPU's Winograd path
     * rectifies while reading the input and masks while writing the input gradient).
     */
    public static Variable reluConv2d(Variable x, Variable w, Variable b, int stride, int padding, int dilation,
                                      int groups) {
        ConvGeometry g = convGeometry(x, w, stride, padding, dilation, groups);
        Tensor xv = x.value(), wv = w.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.outputShape()));
        be.conv2dReluInput(g, xv, wv, b == null ? null : b.value(), y);
        return Autograd.record("relu_conv2d", y, (gy, needs) -> {
            Tensor gx = null, gw = null, gb = null;
            if (needs[0]) {
                gx = be.empty(xv.dtype(), xv.shape());
                be.conv2dReluInputBackwardData(g, gy, wv, xv, gx);
            }
            boolean needB = needs.length > 2 && needs[2];
            if (needs[1] || needB) {
                if (needs[1]) gw = be.empty(wv.dtype(), wv.shape());
                if (needB) gb = be.empty(xv.dtype(), Shape.of(g.cout()));
                be.conv2dReluInputBackwardFilter(g, xv, gy, gw, gb);
            }
            return new Tensor[] {gx, gw, gb};
        }, x, w, b);
    }

    /**
     * maxPool2d(conv2d(reluInput ? relu(x) : x, w, b), 2, 2): a 2x2 / stride-2 max-pool fused into
     * the convolution that feeds it (the convolution's output must have even height and width).
     * Equal to the two ops in sequence, bit for bit, but backends that fuse it (the CPU's Winograd
     * path) take the pool in the convolution's output transform and never store the full-size
     * output. Backward is the pool's (a scatter into the convolution's output gradient) followed by
     * the convolution's, fused in {@link Backend#conv2dMaxPool2Backward}.
     */
    public static Variable conv2dMaxPool2(Variable x, Variable w, Variable b, int stride, int padding, int dilation,
                                          int groups, boolean reluInput) {
        ConvGeometry g = convGeometry(x, w, stride, padding, dilation, groups);
        PoolGeometry pg = Backend.maxPool2Geometry(g);
        Tensor xv = x.value(), wv = w.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(pg.outputShape()));
        Tensor idx = be.empty(xv.dtype(), Shape.of(pg.outputShape()));
        be.conv2dMaxPool2(g, reluInput, xv, wv, b == null ? null : b.value(), y, idx);
        return Autograd.record(reluInput ? "relu_conv2d_max_pool2d" : "conv2d_max_pool2d", y, (gy, needs) -> {
            Tensor gx = needs[0] ? be.empty(xv.dtype(), xv.shape()) : null;
            Tensor gw = needs[1] ? be.empty(wv.dtype(), wv.shape()) : null;
            Tensor gb = needs.length > 2 && needs[2] ? be.empty(xv.dtype(), Shape.of(g.cout())) : null;
            if (gx != null || gw != null || gb != null)
                be.conv2dMaxPool2Backward(g, reluInput, xv, wv, gy, idx, gx, gw, gb);
            return new Tensor[] {gx, gw, gb};
        }, x, w, b);
    }

    /**
     * Transposed convolution (PyTorch's ConvTranspose2d); weight [Cin, Cout / groups, kh, kw].
     * It is the adjoint of the convolution that maps its output back to its input.
     */
    public static Variable convTranspose2d(Variable x, Variable w, Variable b, int stride, int padding,
                                           int outputPadding, int dilation, int groups) {
        requireRank("conv_transpose2d", "input", x, 4);
        requireRank("conv_transpose2d", "weight", w, 4);
        Shape xs = x.shape(), ws = w.shape();
        if (xs.dim(1) != ws.dim(0)) {
            throw new IllegalArgumentException("conv_transpose2d: input " + xs + " has " + xs.dim(1)
                    + " channels, weight " + ws + " expects " + ws.dim(0));
        }
        if (outputPadding < 0 || (outputPadding >= stride && outputPadding >= dilation)) {
            throw new IllegalArgumentException("conv_transpose2d: output_padding " + outputPadding
                    + " must be smaller than stride or dilation");
        }
        long cout = ws.dim(1) * groups, kh = ws.dim(2), kw = ws.dim(3);
        long oh = (xs.dim(2) - 1) * stride - 2L * padding + dilation * (kh - 1) + outputPadding + 1;
        long ow = (xs.dim(3) - 1) * stride - 2L * padding + dilation * (kw - 1) + outputPadding + 1;
        ConvGeometry g = new ConvGeometry(xs.dim(0), cout, oh, ow, xs.dim(1), kh, kw, stride, stride, padding, padding,
                dilation, dilation, groups);
        if (g.outH() != xs.dim(2) || g.outW() != xs.dim(3)) {
            throw new IllegalArgumentException("conv_transpose2d: inconsistent geometry for input " + xs);
        }
        Tensor xv = x.value(), wv = w.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.inputShape()));
        be.conv2dBackwardData(g, xv, wv, y);
        if (b != null) {
            if (b.shape().rank() != 1 || b.shape().dim(0) != cout) {
                throw new IllegalArgumentException("conv_transpose2d: bias " + b.shape() + ", expected [" + cout + "]");
            }
            Tensor bv = b.value().reshape(1, cout, 1, 1);
            be.binary(BinaryOp.ADD, y, bv, y);
            bv.close();
        }
        return Autograd.record("conv_transpose2d", y, (gy, needs) -> {
            Tensor gx = null, gw = null, gb = null;
            if (needs[0]) {
                gx = be.empty(xv.dtype(), xv.shape());
                be.conv2d(g, gy, wv, null, gx);
            }
            if (needs[1]) {
                gw = be.empty(wv.dtype(), wv.shape());
                be.conv2dBackwardFilter(g, gy, xv, gw, null);
            }
            if (needs.length > 2 && needs[2]) {
                gb = channelSums(gy);
            }
            return new Tensor[] {gx, gw, gb};
        }, x, w, b);
    }

    /** Sums an [N, C, H, W] tensor over N, H, W into [C]. */
    static Tensor channelSums(Tensor t) {
        Backend be = backendOf(t);
        long n = t.dim(0), c = t.dim(1), hw = t.numel() / Math.max(1, n * c);
        Tensor perImage = be.empty(t.dtype(), Shape.of(n, c));
        be.reduce(ReduceOp.SUM, t, n * c, hw, 1, perImage);
        Tensor out = be.empty(t.dtype(), Shape.of(c));
        be.reduce(ReduceOp.SUM, perImage, 1, n, c, out);
        perImage.close();
        return out;
    }

    /** Max pooling; the argmax indices are kept for backward and returned by {@link #maxPool2dWithIndices}. */
    public static Variable maxPool2d(Variable x, int kernel, int stride, int padding, boolean ceilMode) {
        return maxPool2dWithIndices(x, kernel, stride, padding, ceilMode)[0];
    }

    /** Returns {pooled, indices}; indices is a constant holding each window's argmax within its plane. */
    public static Variable[] maxPool2dWithIndices(Variable x, int kernel, int stride, int padding, boolean ceilMode) {
        requireRank("max_pool2d", "input", x, 4);
        PoolGeometry g = PoolGeometry.of(PoolKind.MAX, x.shape().toArray(), kernel, kernel, stride, stride, padding,
                padding, ceilMode, false);
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.outputShape()));
        Tensor idx = be.empty(xv.dtype(), Shape.of(g.outputShape()));
        be.pool2d(g, xv, y, idx);
        Variable out = Autograd.record("max_pool2d", y, (gy, needs) -> {
            Tensor gx = like(xv);
            be.pool2dBackward(g, gy, idx, gx);
            return new Tensor[] {gx};
        }, x);
        return new Variable[] {out, Variable.constant(idx)};
    }

    public static Variable avgPool2d(Variable x, int kernel, int stride, int padding, boolean ceilMode,
                                     boolean countIncludePad) {
        requireRank("avg_pool2d", "input", x, 4);
        return pool(x, PoolGeometry.of(PoolKind.AVG, x.shape().toArray(), kernel, kernel, stride, stride, padding,
                padding, ceilMode, countIncludePad));
    }

    public static Variable adaptiveAvgPool2d(Variable x, int outH, int outW) {
        requireRank("adaptive_avg_pool2d", "input", x, 4);
        return pool(x, PoolGeometry.adaptive(x.shape().toArray(), outH, outW));
    }

    private static Variable pool(Variable x, PoolGeometry g) {
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.outputShape()));
        be.pool2d(g, xv, y, null);
        return Autograd.record(g.kind().name().toLowerCase() + "_pool2d", y, (gy, needs) -> {
            Tensor gx = like(xv);
            be.pool2dBackward(g, gy, null, gx);
            return new Tensor[] {gx};
        }, x);
    }

    /** Max-unpooling (SegNet): places x at the positions recorded by the matching max pool. */
    public static Variable maxUnpool2d(Variable x, Variable indices, int outH, int outW) {
        requireRank("max_unpool2d", "input", x, 4);
        Shape xs = x.shape();
        if (!indices.shape().equals(xs)) {
            throw new IllegalArgumentException("max_unpool2d: indices " + indices.shape() + " must match input " + xs);
        }
        // The scatter is max-pool backward with a geometry whose input is the unpooled size.
        PoolGeometry g = new PoolGeometry(PoolKind.MAX, xs.dim(0), xs.dim(1), outH, outW, 1, 1, 1, 1, 0, 0, xs.dim(2),
                xs.dim(3), false);
        Tensor xv = x.value(), iv = indices.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(g.inputShape()));
        be.pool2dBackward(g, xv, iv, y);
        return Autograd.record("max_unpool2d", y, (gy, needs) -> {
            Tensor gx = like(xv);
            be.gatherPlanes(gy, iv, gx);
            return new Tensor[] {gx, null};
        }, x, indices);
    }

    /** Nearest or bilinear resize of [N, C, H, W] to [N, C, outH, outW] (PyTorch's conventions). */
    public static Variable upsample(Variable x, long outH, long outW, boolean bilinear, boolean alignCorners) {
        requireRank("upsample", "input", x, 4);
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(xv.dim(0), xv.dim(1), outH, outW));
        be.upsample(bilinear, alignCorners, xv, y);
        return Autograd.record("upsample", y, (gy, needs) -> {
            Tensor gx = like(xv);
            be.upsampleBackward(bilinear, alignCorners, gy, gx);
            return new Tensor[] {gx};
        }, x);
    }

    /**
     * Batch normalisation over axis 1. In training mode it uses batch statistics and updates the
     * running ones in place; in eval mode it uses the running ones. gamma/beta may be null.
     */
    public static Variable batchNorm(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                     Tensor runningVar, boolean training, double momentum, double eps) {
        return batchNorm(x, gamma, beta, runningMean, runningVar, training, momentum, eps, null);
    }

    /**
     * Batch normalisation followed by {@code act} (RELU or RELU6; null for none), applied in place
     * on the normalised output. Same values and gradients as {@code Ops.relu(batchNorm(...))}, but
     * the graph keeps one tensor where the two separate ops keep two: the normalised output that
     * only fed the activation is never materialised on its own (PyTorch's ReLU(inplace=True)).
     * The activation's backward reads its mask from the output, which is exact for these two
     * (out > 0 iff in > 0, and out < 6 iff in < 6).
     */
    public static Variable batchNorm(Variable x, Variable gamma, Variable beta, Tensor runningMean,
                                     Tensor runningVar, boolean training, double momentum, double eps,
                                     UnaryOp act) {
        requireMaskActivation("batch_norm", act);
        if (x.shape().rank() < 2) throw new IllegalArgumentException("batch_norm: input " + x.shape() + " needs [N, C, ...]");
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        long c = xv.dim(1);
        Tensor y = like(xv);
        Tensor mean = be.empty(xv.dtype(), Shape.of(c)), inv = be.empty(xv.dtype(), Shape.of(c));
        Tensor gv = gamma == null ? null : gamma.value();
        be.batchNormActivation(training, momentum, eps, xv, gv, beta == null ? null : beta.value(), runningMean,
                runningVar, y, mean, inv, act);
        return Autograd.record(act == null ? "batch_norm" : "batch_norm_" + act.name().toLowerCase(), y, (gy, needs) -> {
            Tensor gx = needs[0] ? like(xv) : null;
            Tensor gg = needs[1] ? be.empty(xv.dtype(), Shape.of(c)) : null;
            Tensor gb = needs[2] ? be.empty(xv.dtype(), Shape.of(c)) : null;
            be.batchNormActivationBackward(training, xv, y, act, gy, gv, mean, inv, gx, gg, gb);
            return new Tensor[] {gx, gg, gb};
        }, x, gamma, beta);
    }

    /**
     * act(a + b) for same-shape a and b (the residual sum of a ResNet block and its ReLU), in one
     * output tensor instead of two; see {@link #batchNorm(Variable, Variable, Variable, Tensor,
     * Tensor, boolean, double, double, UnaryOp)} for why the mask can come from the output.
     */
    public static Variable addActivation(Variable a, Variable b, UnaryOp act) {
        requireMaskActivation("add", act);
        if (act == null) return Ops.add(a, b);
        if (!a.shape().equals(b.shape())) {
            throw new IllegalArgumentException("add_" + act.name().toLowerCase() + ": shapes " + a.shape() + " and "
                    + b.shape() + " must match (no broadcasting)");
        }
        Tensor av = a.value(), bv = b.value();
        Backend be = backendOf(av);
        Tensor y = like(av);
        be.binary(BinaryOp.ADD, av, bv, y);
        be.unary(act, y, y, 0, 0);
        return Autograd.record("add_" + act.name().toLowerCase(), y, (gy, needs) -> {
            Tensor g = like(gy);
            be.unaryBackward(act, y, y, gy, g, 0, 0);
            // Autograd takes ownership of each returned tensor separately, so the two inputs
            // cannot share one.
            Tensor ga = needs[0] ? g : null, gb = needs[1] ? (needs[0] ? be.duplicate(g) : g) : null;
            if (!needs[0] && !needs[1]) g.close();
            return new Tensor[] {ga, gb};
        }, a, b);
    }

    private static void requireMaskActivation(String op, UnaryOp act) {
        if (act != null && act != UnaryOp.RELU && act != UnaryOp.RELU6) {
            throw new IllegalArgumentException(op + ": only RELU and RELU6 can be fused (their mask is recoverable"
                    + " from the output), got " + act);
        }
    }

    /** Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1-p). */
    public static Variable dropout(Variable x, double p, boolean training, Generator gen) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        if (!training || p == 0) return x;
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor mask = like(xv);
        gen.bernoulli(mask, 1 - p);
        be.unary(org.advmia.backend.UnaryOp.AFFINE, mask, mask, 1 / (1 - p), 0);
        Tensor y = like(xv);
        be.binary(BinaryOp.MUL, xv, mask, y);
        return Autograd.record("dropout", y, (gy, needs) -> {
            Tensor gx = like(xv);
            be.binary(BinaryOp.MUL, gy, mask, gx);
            return new Tensor[] {gx};
        }, x);
    }
}
