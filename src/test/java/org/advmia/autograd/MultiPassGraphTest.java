package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;
import static org.advmia.autograd.GradCheck.values;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Random;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * TRADES and MART evaluate one network on x and x' in the same graph: the weights' gradient
 * must be the sum over both passes. Checked by finite differences in float64 on a small
 * conv + batch-norm + linear network, with respect to weights and both inputs.
 */
class MultiPassGraphTest {
    private final Random r = new Random(5);

    private static Variable net(Variable x, Variable convW, Variable gamma, Variable beta, Variable fcW) {
        Variable h = NnOps.conv2d(x, convW, null, 1, 1, 1, 1);
        h = NnOps.batchNorm(h, gamma, beta, null, null, true, 0.1, 1e-5);
        h = NnOps.maxPool2d(Ops.relu(h), 2, 2, 0, false);
        return NnOps.linear(Ops.flatten(h), fcW, null);
    }

    @Test
    void tradesObjectiveGradientsAccumulateOverBothPasses() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor labels = values(new double[] {0, 2, 1}, 3);
            check("trades-like objective", v -> {
                Variable clean = net(v[0], v[2], v[3], v[4], v[5]);
                Variable adv = net(v[1], v[2], v[3], v[4], v[5]);
                Variable ce = Losses.crossEntropy(clean, labels);
                Variable kl = Losses.klDivergence(Losses.logSoftmax(clean), Losses.logSoftmax(adv));
                return Ops.add(ce, Ops.scale(kl, 6.0));
            }, random(r, 3, 2, 4, 4), random(r, 3, 2, 4, 4), random(r, 3, 2, 3, 3), random(r, 3), random(r, 3),
                    random(r, 3, 12));
        }
    }

    @Test
    void frozenWeightsGetNoGradientAndInputsDo() {
        try (MemoryScope s = MemoryScope.open()) {
            Variable w = Variable.leaf(random(r, 2, 1, 3, 3), false);
            Variable x = Variable.leaf(random(r, 1, 1, 5, 5), true);
            Ops.sum(NnOps.conv2d(x, w, null, 1, 0, 1, 1)).backward();
            assertNotNull(x.grad());
            assertNull(w.grad());
            x.releaseGrad();
        }
    }
}
