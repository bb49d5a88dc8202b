package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;
import static org.advmia.autograd.GradCheck.uniform;

import java.util.Random;
import org.advmia.backend.UnaryOp;
import org.advmia.tensor.MemoryScope;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Finite-difference checks (float64) of the elementwise, shape and reduction ops. */
class OpsGradientTest {
    private final Random r = new Random(1);
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void broadcastingBinaryOps() {
        check("add", v -> Ops.add(v[0], v[1]), random(r, 2, 3, 4), random(r, 3, 1));
        check("sub", v -> Ops.sub(v[0], v[1]), random(r, 2, 1, 4), random(r, 2, 3, 4));
        check("mul", v -> Ops.mul(v[0], v[1]), random(r, 2, 3, 4), random(r, 4));
        check("div", v -> Ops.div(v[0], v[1]), random(r, 2, 3), uniform(r, 0.5, 2, 2, 1));
        check("same input twice", v -> Ops.mul(v[0], v[0]), random(r, 5));
        // Same shapes: the backward sees the upstream gradient itself (no broadcast reduction).
        check("sub same shape", v -> Ops.sub(v[0], v[1]), random(r, 2, 3), random(r, 2, 3));
        check("add then reuse", v -> Ops.mul(Ops.add(v[0], v[1]), Ops.sub(v[0], v[1])), random(r, 4), random(r, 4));
    }

    @Test
    void unaryOps() {
        for (UnaryOp op : UnaryOp.values()) {
            double lo = -2, hi = 2, a = 0.3, b = 0.7;
            switch (op) {
                case LOG, SQRT, RECIPROCAL, POW -> lo = 0.3;
                case CLAMP -> { a = -0.5; b = 0.5; }
                case SIGN, ROUND -> { continue; }  // piecewise constant: zero gradient; checked below
                case RELU6 -> { lo = -3; hi = 8; }
                default -> { }
            }
            final double fa = a, fb = b;
            check(op.name(), v -> Ops.unary(op, v[0], fa, fb), uniform(r, lo, hi, 3, 5));
        }
        check("sign", v -> Ops.mul(Ops.unary(UnaryOp.SIGN, v[0], 0, 0), v[0]), random(r, 7));
    }

    @Test
    void shapeOps() {
        check("reshape", v -> Ops.reshape(v[0], 6, -1), random(r, 2, 3, 4));
        check("flatten", v -> Ops.flatten(v[0]), random(r, 2, 3, 2, 2));
        check("narrow0", v -> Ops.narrow0(v[0], 1, 2), random(r, 4, 3));
        check("cat axis 1", v -> Ops.cat(1, v[0], v[1]), random(r, 2, 3, 2), random(r, 2, 1, 2));
        check("cat axis 0", v -> Ops.cat(0, v[0], v[1], v[0]), random(r, 1, 3), random(r, 2, 3));
    }

    @Test
    void reductions() {
        check("sum", v -> Ops.sum(v[0]), random(r, 3, 4));
        check("mean", v -> Ops.mean(v[0]), random(r, 3, 4));
        check("sum axis", v -> Ops.sum(v[0], 1, false), random(r, 2, 3, 4));
        check("mean axis keepdim", v -> Ops.mean(v[0], -1, true), random(r, 2, 3, 4));
    }
}
