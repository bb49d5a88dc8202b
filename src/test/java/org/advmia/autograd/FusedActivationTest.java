package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import java.util.function.Function;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.Activation;
import org.advmia.nn.BatchNorm2d;
import org.advmia.nn.Init;
import org.advmia.nn.Sequential;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Batch norm + ReLU/ReLU6 and add + ReLU/ReLU6 fused into one op (the activation applied in place
 * on the op's own output, its mask read back from that output): finite-difference gradients, and
 * bit-for-bit the values and gradients of the two separate ops, while the graph holds one
 * activation-sized tensor less.
 */
class FusedActivationTest {
    private final Random r = new Random(5);
    private static final UnaryOp[] ACTS = {UnaryOp.RELU, UnaryOp.RELU6};

    @Test
    void finiteDifferences() {
        Tensor rm = Backends.tensor(DType.FLOAT64, new double[] {0.1, -0.2, 0.3}, 3);
        Tensor rv = Backends.tensor(DType.FLOAT64, new double[] {1.5, 0.7, 1.1}, 3);
        try (MemoryScope s = MemoryScope.open()) {
            for (UnaryOp act : ACTS) {
                // gamma in [-8, 8): some outputs beyond 6, so ReLU6's upper clip is exercised too.
                check("bn eval " + act, v -> NnOps.batchNorm(v[0], v[1], v[2], rm, rv, false, 0.1, 1e-5, act),
                        random(r, 2, 3, 3, 2), GradCheck.uniform(r, -8, 8, 3), random(r, 3));
                check("bn train " + act, v -> NnOps.batchNorm(v[0], v[1], v[2], null, null, true, 0.1, 1e-5, act),
                        random(r, 3, 3, 2, 2), GradCheck.uniform(r, -8, 8, 3), random(r, 3));
                check("add " + act, v -> NnOps.addActivation(v[0], v[1], act),
                        GradCheck.uniform(r, -4, 4, 2, 3, 2, 2), GradCheck.uniform(r, -4, 4, 2, 3, 2, 2));
                check("add same input " + act, v -> NnOps.addActivation(v[0], v[0], act),
                        GradCheck.uniform(r, -4, 4, 2, 3, 2, 2));
            }
        }
    }

    /** Values and the gradients of every input, float32, from f applied to fresh leaves. */
    static float[][] run(Function<Variable[], Variable> f, boolean[] requires, Tensor... inputs) {
        try (MemoryScope s = MemoryScope.open()) {
            Variable[] v = new Variable[inputs.length];
            for (int i = 0; i < inputs.length; i++) v[i] = Variable.leaf(inputs[i], requires[i]);
            Variable y = f.apply(v);
            float[][] out = new float[inputs.length + 1][];
            out[0] = Backends.toFloatArray(y.value());
            Tensor seed = Backends.defaultBackend().empty(DType.FLOAT32, y.shape());
            new Generator(3).uniform(seed, -1, 1);
            y.backward(seed);
            for (int i = 0; i < inputs.length; i++) {
                out[i + 1] = v[i].grad() == null ? null : Backends.toFloatArray(v[i].grad());
                v[i].releaseGrad();
            }
            return out;
        }
    }

    static Tensor uniform32(long seed, double lo, double hi, long... shape) {
        Tensor t = Backends.defaultBackend().empty(DType.FLOAT32, Shape.of(shape));
        new Generator(seed).uniform(t, lo, hi);
        return t;
    }

    static void assertSame(String what, float[][] fused, float[][] separate) {
        assertEquals(separate.length, fused.length);
        for (int i = 0; i < fused.length; i++) {
            if (separate[i] == null) assertNull(fused[i], what + ": output " + i);
            else assertArrayEquals(separate[i], fused[i], 0f, what + ": " + (i == 0 ? "values" : "gradient of input " + (i - 1)));
        }
    }

    @Test
    void batchNormActivationMatchesTheSeparateOpsExactly() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = uniform32(1, -3, 3, 4, 5, 6, 6), gamma = uniform32(2, -8, 8, 5), beta = uniform32(3, -1, 1, 5);
            for (UnaryOp act : ACTS) {
                for (boolean training : new boolean[] {true, false}) {
                    for (boolean[] req : new boolean[][] {{true, true, true}, {true, false, false}, {false, true, true}}) {
                        Tensor rm1 = uniform32(4, -0.5, 0.5, 5), rv1 = uniform32(5, 0.5, 2, 5);
                        Tensor rm2 = Backends.defaultBackend().duplicate(rm1), rv2 = Backends.defaultBackend().duplicate(rv1);
                        float[][] fused = run(v -> NnOps.batchNorm(v[0], v[1], v[2], rm1, rv1, training, 0.1, 1e-5, act),
                                req, x, gamma, beta);
                        float[][] separate = run(v -> Ops.unary(act, NnOps.batchNorm(v[0], v[1], v[2], rm2, rv2, training,
                                0.1, 1e-5), 0, 0), req, x, gamma, beta);
                        String what = "batch norm + " + act + (training ? " train" : " eval") + " needs "
                                + java.util.Arrays.toString(req);
                        assertSame(what, fused, separate);
                        assertArrayEquals(Backends.toFloatArray(rm2), Backends.toFloatArray(rm1), 0f, what + ": running mean");
                        assertArrayEquals(Backends.toFloatArray(rv2), Backends.toFloatArray(rv1), 0f, what + ": running var");
                    }
                }
            }
        }
    }

    @Test
    void addActivationMatchesTheSeparateOpsExactly() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor a = uniform32(6, -7, 7, 3, 4, 5, 5), b = uniform32(7, -7, 7, 3, 4, 5, 5);
            for (UnaryOp act : ACTS) {
                for (boolean[] req : new boolean[][] {{true, true}, {true, false}, {false, true}}) {
                    float[][] fused = run(v -> NnOps.addActivation(v[0], v[1], act), req, a, b);
                    float[][] separate = run(v -> Ops.unary(act, Ops.add(v[0], v[1]), 0, 0), req, a, b);
                    assertSame("add + " + act + " needs " + java.util.Arrays.toString(req), fused, separate);
                }
                // Both operands the same variable: two gradients accumulate into one leaf.
                float[][] fused = run(v -> NnOps.addActivation(v[0], v[0], act), new boolean[] {true}, a);
                float[][] separate = run(v -> Ops.unary(act, Ops.add(v[0], v[0]), 0, 0), new boolean[] {true}, a);
                assertSame("add + " + act + " of one variable with itself", fused, separate);
                // Interior (non-leaf) operands: the gradients go on through the rest of the graph.
                fused = run(v -> NnOps.addActivation(Ops.scale(v[0], 2), Ops.scale(v[1], -1), act), new boolean[] {true, true}, a, b);
                separate = run(v -> Ops.unary(act, Ops.add(Ops.scale(v[0], 2), Ops.scale(v[1], -1)), 0, 0),
                        new boolean[] {true, true}, a, b);
                assertSame("add + " + act + " of interior nodes", fused, separate);
            }
        }
    }

    @Test
    void onlyMaskActivationsFuse() {
        try (MemoryScope s = MemoryScope.open()) {
            Variable a = Variable.leaf(uniform32(1, -1, 1, 2, 3), true);
            assertThrows(IllegalArgumentException.class, () -> NnOps.addActivation(a, a, UnaryOp.SIGMOID));
            assertThrows(IllegalArgumentException.class, () -> NnOps.addActivation(a, Variable.leaf(uniform32(1, -1, 1, 3), true),
                    UnaryOp.RELU));
            Variable x = Variable.leaf(uniform32(1, -1, 1, 2, 3, 2, 2), true);
            assertThrows(IllegalArgumentException.class,
                    () -> NnOps.batchNorm(x, null, null, null, null, true, 0.1, 1e-5, UnaryOp.TANH));
        }
    }

    /** Bytes the allocator hands out for a forward pass of seq whose graph is kept (training mode). */
    static long[] forwardBytesAndValues(Sequential seq, Tensor x, float[][] values) {
        Backend be = Backends.defaultBackend();
        try (MemoryScope s = MemoryScope.open()) {
            long before = be.allocatorStats().bytesInUse();
            Variable y = seq.forward(Variable.leaf(x, true));
            long after = be.allocatorStats().bytesInUse();
            values[0] = Backends.toFloatArray(y.value());
            return new long[] {after - before};
        }
    }

    @Test
    void sequentialFusesBatchNormAndActivationAndKeepsOneTensorLess() {
        try (MemoryScope s = MemoryScope.open();
             Sequential fusedSeq = new Sequential(new BatchNorm2d(8, Init.seeded(1)), Activation.relu6());
             Sequential plainSeq = new Sequential(new BatchNorm2d(8, Init.seeded(1)), Activation.relu6(), Activation.identity())) {
            // Identity between them would not stop fusion; a module that is not an activation would.
            Sequential unfusable = new Sequential(new BatchNorm2d(8, Init.seeded(1)), Activation.sigmoid());
            Tensor x = uniform32(9, -4, 4, 16, 8, 8, 8);
            fusedSeq.train();
            plainSeq.train();
            float[][] v1 = new float[1][], v2 = new float[1][];
            long fusedBytes = forwardBytesAndValues(fusedSeq, x, v1)[0];
            // The same layers run one at a time, as Sequential did before fusion.
            Backend be = Backends.defaultBackend();
            long separateBytes;
            try (MemoryScope st = MemoryScope.open()) {
                long before = be.allocatorStats().bytesInUse();
                Variable h = Variable.leaf(x, true);
                for (int i = 0; i < plainSeq.size(); i++) h = plainSeq.get(i).forward(h);
                separateBytes = be.allocatorStats().bytesInUse() - before;
                v2[0] = Backends.toFloatArray(h.value());
            }
            assertArrayEquals(v2[0], v1[0], 0f, "fused Sequential output");
            long activation = x.numel() * 4;
            assertEquals(activation, separateBytes - fusedBytes,
                    "the fused graph keeps exactly one activation (" + activation + " bytes) less: " + fusedBytes + " vs "
                            + separateBytes);
            float[][] v3 = new float[1][];
            long sigmoidBytes = forwardBytesAndValues(unfusable, x, v3)[0];
            assertEquals(separateBytes, sigmoidBytes, "BN + sigmoid is not fused");
            unfusable.close();
        }
    }
}
