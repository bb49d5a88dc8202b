package org.advmia.autograd;

import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Broadcast;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/** Differentiable elementwise, shape and reduction ops, written once over the backend seam. */
public final class Ops {
    private Ops() {}

    static Tensor like(Tensor t) {
        return backendOf(t).empty(t.dtype(), t.shape());
    }

    static Backend backendOf(Tensor t) {
        return org.advmia.backend.Backends.of(t);
    }

    // ---- broadcasting binary ops

    public static Variable add(Variable a, Variable b) {
        return binary(BinaryOp.ADD, a, b);
    }

    public static Variable sub(Variable a, Variable b) {
        return binary(BinaryOp.SUB, a, b);
    }

    public static Variable mul(Variable a, Variable b) {
        return binary(BinaryOp.MUL, a, b);
    }

    public static Variable div(Variable a, Variable b) {
        return binary(BinaryOp.DIV, a, b);
    }

    private static Variable binary(BinaryOp op, Variable a, Variable b) {
        Tensor x = a.value(), y = b.value();
        Backend be = backendOf(x);
        Broadcast bc = Broadcast.of(op.name().toLowerCase(), x.shape(), y.shape());
        Tensor out = be.empty(x.dtype(), bc.shape());
        be.binary(op, x, y, out);
        return Autograd.record(op.name().toLowerCase(), out, (g, needs) -> {
            Tensor ga = null, gb = null;
            switch (op) {
                case ADD -> {
                    if (needs[0]) ga = sumToShape(g, x.shape());
                    if (needs[1]) gb = sumToShape(g, y.shape());
                }
                case SUB -> {
                    if (needs[0]) ga = sumToShape(g, x.shape());
                    if (needs[1]) gb = negated(sumToShape(g, y.shape()), g);
                }
                case MUL -> {
                    if (needs[0]) ga = reduceProduct(g, y, x.shape());
                    if (needs[1]) gb = reduceProduct(g, x, y.shape());
                }
                case DIV -> {
                    if (needs[0]) {
                        Tensor t = be.empty(g.dtype(), g.shape());
                        be.binary(BinaryOp.DIV, g, y, t);
                        ga = sumToShape(t, x.shape());
                        if (ga != t) t.close();
                    }
                    if (needs[1]) {
                        // d(x/y)/dy = -(x/y)/y = -out/y
                        Tensor t = be.empty(g.dtype(), g.shape());
                        be.binary(BinaryOp.MUL, g, out, t);
                        be.binary(BinaryOp.DIV, t, y, t);
                        gb = negated(sumToShape(t, y.shape()), g);
                        if (gb != t) t.close();
                    }
                }
                default -> throw new IllegalStateException("no gradient for " + op);
            }
            return new Tensor[] {ga, gb};
        }, a, b);
    }

    private static Tensor reduceProduct(Tensor g, Tensor other, Shape target) {
        Backend be = backendOf(g);
        Tensor t = be.empty(g.dtype(), g.shape());
        be.binary(BinaryOp.MUL, g, other, t);
        Tensor r = sumToShape(t, target);
        if (r != t) t.close();
        return r;
    }

    /** -t as a fresh tensor unless t is a temporary we own (never the upstream gradient itself). */
    private static Tensor negated(Tensor t, Tensor upstream) {
        if (t == upstream) {
            Tensor n = like(t);
            backendOf(t).unary(UnaryOp.NEG, t, n, 0, 0);
            return n;
        }
        backendOf(t).unary(UnaryOp.NEG, t, t, 0, 0);
        return t;
    }

    /** Sums g over the axes along which an operand of shape target was broadcast. May return g. */
    static Tensor sumToShape(Tensor g, Shape target) {
        if (g.shape().equals(target)) return g;
        Backend be = backendOf(g);
        int rank = g.rank(), off = rank - target.rank();
        Tensor cur = g;
        long[] dims = g.shape().toArray();
        for (int axis = 0; axis < rank; axis++) {
            long want = axis < off ? 1 : target.dim(axis - off);
            if (dims[axis] == want) continue;
            long outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= dims[i];
            for (int i = axis + 1; i < rank; i++) inner *= dims[i];
            long n = dims[axis];
            dims[axis] = 1;
            Tensor next = be.empty(g.dtype(), Shape.of(dims));
            be.reduce(ReduceOp.SUM, cur, outer, n, inner, next);
            if (cur != g) cur.close();
            cur = next;
        }
        Tensor r = cur.reshape(target);
        if (cur != g) cur.close();
        return r;
    }

    // ---- scalar ops

    /** a * x + b. */
    public static Variable affine(Variable x, double a, double b) {
        return unary(UnaryOp.AFFINE, x, a, b);
    }

    public static Variable scale(Variable x, double a) {
        return unary(UnaryOp.AFFINE, x, a, 0);
    }

    public static Variable addScalar(Variable x, double b) {
        return unary(UnaryOp.AFFINE, x, 1, b);
    }

    public static Variable neg(Variable x) {
        return unary(UnaryOp.NEG, x, 0, 0);
    }

    public static Variable exp(Variable x) {
        return unary(UnaryOp.EXP, x, 0, 0);
    }

    public static Variable log(Variable x) {
        return unary(UnaryOp.LOG, x, 0, 0);
    }

    public static Variable sqrt(Variable x) {
        return unary(UnaryOp.SQRT, x, 0, 0);
    }

    public static Variable abs(Variable x) {
        return unary(UnaryOp.ABS, x, 0, 0);
    }

    public static Variable square(Variable x) {
        return unary(UnaryOp.SQUARE, x, 0, 0);
    }

    public static Variable pow(Variable x, double p) {
        return unary(UnaryOp.POW, x, p, 0);
    }

    public static Variable clamp(Variable x, double lo, double hi) {
        return unary(UnaryOp.CLAMP, x, lo, hi);
    }

    public static Variable relu(Variable x) {
        return unary(UnaryOp.RELU, x, 0, 0);
    }

    public static Variable relu6(Variable x) {
        return unary(UnaryOp.RELU6, x, 0, 0);
    }

    public static Variable leakyRelu(Variable x, double slope) {
        return unary(UnaryOp.LEAKY_RELU, x, slope, 0);
    }

    public static Variable sigmoid(Variable x) {
        return unary(UnaryOp.SIGMOID, x, 0, 0);
    }

    public static Variable tanh(Variable x) {
        return unary(UnaryOp.TANH, x, 0, 0);
    }

    public static Variable unary(UnaryOp op, Variable v, double a, double b) {
        Tensor x = v.value();
        Backend be = backendOf(x);
        Tensor out = like(x);
        be.unary(op, x, out, a, b);
        return Autograd.record(op.name().toLowerCase(), out, (g, needs) -> {
            Tensor gx = like(g);
            be.unaryBackward(op, x, out, g, gx, a, b);
            return new Tensor[] {gx};
        }, v);
    }

    /**
     * BPDA (Athalye et al. 2018): returns y (a non-differentiable function of x computed outside
     * the graph) but passes gradients straight through to x, as if y = x.
     */
    public static Variable straightThrough(Variable x, Tensor y) {
        if (!x.shape().equals(y.shape())) {
            throw new IllegalArgumentException("straightThrough: " + y.shape() + " must match the input " + x.shape());
        }
        return Autograd.record("straight_through", y, (g, needs) -> new Tensor[] {g}, x);
    }

    // ---- shape ops

    public static Variable reshape(Variable v, long... dims) {
        Tensor x = v.value();
        Tensor out = x.reshape(dims);
        Shape in = x.shape();
        return Autograd.record("reshape", out, (g, needs) -> new Tensor[] {g.reshape(in)}, v);
    }

    /** Keeps axis 0 and flattens the rest: [N, ...] to [N, prod(...)]. */
    public static Variable flatten(Variable v) {
        return reshape(v, v.shape().dim(0), -1);
    }

    /** Rows [start, start + length) along axis 0 (a view; gradient scatters back). */
    public static Variable narrow0(Variable v, long start, long length) {
        Tensor x = v.value();
        Tensor out = x.narrow0(start, length);
        return Autograd.record("narrow0", out, (g, needs) -> {
            Backend be = backendOf(g);
            Tensor gx = like(x);
            be.fill(gx, 0);
            long row = x.shape().prod(1, x.rank());
            be.copyBlock(g, 0, g.numel(), gx, start * row, g.numel(), 1, g.numel());
            return new Tensor[] {gx};
        }, v);
    }

    /** Concatenation along an axis. */
    public static Variable cat(int axis, Variable... vs) {
        if (vs.length == 0) throw new IllegalArgumentException("cat: no inputs");
        Shape s0 = vs[0].shape();
        int ax = s0.axis(axis);
        long sum = 0;
        for (Variable v : vs) {
            Shape s = v.shape();
            if (s.rank() != s0.rank()) throw new IllegalArgumentException("cat: ranks differ: " + s0 + " vs " + s);
            for (int i = 0; i < s.rank(); i++) {
                if (i != ax && s.dim(i) != s0.dim(i)) {
                    throw new IllegalArgumentException("cat along axis " + ax + ": shapes " + s0 + " and " + s
                            + " differ on axis " + i);
                }
            }
            sum += s.dim(ax);
        }
        final long total = sum;
        Shape outShape = s0.withDim(ax, total);
        long outer = s0.prod(0, ax), inner = s0.prod(ax + 1, s0.rank());
        Backend be = backendOf(vs[0].value());
        Tensor out = be.empty(vs[0].dtype(), outShape);
        long[] starts = new long[vs.length];
        long pos = 0;
        for (int i = 0; i < vs.length; i++) {
            long w = vs[i].shape().dim(ax) * inner;
            starts[i] = pos;
            be.copyBlock(vs[i].value(), 0, w, out, pos, total * inner, outer, w);
            pos += w;
        }
        return Autograd.record("cat", out, (g, needs) -> {
            Tensor[] gs = new Tensor[vs.length];
            for (int i = 0; i < vs.length; i++) {
                if (!needs[i]) continue;
                long w = vs[i].shape().dim(ax) * inner;
                gs[i] = be.empty(g.dtype(), vs[i].shape());
                be.copyBlock(g, starts[i], total * inner, gs[i], 0, w, outer, w);
            }
            return gs;
        }, vs);
    }

    // ---- reductions

    /** Sum of all elements, shape [1]. */
    public static Variable sum(Variable v) {
        return reduceAll(v, ReduceOp.SUM);
    }

    /** Mean of all elements, shape [1]. */
    public static Variable mean(Variable v) {
        return reduceAll(v, ReduceOp.MEAN);
    }

    private static Variable reduceAll(Variable v, ReduceOp op) {
        Tensor x = v.value();
        Backend be = backendOf(x);
        Tensor out = be.empty(x.dtype(), Shape.of(1));
        be.reduce(op, x, 1, x.numel(), 1, out);
        double scale = op == ReduceOp.MEAN ? 1.0 / x.numel() : 1.0;
        return Autograd.record(op.name().toLowerCase(), out, (g, needs) -> {
            Tensor gx = be.empty(x.dtype(), x.shape());
            Tensor ones = onesLike(gx, scale);
            be.binary(BinaryOp.MUL, ones, g, gx);
            ones.close();
            return new Tensor[] {gx};
        }, v);
    }

    private static Tensor onesLike(Tensor t, double value) {
        Backend be = backendOf(t);
        Tensor o = be.empty(t.dtype(), t.shape());
        be.fill(o, value);
        return o;
    }

    /** Sum (or mean) over one axis; keepDim keeps it with extent 1. */
    public static Variable sum(Variable v, int axis, boolean keepDim) {
        return reduceAxis(v, axis, keepDim, ReduceOp.SUM);
    }

    public static Variable mean(Variable v, int axis, boolean keepDim) {
        return reduceAxis(v, axis, keepDim, ReduceOp.MEAN);
    }

    private static Variable reduceAxis(Variable v, int axis, boolean keepDim, ReduceOp op) {
        Tensor x = v.value();
        Shape s = x.shape();
        int ax = s.axis(axis);
        long outer = s.prod(0, ax), n = s.dim(ax), inner = s.prod(ax + 1, s.rank());
        Shape kept = s.withDim(ax, 1);
        Backend be = backendOf(x);
        Tensor out = be.empty(x.dtype(), kept);
        be.reduce(op, x, outer, n, inner, out);
        Tensor result = out;
        if (!keepDim) {
            long[] d = new long[Math.max(1, s.rank() - 1)];
            int j = 0;
            for (int i = 0; i < s.rank(); i++) if (i != ax) d[j++] = s.dim(i);
            if (s.rank() == 1) d[0] = 1;
            result = out.reshape(d);
            out.close();
        }
        double scale = op == ReduceOp.MEAN ? 1.0 / n : 1.0;
        return Autograd.record(op.name().toLowerCase() + "_axis", result, (g, needs) -> {
            Tensor gk = g.reshape(kept);
            Tensor gx = be.empty(x.dtype(), s);
            Tensor ones = onesLike(gx, scale);
            be.binary(BinaryOp.MUL, ones, gk, gx);
            ones.close();
            gk.close();
            return new Tensor[] {gx};
        }, v);
    }
}
