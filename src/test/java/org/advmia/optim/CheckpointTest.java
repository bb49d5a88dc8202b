package org.advmia.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Activation;
import org.advmia.nn.Dropout;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.nn.Sequential;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming from a checkpoint reproduces an uninterrupted run bit for bit: training N steps
 * straight through and training N/2, checkpointing, restoring into a freshly built model and
 * optimizer (different initial weights and dropout seeds) and training N/2 more end with identical
 * weights and optimizer state. The run uses dropout, a learning-rate schedule and a seeded data
 * stream, so every piece of state the checkpoint carries is exercised.
 */
class CheckpointTest {
    static final int STEPS = 12, BATCH = 8, CLASSES = 4;

    @TempDir
    Path dir;

    /** Two linear layers with dropout between them, on 1x4x4 inputs. */
    static final class TinyNet extends Model {
        private final Sequential net;

        TinyNet(int hidden, long seed) {
            super("tinynet", 1, CLASSES, Task.CLASSIFICATION);
            Init init = Init.seeded(seed);
            net = register("net", new Sequential(new Linear(16, hidden, init), Activation.relu(), new Dropout(0.3, init),
                    new Linear(hidden, CLASSES, init)));
        }

        Dropout dropout() {
            return (Dropout) net.get(2);
        }

        @Override
        public Variable forward(Variable x) {
            return net.forward(x);
        }
    }

    interface OptimizerFactory {
        Optimizer make(Model m);
    }

    static final OptimizerFactory SGD = m -> new Sgd(m.namedParameters(), 0.05, 0.9, 0, 5e-4, false);
    static final OptimizerFactory ADAMW = m -> Adam.adamW(m.namedParameters(), 1e-3, 1e-2);

    /** Steps [from, to): a batch from the data stream, the scheduled rate, one update. */
    static void train(Model model, Optimizer opt, LrSchedule schedule, Generator data, long from, long to) {
        Backend b = Backends.defaultBackend();
        for (long s = from; s < to; s++) {
            try (MemoryScope scope = MemoryScope.open()) {
                Tensor x = b.empty(DType.FLOAT32, Shape.of(BATCH, 1, 4, 4));
                data.uniform(x, 0, 1);
                Tensor u = b.empty(DType.FLOAT64, Shape.of(BATCH));
                data.uniform(u, 0, 1);
                float[] labels = new float[BATCH];
                double[] uh = Backends.toDoubleArray(u);
                for (int i = 0; i < BATCH; i++) labels[i] = (float) Math.floor(uh[i] * CLASSES);
                schedule.apply(opt, s);
                opt.zeroGrad();
                Variable loss = Losses.crossEntropy(model.logits(Variable.constant(x)), Backends.tensor(labels, BATCH));
                loss.backward();
                opt.step();
            }
        }
    }

    static Map<String, float[]> snapshot(Model m, Optimizer opt) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.stateDict().forEach((k, v) -> out.put("model." + k, Backends.toFloatArray(v)));
        opt.state().forEach((k, v) -> out.put("optim." + k, Backends.toFloatArray(v)));
        return out;
    }

    void resumeIsBitIdentical(OptimizerFactory factory, LrSchedule schedule) throws Exception {
        Map<String, float[]> straight;
        long straightDropoutOffset;
        try (TinyNet m = new TinyNet(32, 7); Optimizer opt = factory.make(m)) {
            train(m, opt, schedule, new Generator(99), 0, STEPS);
            straight = snapshot(m, opt);
            straightDropoutOffset = m.dropout().generator().offset();
        }
        assertTrue(straightDropoutOffset > 0, "dropout drew masks");

        Path file = dir.resolve("ck.safetensors");
        long halfSeed;
        try (TinyNet m = new TinyNet(32, 7); Optimizer opt = factory.make(m)) {
            Generator data = new Generator(99);
            train(m, opt, schedule, data, 0, STEPS / 2);
            new Checkpoint(1, STEPS / 2, data.seed(), data.offset(), Map.of("run", "resume-test")).save(file, m, opt);
            halfSeed = m.dropout().generator().seed();
        }

        // A different init seed gives different weights and a different dropout seed, so only the
        // checkpoint can make this run continue the first one.
        try (TinyNet m = new TinyNet(32, 12345); Optimizer opt = factory.make(m)) {
            assertNotEquals(halfSeed, m.dropout().generator().seed());
            opt.setLr(0.7);
            Checkpoint ck = Checkpoint.restore(file, m, opt);
            assertEquals(1, ck.epoch());
            assertEquals(STEPS / 2, ck.scheduleStep());
            assertEquals(Map.of("run", "resume-test"), ck.metadata());
            assertEquals(STEPS / 2, opt.stepCount());
            assertEquals(schedule.lr(STEPS / 2 - 1), opt.lr(), "the rate in force when saved");
            Generator data = new Generator(ck.dataSeed());
            data.setOffset(ck.dataOffset());
            train(m, opt, schedule, data, ck.scheduleStep(), STEPS);
            Map<String, float[]> resumed = snapshot(m, opt);
            assertEquals(straight.keySet(), resumed.keySet());
            for (String k : straight.keySet()) assertArrayEquals(straight.get(k), resumed.get(k), k);
            assertEquals(straightDropoutOffset, m.dropout().generator().offset());
        }
    }

    @Test
    void sgdMomentumWithOneCycleResumesExactly() throws Exception {
        resumeIsBitIdentical(SGD, new OneCycle(0.5, STEPS));
    }

    @Test
    void adamWWithCosineResumesExactly() throws Exception {
        resumeIsBitIdentical(ADAMW, new Cosine(1e-2, STEPS, 1e-4));
    }

    @Test
    void rejectsMissingTruncatedAndMismatchedFiles() throws Exception {
        Path file = dir.resolve("ck.safetensors");
        try (TinyNet m = new TinyNet(32, 1); Optimizer opt = SGD.make(m)) {
            train(m, opt, new Step(0.1, 5, 0.5), new Generator(3), 0, 2);
            new Checkpoint(0, 2, 3, 0, null).save(file, m, opt);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoint.restore(dir.resolve("absent.safetensors"), m, opt));
            assertTrue(e.getMessage().contains("no such file"), e.getMessage());

            byte[] all = Files.readAllBytes(file);
            Path cut = dir.resolve("cut.safetensors");
            Files.write(cut, Arrays.copyOf(all, all.length - 100));
            e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.restore(cut, m, opt));
            assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("cut.safetensors"), e.getMessage());
            Files.write(cut, Arrays.copyOf(all, 5));
            e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.restore(cut, m, opt));
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());

            Path plain = dir.resolve("weights.safetensors");
            SafeTensors.save(m, plain, null);
            e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.restore(plain, m, opt));
            assertTrue(e.getMessage().contains("format"), e.getMessage());
        }
        try (TinyNet other = new TinyNet(16, 1); Optimizer opt = SGD.make(other)) {
            float[] before = Backends.toFloatArray(other.stateDict().get("net.0.weight"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoint.restore(file, other, opt));
            assertTrue(e.getMessage().contains("net.0.weight has shape"), e.getMessage());
            assertArrayEquals(before, Backends.toFloatArray(other.stateDict().get("net.0.weight")), "model unchanged");
        }
        try (TinyNet m = new TinyNet(32, 1); Optimizer opt = ADAMW.make(m)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoint.restore(file, m, opt));
            assertTrue(e.getMessage().contains("org.advmia.optim.Sgd state"), e.getMessage());
        }
    }
}
