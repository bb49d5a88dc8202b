package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * {@link Attack#craft} (what adversarial training uses) is {@link Attack#run} with one restart
 * minus the final success check: the same adversarial batch bit for bit, the same gradient
 * evaluations, and exactly one query per sample fewer.
 */
class AttackCraftTest {
    @Test
    void craftEqualsASingleRestartRunWithoutTheSuccessCheck() {
        int n = 16;
        try (TrainedTinyNet net = new TrainedTinyNet(Init.seeded(0)); MemoryScope s = MemoryScope.open()) {
            Tensor[] d = TrainedTinyNet.data(n, 3);
            for (String name : new String[] {"pgd", "fgsm", "apgd-ce"}) {
                Attacks.Overrides o = new Attacks.Overrides(name.equals("fgsm") ? null : 5, null, null, 1, 11L, null, null, null);
                try (AttackResult run = Attacks.create(name, net, 0.1, o).run(d[0], d[1], null);
                     AttackResult craft = Attacks.create(name, net, 0.1, o).craft(d[0], d[1], null)) {
                    // Exact equality: both execute the same kernels on the same inputs and seed.
                    assertArrayEquals(Backends.toFloatArray(run.adversarial()), Backends.toFloatArray(craft.adversarial()),
                            name + ": craft and run differ");
                    assertEquals(run.gradientEvaluations(), craft.gradientEvaluations(), name + ": gradient evaluations");
                    assertEquals(run.queries() - n, craft.queries(), name + ": craft skips exactly the success check");
                }
            }
        }
    }
}
