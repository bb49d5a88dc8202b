package org.advmia.perf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.defense.Defense;
import org.advmia.defense.DefenseConfig;
import org.advmia.defense.Defenses;
import org.advmia.nn.Init;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.nn.Model;
import org.advmia.optim.Sgd;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * No allocation on hot paths (issue #8): after warm-up, PGD steps and training steps must not
 * call the system allocator (every native buffer comes from the caching allocator's pool), and
 * what they allocate on the Java heap must be bookkeeping only: graph nodes, tensor headers,
 * closures, a few boxed keys. Two checks on the Java side:
 * <ul>
 *   <li>a per-step bound (below), and</li>
 *   <li>the per-step Java allocation must not grow with the batch: measured at batch 4 and at
 *       batch 32 it may differ by at most {@link #BATCH_SLACK_BYTES}. Anything that copies data to
 *       the heap inside the loop (a host copy of images, activations or gradients) scales with the batch
 *       and fails this even when it would fit under the absolute bound.</li>
 * </ul>
 * Java allocation is {@code com.sun.management.ThreadMXBean.getThreadAllocatedBytes} of the test
 * thread: the engine's kernels run on native threads, so every Java allocation of a step happens
 * on the calling thread.
 */
class HotLoopAllocationTest {
    static final int STEPS = 10;

    /**
     * Per PGD step on SmallCNN: about 40 recorded ops (9 layers forward and backward, the loss,
     * the fused step), each a Variable, a Tensor header with its Shape, a Storage reference and a
     * backward closure, plus the scope's list entries and the allocator's boxed size/address
     * keys: 23 KB measured (2026-11-24). 64 KB leaves room for JIT differences (escape analysis
     * that does or does not remove an allocation) but not for one float copy of a batch-32 input
     * (100 KB).
     */
    static final long PGD_STEP_BOUND_BYTES = 64 << 10;

    /**
     * Per training step: the same bookkeeping for forward, backward (weights too) and the SGD step
     * over 10 parameters, and the loss read back as one double: 35 KB measured. PGD-AT adds ten PGD
     * steps and the attack's setup (a map of the parameters' requires-grad flags, the options, a
     * generator): 284 KB measured; its bound is eleven NAT steps' worth.
     */
    static final long NAT_STEP_BOUND_BYTES = 64 << 10, PGD_AT_STEP_BOUND_BYTES = 11 * NAT_STEP_BOUND_BYTES;

    /**
     * Java allocation per step that may differ between batch 4 and batch 32: none by design
     * (measured: 96 B per PGD step, 235 B per NAT step, 785 B per PGD-AT step, averaged over
     * STEPS steps). 4 KB per step (8 KB for PGD-AT's eleven passes) absorbs JIT and HashMap-resize
     * noise, and still fails a loop that copies 37 or more floats per sample per step to the heap,
     * i.e. any image, activation, logit-gradient or per-pixel row; per-sample scalars (one label
     * or flag per sample) are below it.
     */
    static final long BATCH_SLACK_BYTES = 4 << 10;

    static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static long javaBytes() {
        return THREADS.getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    static long systemAllocations(Backend be) {
        return be.allocatorStats().systemAllocations();
    }

    static Tensor[] batch(Backend be, int n, int channels, int size) {
        Tensor x = be.empty(DType.FLOAT32, Shape.of(n, channels, size, size));
        new Generator(7).uniform(x, 0, 1);
        float[] lab = new float[n];
        for (int i = 0; i < n; i++) lab[i] = i % 10;
        Tensor y = be.empty(DType.FLOAT32, Shape.of(n));
        be.copyFromHost(lab, y);
        return new Tensor[] {x, y};
    }

    /** {system allocations, Java bytes} of one PGD run with the given steps, after a warm-up run. */
    static long[] pgdRun(Model model, Tensor x, Tensor y, int steps) {
        Backend be = Backends.defaultBackend();
        Attacks.Overrides o = new Attacks.Overrides(steps, 2 / 255.0, true, 1, 0L, null, null, null);
        long sys0 = systemAllocations(be), j0 = javaBytes();
        try (AttackResult r = Attacks.create("pgd", model, 8 / 255.0, o).run(x, y, null)) {
            return new long[] {systemAllocations(be) - sys0, javaBytes() - j0};
        }
    }

    /** Java bytes per PGD step: the difference between a (2 + STEPS)-step and a 2-step run, so setup cancels. */
    static long[] pgdPerStep(Model model, int n) {
        Backend be = Backends.defaultBackend();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] d = batch(be, n, 1, 28);
            for (int i = 0; i < 3; i++) pgdRun(model, d[0], d[1], 2 + STEPS);   // warm-up: pool, JIT
            long[] shortRun = pgdRun(model, d[0], d[1], 2), longRun = pgdRun(model, d[0], d[1], 2 + STEPS);
            return new long[] {shortRun[0] + longRun[0], (longRun[1] - shortRun[1]) / STEPS};
        }
    }

    @org.junit.jupiter.api.Test
    void pgdStepsAllocateNothingNativeAndOnlyBookkeepingOnTheHeap() {
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0))) {
            long[] small = pgdPerStep(model, 4), large = pgdPerStep(model, 32);
            System.out.println("PGD step: system allocations " + small[0] + "/" + large[0] + ", Java bytes per step " + small[1] + " (batch 4), " + large[1] + " (batch 32)");
            assertEquals(0, small[0], "system allocations in PGD runs after warm-up (batch 4)");
            assertEquals(0, large[0], "system allocations in PGD runs after warm-up (batch 32)");
            assertTrue(large[1] > 0, "the Java allocation counter must see the step's bookkeeping");
            assertTrue(large[1] <= PGD_STEP_BOUND_BYTES, "Java bytes per PGD step " + large[1] + " > " + PGD_STEP_BOUND_BYTES);
            assertTrue(Math.abs(large[1] - small[1]) <= BATCH_SLACK_BYTES, "Java bytes per PGD step grow with the batch: "
                    + small[1] + " at batch 4, " + large[1] + " at batch 32");
        }
    }

    /** {system allocations, Java bytes per step} over STEPS training steps after 3 warm-up steps. */
    static long[] trainPerStep(Model model, String defenseName, int n, int channels, int size) {
        Backend be = Backends.defaultBackend();
        Defense defense = Defenses.create(defenseName, new DefenseConfig(8 / 255.0, 10, 2 / 255.0, 6.0, 2.0, 1.0, 8, 5e-3, 0),
                null, false);
        try (MemoryScope s = MemoryScope.open(); Sgd opt = new Sgd(model.namedParameters(), 0.01, 0.9, 5e-4)) {
            Tensor[] d = batch(be, n, channels, size);
            long step = 0;
            for (; step < 3; step++) {
                defense.beginStep(step);
                try (MemoryScope st = MemoryScope.open()) {
                    defense.step(model, opt, d[0], d[1], 0);
                }
            }
            long sys0 = systemAllocations(be), j0 = javaBytes();
            for (int i = 0; i < STEPS; i++, step++) {
                defense.beginStep(step);
                try (MemoryScope st = MemoryScope.open()) {
                    defense.step(model, opt, d[0], d[1], 0);
                }
            }
            return new long[] {systemAllocations(be) - sys0, (javaBytes() - j0) / STEPS};
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"nat", "pgd-at"})
    void trainingStepsAllocateNothingNativeAndOnlyBookkeepingOnTheHeap(String defense) {
        long bound = defense.equals("nat") ? NAT_STEP_BOUND_BYTES : PGD_AT_STEP_BOUND_BYTES;
        long[] small, large;
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0))) {
            small = trainPerStep(model, defense, 4, 1, 28);
        }
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0))) {
            large = trainPerStep(model, defense, 32, 1, 28);
        }
        System.out.println(defense + " step: system allocations " + small[0] + "/" + large[0] + ", Java bytes per step " + small[1] + " (batch 4), " + large[1] + " (batch 32)");
        assertEquals(0, small[0], defense + ": system allocations in training steps after warm-up (batch 4)");
        assertEquals(0, large[0], defense + ": system allocations in training steps after warm-up (batch 32)");
        assertTrue(large[1] <= bound, defense + ": Java bytes per training step " + large[1] + " > " + bound);
        assertTrue(Math.abs(large[1] - small[1]) <= BATCH_SLACK_BYTES * (defense.equals("nat") ? 1 : 2),
                defense + ": Java bytes per step grow with the batch: " + small[1] + " at batch 4, " + large[1] + " at 32");
    }

    /**
     * Control: the two instruments see what the other tests forbid. A step that copies its input
     * to the host differs by more than the slack between batch 4 and batch 32, and a step that
     * asks for a buffer of a size the pool has not seen reaches the system allocator.
     */
    @org.junit.jupiter.api.Test
    void theInstrumentsSeeAHostCopyAndAPoolMiss() {
        Backend be = Backends.defaultBackend();
        long[] perStep = new long[2];
        int[] sizes = {4, 32};
        try (MemoryScope s = MemoryScope.open()) {
            for (int k = 0; k < 2; k++) {
                Tensor[] d = batch(be, sizes[k], 1, 28);
                for (int i = 0; i < 3; i++) Backends.toFloatArray(d[0]);
                long j0 = javaBytes();
                for (int i = 0; i < STEPS; i++) Backends.toFloatArray(d[0]);
                perStep[k] = (javaBytes() - j0) / STEPS;
            }
            assertTrue(perStep[1] - perStep[0] > BATCH_SLACK_BYTES, "a per-step host copy must exceed the slack: "
                    + perStep[0] + " B at batch 4, " + perStep[1] + " B at batch 32");
            long sys0 = systemAllocations(be);
            for (int i = 0; i < STEPS; i++) {
                try (MemoryScope step = MemoryScope.open()) {
                    be.empty(DType.FLOAT32, Shape.of(1_000_003 + 64L * i));   // a new size class each step
                }
            }
            assertEquals(STEPS, systemAllocations(be) - sys0, "every new size must reach the system allocator");
        }
    }

    /** A model with batch norm and residual fan-out (autograd's gradient copies, BN's saved statistics). */
    @org.junit.jupiter.api.Test
    void residualNetworkTrainingStepsAllocateNothingNative() {
        try (ResNet18 model = new ResNet18(3, 10, 8, Init.seeded(0))) {
            long[] r = trainPerStep(model, "nat", 4, 3, 16);
            assertEquals(0, r[0], "ResNet-18 (width 8) NAT steps: system allocations after warm-up");
        }
    }
}
