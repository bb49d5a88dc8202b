package org.advmia.defense.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.advmia.attack.Attack;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.attack.TrainedTinyNet;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Conv2d;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Linear;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Saving and loading fitted detectors: a loaded detector scores float for float like the fitted
 * one (and its state matters: a changed bias moves every score by exactly that change), and
 * every file that does not belong to the model, or is damaged, is refused with a message naming
 * the file and what was expected.
 */
class DetectorFileTest {
    private static final Map<String, Detector> FITTED = new HashMap<>();
    private static Tensor fitClean, fitAdversarial;

    @TempDir
    Path dir;

    /** Clean fit inputs (the first 60 training inputs) and their PGD examples, crafted once. */
    private static synchronized Detector fitted(String name) {
        if (fitClean == null) {
            Tensor x = DetectTinyNet.Shared.TRAIN_X.narrow0(0, 60), y = DetectTinyNet.Shared.TRAIN_Y.narrow0(0, 60);
            Attack pgd = Attacks.create("pgd", DetectTinyNet.Shared.NET, 0.15,
                    new Attacks.Overrides(5, null, true, null, 1L, null, null, null));
            try (MemoryScope s = MemoryScope.open(); AttackResult r = pgd.run(x, y, null)) {
                fitAdversarial = copy(r.adversarial());
                fitClean = copy(x);
            }
        }
        return FITTED.computeIfAbsent(name, n -> {
            Detector d = Detectors.create(n, 3);
            d.fit(DetectTinyNet.Shared.NET, DetectTinyNet.Shared.TRAIN_X, DetectTinyNet.Shared.TRAIN_Y, fitClean,
                    fitAdversarial);
            return d;
        });
    }

    private static Tensor copy(Tensor t) {
        return Backends.tensor(t.dtype(), Backends.toDoubleArray(t), t.shape().toArray()).keep();
    }

    private static Tensor testBatch() {
        return DetectTinyNet.Shared.TEST_X.narrow0(0, 40);
    }

    @ParameterizedTest
    @ValueSource(strings = {"lid", "mahalanobis", "kd-bu"})
    void loadedDetectorScoresExactlyLikeTheFittedOne(String name) throws IOException {
        Detector d = fitted(name);
        Path f = dir.resolve(name + ".safetensors");
        d.save(f, Map.of("fit_attack", "pgd"));
        try (MemoryScope s = MemoryScope.open(); Detector back = Detectors.load(f, DetectTinyNet.Shared.NET)) {
            assertEquals(name, back.name());
            assertTrue(back.isFitted());
            double[] want = d.score(testBatch()), got = back.score(testBatch());
            assertArrayEquals(want, got, name + ": scores after a round trip");
            assertTrue(Arrays.stream(want).max().getAsDouble() > Arrays.stream(want).min().getAsDouble(),
                    name + ": scores vary across inputs, so equality says something");
            // The differentiable score (what the adaptive attack descends) agrees as well.
            Tensor x = DetectTinyNet.Shared.TEST_X.narrow0(0, 8);
            float[] a, b;
            try (FeatureDetector.Frozen fr = new FeatureDetector.Frozen(DetectTinyNet.Shared.NET)) {
                a = Backends.toFloatArray(d.score(Variable.constant(x)).value());
                b = Backends.toFloatArray(back.score(Variable.constant(x)).value());
            }
            assertArrayEquals(a, b, name + ": differentiable scores after a round trip");
            assertEquals("pgd", back.notes().get("fit_attack"));
            assertEquals("60", back.notes().get("fit_clean"));
            assertEquals(d.notes().get("fit_adversarial"), back.notes().get("fit_adversarial"));
        }
    }

    @Test
    void theSavedStateIsWhatScores() throws IOException {
        Detector d = fitted("lid");
        Path f = dir.resolve("lid.safetensors");
        d.save(f);
        Path g = dir.resolve("shifted.safetensors");
        rewrite(f, g, t -> {
            double[] bias = Backends.toDoubleArray(t.get("regression.bias"));
            t.put("regression.bias", Backends.tensor(DType.FLOAT64, new double[] {bias[0] + 0.5}, 1)).close();
        });
        try (MemoryScope s = MemoryScope.open(); Detector back = Detectors.load(g, DetectTinyNet.Shared.NET)) {
            double[] want = d.score(testBatch()), got = back.score(testBatch());
            for (int i = 0; i < want.length; i++) assertEquals(want[i] + 0.5, got[i], 1e-9);
        }
    }

    @Test
    void refusesAnotherModel() throws IOException {
        Path f = dir.resolve("lid.safetensors");
        fitted("lid").save(f);
        try (Model other = new OtherNet("other-net", 16, 1)) {
            refused(f, other, "fitted on model 'detect-tinynet'");
        }
        // Same name, wider feature map: the feature widths give it away.
        try (Model wide = new OtherNet("detect-tinynet", 24, 1)) {
            refused(f, wide, "feature widths");
        }
        // Same architecture, other weights: the statistics describe the fitted weights only.
        try (Model untrained = new DetectTinyNet(Init.seeded(99))) {
            refused(f, untrained, "other weights");
        }
    }

    @Test
    void refusesDamagedFiles() throws IOException {
        Path f = dir.resolve("lid.safetensors");
        fitted("lid").save(f);
        Model net = DetectTinyNet.Shared.NET;

        Path missing = dir.resolve("missing.safetensors");
        rewrite(f, missing, t -> t.remove("lid.reference.1").close());
        refused(missing, net, "'lid.reference.1' is missing");

        Path extra = dir.resolve("extra.safetensors");
        rewrite(f, extra, t -> t.put("lid.extra", Backends.tensor(DType.FLOAT64, new double[] {1, 2}, 2)));
        refused(extra, net, "unknown detector tensor(s) lid.extra");

        Path shape = dir.resolve("shape.safetensors");
        rewrite(f, shape, t -> {
            Tensor ref = t.get("lid.reference.2");
            long[] s = ref.shape().toArray();
            t.put("lid.reference.2", Backends.tensor(DType.FLOAT64, new double[(int) (s[0] * (s[1] + 1))], s[0], s[1] + 1));
            ref.close();
        });
        refused(shape, net, "'lid.reference.2' has shape");

        Path nan = dir.resolve("nan.safetensors");
        rewrite(f, nan, t -> t.put("regression.bias", Backends.tensor(DType.FLOAT64, new double[] {Double.NaN}, 1)).close());
        refused(nan, net, "holds NaN");

        Path unknown = dir.resolve("unknown.safetensors");
        rewriteMetadata(f, unknown, m -> m.put("detector", "odin"));
        refused(unknown, net, "unknown detector 'odin'. Valid detectors: lid, mahalanobis, kd-bu");

        Path k = dir.resolve("k.safetensors");
        rewriteMetadata(f, k, m -> m.put("k", "-3"));
        refused(k, net, "metadata 'k' is '-3', expected an integer >= 1");

        byte[] all = Files.readAllBytes(f);
        for (int keep : new int[] {all.length - 8, all.length / 2, 12, 3, 0}) {
            Path cut = dir.resolve("cut" + keep + ".safetensors");
            Files.write(cut, Arrays.copyOf(all, keep));
            refused(cut, net, "");
        }
        Path garbage = dir.resolve("garbage.safetensors");
        byte[] noise = new byte[256];
        new java.util.Random(5).nextBytes(noise);
        Files.write(garbage, noise);
        refused(garbage, net, "");

        Path weights = dir.resolve("weights.safetensors");
        SafeTensors.save(net, weights, Map.of("model", net.name()));
        refused(weights, net, "not an advmia detector file");

        refused(dir.resolve("absent.safetensors"), net, "no such file");
    }

    @Test
    void unfittedDetectorsAreNotSaved() {
        try (Detector d = Detectors.create("kd-bu", 1)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.save(dir.resolve("x.safetensors")));
            assertTrue(e.getMessage().contains("not fitted"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("x.safetensors")));
        }
    }

    private static void refused(Path file, Model model, String why) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Detectors.load(file, model).close(),
                file + " must be refused");
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(why), "says " + why + ": " + e.getMessage());
    }

    /** Copies a detector file with its tensors (as float64) edited and its metadata unchanged. */
    private static void rewrite(Path from, Path to, Consumer<LinkedHashMap<String, Tensor>> edit) throws IOException {
        try (SafeTensors.Contents c = SafeTensors.read(from, DType.FLOAT64)) {
            edit.accept(c.tensors);
            SafeTensors.write(to, c.tensors, c.metadata);
        }
    }

    /** Copies a detector file with its metadata edited. */
    private static void rewriteMetadata(Path from, Path to, Consumer<LinkedHashMap<String, String>> edit) throws IOException {
        try (SafeTensors.Contents c = SafeTensors.read(from, DType.FLOAT64)) {
            edit.accept(c.metadata);
            SafeTensors.write(to, c.tensors, c.metadata);
        }
    }

    /** A DetectTinyNet-shaped classifier with a chosen name and feature-map width. */
    private static final class OtherNet extends Model implements FeatureMaps {
        private final Conv2d conv1, conv2;
        private final Linear fc;

        OtherNet(String name, int width, long seed) {
            super(name, 1, TrainedTinyNet.CLASSES, Task.CLASSIFICATION);
            Init init = Init.seeded(seed);
            conv1 = register("conv1", new Conv2d(1, 8, 3, 1, init));
            conv2 = register("conv2", new Conv2d(8, width, 3, 1, init));
            fc = register("fc", new Linear(width, TrainedTinyNet.CLASSES, init));
        }

        @Override
        public Variable forward(Variable x) {
            return head(features(x));
        }

        @Override
        public Variable features(Variable x) {
            return Ops.relu(conv2.forward(NnOps.maxPool2d(Ops.relu(conv1.forward(x)), 2, 2, 0, false)));
        }

        @Override
        public Variable head(Variable map) {
            long n = map.shape().dim(0), c = map.shape().dim(1);
            return fc.forward(Ops.mean(Ops.reshape(map, n, c, -1), 2, false));
        }
    }
}
