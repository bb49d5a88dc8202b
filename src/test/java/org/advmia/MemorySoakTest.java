package org.advmia;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.nn.Init;
import org.advmia.nn.models.SmallCnn;
import org.advmia.optim.Sgd;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * "Resident memory stays flat": 2,000 training steps of SmallCNN (batch 8, 28x28x1), each a
 * forward + backward (weight AND input gradients, as in adversarial training) and one SGD step
 * inside its own MemoryScope. After warm-up the caching allocator must serve every request from
 * its pool (no system allocations), and the process's resident set must not grow by more than
 * {@link #MAX_RSS_GROWTH_BYTES}.
 */
class MemorySoakTest {
    static final int STEPS = 2000, WARMUP = 200, BATCH = 8;

    /**
     * 20 MB. A leak of one step's tensors would grow RSS by far more: a step holds about 1.6 MB
     * of activations and gradients (conv1/conv2 outputs alone are 2 x 8 x 32 x 26 x 26 x 4 B =
     * 0.7 MB, plus their gradients), so leaking them for the 1,800 measured steps would add
     * ~3 GB, and leaking even one input-gradient buffer per step (25 KB) would add 45 MB. What
     * legitimately moves after warm-up is the JVM itself (JIT-compiled code, G1 young
     * regions and metadata touched for the first time, a few MB at most here), so 20 MB leaves
     * room for that without letting a per-step native leak of more than ~11 KB pass.
     */
    static final long MAX_RSS_GROWTH_BYTES = 20L << 20;

    /** Resident set size from /proc/self/statm (second field, in pages of 4 KiB on Linux x86-64/aarch64). */
    static long residentBytes() throws IOException {
        String[] f = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+");
        return Long.parseLong(f[1]) * 4096L;
    }

    @Test
    void residentMemoryStaysFlat() throws IOException {
        Backend be = Backends.defaultBackend();
        CpuBackend cpu = CpuBackend.get();
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0));
             Sgd sgd = new Sgd(model.namedParameters(), 0.01, 0.9, 5e-4)) {
            model.train();
            Tensor x = be.empty(DType.FLOAT32, Shape.of(BATCH, 1, 28, 28)).keep();
            Tensor labels = be.empty(DType.FLOAT32, Shape.of(BATCH)).keep();
            new Generator(7).uniform(x, 0, 1);
            float[] lab = new float[BATCH];
            for (int i = 0; i < BATCH; i++) lab[i] = i % 10;
            be.copyFromHost(lab, labels);

            long rssWarm = 0, allocsWarm = 0;
            double firstLoss = 0, lastLoss = 0;
            for (int step = 0; step < STEPS; step++) {
                if (step == WARMUP) {
                    System.gc();
                    rssWarm = residentBytes();
                    allocsWarm = cpu.allocatorStats().systemAllocations();
                }
                try (MemoryScope scope = MemoryScope.open()) {
                    sgd.zeroGrad();
                    Variable input = Variable.leaf(x, true);
                    Variable loss = Losses.crossEntropy(model.logits(input), labels);
                    loss.backward();
                    assertNotNull(input.grad(), "input gradient");
                    input.releaseGrad();  // the input leaf is new each step; its gradient buffer is ours to free
                    sgd.step();
                    double l = Backends.toDoubleArray(loss.value())[0];
                    if (step == 0) firstLoss = l;
                    lastLoss = l;
                }
            }
            System.gc();
            long rssEnd = residentBytes();
            long allocsEnd = cpu.allocatorStats().systemAllocations();
            x.close();
            labels.close();

            assertTrue(Double.isFinite(lastLoss) && lastLoss < firstLoss,
                    "training on a fixed batch should lower the loss: " + firstLoss + " -> " + lastLoss);
            assertEquals(allocsWarm, allocsEnd, "the CPU allocator went to the system after warm-up (step " + WARMUP
                    + "): " + allocsWarm + " -> " + allocsEnd + " system allocations");
            long growth = rssEnd - rssWarm;
            assertTrue(growth < MAX_RSS_GROWTH_BYTES, String.format(
                    "resident memory grew by %.1f MB between step %d and step %d (%.1f -> %.1f MB); limit %.0f MB",
                    growth / 1048576.0, WARMUP, STEPS, rssWarm / 1048576.0, rssEnd / 1048576.0,
                    MAX_RSS_GROWTH_BYTES / 1048576.0));
        }
    }
}
