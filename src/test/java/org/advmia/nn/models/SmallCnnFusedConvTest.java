package org.advmia.nn.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Map;
import java.util.Random;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Dropout;
import org.advmia.nn.Init;
import org.advmia.nn.Module;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * SmallCnn.forward fuses each ReLU that feeds a convolution into it and moves the ReLUs before
 * the max-pools after them. That is the same function computed with the same float operations
 * (relu is exact, and max commutes with it), so the logits and the gradients of the loss with
 * respect to the input and to every parameter must be bit-identical to those of the unfused
 * network, head(features(x)), which applies the layers one by one. Checked at batch 3 on 28x28
 * inputs with some pixels pushed negative (so that whole pooling windows are <= 0 after conv1)
 * and with exact zeros, in train mode (dropout draws from the same seed in both runs) and eval
 * mode.
 */
class SmallCnnFusedConvTest {
    @Test
    void fusedForwardEqualsLayerByLayer() {
        for (boolean train : new boolean[] {false, true}) {
            try (MemoryScope s = MemoryScope.open(); SmallCnn m = new SmallCnn(1, 10, 28, 28, Init.seeded(4))) {
                if (train) m.train();
                else m.eval();
                Random r = new Random(9);
                float[] xs = new float[3 * 28 * 28];
                for (int i = 0; i < xs.length; i++) xs[i] = r.nextInt(10) == 0 ? 0f : (float) r.nextGaussian();
                Tensor x = Backends.tensor(xs, 3, 1, 28, 28);
                Tensor y = Backends.tensor(new float[] {1, 7, 3}, 3);
                Result fused = run(m, x, y, true), plain = run(m, x, y, false);
                assertArrayEquals(plain.logits, fused.logits, 0f, "logits (train=" + train + ")");
                assertArrayEquals(plain.grads[0], fused.grads[0], 0f, "input gradient (train=" + train + ")");
                for (int i = 1; i < plain.grads.length; i++)
                    assertArrayEquals(plain.grads[i], fused.grads[i], 0f, "parameter gradient " + i + " (train=" + train + ")");
            }
        }
    }

    /** Frozen weights (an attack step): the input gradient goes through the fused pool + convolution backward. */
    @Test
    void inputGradientWithFrozenWeightsEqualsLayerByLayer() {
        try (MemoryScope s = MemoryScope.open(); SmallCnn m = new SmallCnn(1, 10, 28, 28, Init.seeded(6))) {
            m.eval();
            m.setRequiresGrad(false);
            Random r = new Random(10);
            float[] xs = new float[4 * 28 * 28];
            for (int i = 0; i < xs.length; i++) xs[i] = r.nextInt(10) == 0 ? 0f : (float) r.nextGaussian();
            Tensor x = Backends.tensor(xs, 4, 1, 28, 28);
            Tensor y = Backends.tensor(new float[] {0, 9, 4, 4}, 4);
            float[][] g = new float[2][];
            for (int k = 0; k < 2; k++) {
                Variable in = Variable.leaf(x, true);
                Losses.crossEntropy(k == 0 ? m.forward(in) : m.head(m.features(in)), y).backward();
                g[k] = Backends.toFloatArray(in.grad());
                in.releaseGrad();
            }
            assertArrayEquals(g[1], g[0], 0f, "input gradient, frozen weights");
        }
    }

    private record Result(float[] logits, float[][] grads) {}

    private static Result run(SmallCnn m, Tensor x, Tensor y, boolean fused) {
        m.zeroGrad();
        Variable in = Variable.leaf(x, true);
        // Dropout draws its mask from its generator's stream: rewind it, so both runs draw the same mask.
        for (Module mod : m.namedModules().values())
            if (mod instanceof Dropout d) d.generator().setOffset(0);
        Variable logits = fused ? m.forward(in) : m.head(m.features(in));
        Losses.crossEntropy(logits, y).backward();
        Map<String, Variable> ps = m.namedParameters();
        float[][] g = new float[ps.size() + 1][];
        assertNotNull(in.grad());
        g[0] = Backends.toFloatArray(in.grad());
        int i = 1;
        for (Variable p : ps.values()) g[i++] = Backends.toFloatArray(p.grad());
        in.releaseGrad();
        return new Result(Backends.toFloatArray(logits.value()), g);
    }
}
