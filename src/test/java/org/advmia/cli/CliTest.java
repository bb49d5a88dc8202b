package org.advmia.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.advmia.backend.Backends;
import org.advmia.nn.SafeTensors;
import org.advmia.tensor.Tensor;
import org.advmia.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command-line contract: train then attack on the synthetic dataset, JSON keys, exit codes, resume. */
class CliTest {
    static final String DATA = "synthetic:lesions?size=16&channels=1&n=240&val=60&test=60&seed=3";

    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    @SuppressWarnings("unchecked")
    void trainThenAttackWithJson() {
        Path w = dir.resolve("m.safetensors");
        Run t = run("train", "--data", DATA, "--model", "smallcnn", "--defense", "nat", "--epochs", "2", "--batch", "32",
                "--seed", "1", "--out", w.toString(), "--quiet");
        assertEquals(0, t.code(), t.err());
        assertTrue(Files.exists(w) && Files.exists(dir.resolve("m.safetensors.ckpt")), "weights and checkpoint written");
        Run a = run("attack", "--data", DATA, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "8/255", "--limit", "40", "--json");
        assertEquals(0, a.code(), a.err());
        String[] lines = a.out().strip().split("\n");
        assertEquals(1, lines.length, "--json prints exactly one line on stdout: " + a.out());
        Map<String, Object> j = (Map<String, Object>) Json.parse(lines[0], "attack output");
        for (String k : new String[] {"clean_accuracy", "robust_accuracy", "attack_success_rate", "max_linf", "mean_l2",
            "seconds", "images_per_second", "per_sample_success", "gradient_evaluations", "queries"}) {
            assertTrue(j.containsKey(k), "missing key " + k);
        }
        double clean = ((Number) j.get("clean_accuracy")).doubleValue(), robust = ((Number) j.get("robust_accuracy")).doubleValue();
        assertTrue(0 <= robust && robust <= clean && clean <= 1, "0 <= robust <= clean <= 1: " + robust + ", " + clean);
        assertTrue(((Number) j.get("max_linf")).doubleValue() <= 8 / 255.0 + 1e-6);
        assertEquals(40, ((java.util.List<?>) j.get("per_sample_success")).size());
    }

    @Test
    void badInputGetsUsageErrorsThatNameTheProblem() {
        Run r = run("train", "--data", DATA, "--model", "smallcnn", "--defense", "no-such", "--epochs", "1", "--out", "x");
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("pgd-at") && r.err().contains("awp"), r.err());
        r = run("attack", "--data", DATA, "--model", "smallcnn", "--weights", "w", "--attack", "nope", "--eps", "1/255");
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("Valid attacks: fgsm"), r.err());
        r = run("attack", "--data", DATA, "--bogus", "1");
        assertTrue(r.err().contains("unknown option '--bogus'") && r.err().contains("--eps"), r.err());
        r = run("train", "--data", DATA, "--model", "unet", "--defense", "nat", "--epochs", "1", "--out", "x");
        assertTrue(r.err().contains("segmentation model") && r.err().contains("classification dataset"), r.err());
        r = run("attack", "--data", "nosuchkind:abc", "--model", "smallcnn", "--weights", "w", "--attack", "pgd", "--eps", "0.1");
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("synthetic") && r.err().contains("medmnist"), r.err());
        assertEquals(Main.USAGE, run("bogus").code());
        assertEquals(Main.OK, run("--help").code());
        assertEquals(Main.OK, run("train", "--help").code());
        assertEquals(Main.OK, run("attack", "--help").code());
    }

    @Test
    void resumeReachesTheUninterruptedResult() throws Exception {
        Path full = dir.resolve("full.safetensors"), part = dir.resolve("part.safetensors");
        String[] common = {"train", "--data", DATA, "--model", "smallcnn", "--defense", "pgd-at", "--eps", "8/255", "--batch", "48",
            "--seed", "5", "--steps", "2", "--val-limit", "30", "--quiet"};
        Run first = run(concat(common, "--epochs", "3", "--out", full.toString()));
        assertEquals(0, first.code(), first.err());
        // Interrupted run: stop after 2 of 3 epochs (same schedule length), then resume.
        assertEquals(0, run(concat(common, "--epochs", "3", "--out", part.toString(), "--stop-after", "2")).code());
        Run resumed = run(concat(common, "--epochs", "3", "--out", part.toString(), "--resume"));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("(resumed)"), resumed.out());
        try (SafeTensors.Contents a = SafeTensors.read(Path.of(full + ".ckpt")); SafeTensors.Contents b = SafeTensors.read(Path.of(part + ".ckpt"))) {
            assertEquals(a.tensors.keySet(), b.tensors.keySet());
            for (Map.Entry<String, Tensor> e : a.tensors.entrySet()) {
                assertArrayEquals(Backends.toFloatArray(e.getValue()), Backends.toFloatArray(b.get(e.getKey())),
                        "resumed run differs in " + e.getKey());
            }
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
