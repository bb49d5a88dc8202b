package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A whole PGD iteration (forward, cross-entropy, input-gradient backward, fused L-inf step)
 * captured once as a CUDA graph and replayed, against the same iterations run op by op. Every
 * kernel and cuDNN algorithm is deterministic, so replay and eager runs must agree bit for bit.
 */
class CudaGraphTest {
    /** Per test, not per class: surefire then reports each test as skipped rather than none at all. */
    @BeforeEach
    void gpuPresent() {
        assumeTrue(CudaBackend.isAvailable(), () -> "skipped: " + CudaBackend.unavailableReason());
    }

    private static void pgdIteration(Model model, CudaBackend gpu, Tensor x0, Tensor x, Tensor labels, Tensor grad) {
        try (MemoryScope s = MemoryScope.open()) {
            Variable input = Variable.leaf(x, true);
            Variable loss = Losses.crossEntropy(model.logits(input), labels, null, 0);
            loss.backward();
            gpu.copyBlock(input.grad(), 0, grad.numel(), grad, 0, grad.numel(), 1, grad.numel());
            input.releaseGrad();
            gpu.attackStep(Norm.LINF, x0, x, grad, 2 / 255.0, null, 8 / 255.0, null, null, 0, 1);
        }
    }

    @Test
    void replayedPgdIterationsEqualEagerOnes() {
        String saved = System.getProperty("advmia.device");
        System.setProperty("advmia.device", "cuda");
        CudaBackend gpu = CudaBackend.get();
        try (Model model = new SmallCnn(1, 10, 28, 28, new Init(3, DType.FLOAT32)); MemoryScope scope = MemoryScope.open()) {
            model.eval();
            model.setRequiresGrad(false);
            Shape shape = Shape.of(32, 1, 28, 28);
            Tensor x0 = gpu.empty(DType.FLOAT32, shape), labels = gpu.empty(DType.FLOAT32, Shape.of(32));
            gpu.random(org.advmia.backend.RandomKind.UNIFORM, x0, 5, 0, 0, 1);
            double[] lab = new double[32];
            for (int i = 0; i < 32; i++) lab[i] = i % 10;
            gpu.copyFromHost(lab, labels);
            Tensor eager = gpu.duplicate(x0), replayed = gpu.duplicate(x0), grad = gpu.empty(DType.FLOAT32, shape);

            int steps = 6;
            for (int i = 0; i < steps; i++) pgdIteration(model, gpu, x0, eager, labels, grad);

            pgdIteration(model, gpu, x0, replayed, labels, grad);  // warms the pool and cuDNN's choices
            long mallocs = gpu.allocatorStats().systemAllocations();
            try (CudaGraph graph = gpu.capture(() -> pgdIteration(model, gpu, x0, replayed, labels, grad))) {
                for (int i = 1; i < steps; i++) graph.launch();
                gpu.synchronize();
                assertEquals(mallocs, gpu.allocatorStats().systemAllocations(), "no cudaMalloc while capturing or replaying");
                assertArrayEquals(Backends.toFloatArray(eager), Backends.toFloatArray(replayed),
                        "graph replays must reproduce the eager iterations exactly");
                assertThrows(IllegalStateException.class, () -> gpu.capture(() -> {}), "one live graph at a time");
            }
            float[] moved = Backends.toFloatArray(replayed), start = Backends.toFloatArray(x0);
            double maxDelta = 0;
            for (int i = 0; i < moved.length; i++) maxDelta = Math.max(maxDelta, Math.abs(moved[i] - start[i]));
            assertTrue(maxDelta > 1e-3 && maxDelta <= 8 / 255.0 + 1e-6, "the attack moved inside the ball: " + maxDelta);
        } finally {
            if (saved == null) System.clearProperty("advmia.device");
            else System.setProperty("advmia.device", saved);
        }
    }
}
