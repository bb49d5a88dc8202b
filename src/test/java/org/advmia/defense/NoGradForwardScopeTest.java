package org.advmia.defense;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Init;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * TRADES's clean forward pass (no graph) runs in its own scope: the caller's scope, a training
 * step that still has two graph-recording forward passes ahead, receives only the result, not
 * the activations of that pass.
 */
class NoGradForwardScopeTest {
    @Test
    void tradesLeavesOnlyItsResultsInTheCallersScope() {
        Backend be = Backends.defaultBackend();
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0)); MemoryScope outer = MemoryScope.open()) {
            Tensor x = be.empty(DType.FLOAT32, Shape.of(8, 1, 28, 28)).keep();
            new Generator(1).uniform(x, 0, 1);
            DefenseConfig cfg = new DefenseConfig(8 / 255.0, 2, 2 / 255.0, 6.0, 2.0, 1.0, 8, 5e-3, 0);
            long before = be.allocatorStats().bytesInUse();
            Tensor adv;
            int owned;
            try (MemoryScope step = MemoryScope.open()) {
                adv = Trades.klAdversary(model, x, cfg, new Generator(2));
                // adv, the gradient buffer and the clean log-probabilities [8, 10]; nothing else.
                owned = step.size();
                long held = be.allocatorStats().bytesInUse() - before;
                long image = 8 * 28 * 28 * 4, logits = 8 * 10 * 4;
                assertTrue(held <= 2 * image + 64 * ((logits + 63) / 64), "the caller's scope holds " + held
                        + " bytes after crafting; adv + gradient + clean log-probabilities are "
                        + (2 * image + logits));
            }
            assertEquals(3, owned, "tensors left in the caller's scope");
            assertEquals(before, be.allocatorStats().bytesInUse(), "everything went back with the step");
            x.close();
        }
    }
}
