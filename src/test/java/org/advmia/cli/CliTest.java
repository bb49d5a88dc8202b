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
        assertEquals("none", j.get("targeted"));

    }

    /**
     * Targeted attacks from the CLI, on a model that has really learned: four classes of stripes
     * (horizontal, vertical, diagonal, a blob) with noise, written as an IDX folder, which SmallCNN
     * learns in 15 short epochs (3 s; validation accuracy 1.0 when measured; the synthetic lesions
     * need thousands of images for that).
     */
    @Test
    @SuppressWarnings("unchecked")
    void targetedAttacksFromTheCli() throws Exception {
        String data = "idx:" + stripesIdx(dir.resolve("stripes"), 480, 60) + "?classes=4&val=60";
        Path w = dir.resolve("stripes.safetensors");
        Run t = run("train", "--data", data, "--model", "smallcnn", "--defense", "nat", "--epochs", "15", "--optimizer", "adam", "--lr", "0.002", "--batch", "32",
                "--seed", "1", "--out", w.toString(), "--quiet");
        assertEquals(0, t.code(), t.err());
        // Targeted: at a large eps PGD reaches (label + 1) mod K on most correctly classified samples
        // (at eps 0.3 it reached 0.72: the stripes' contrast goes up to 0.8, so some need more).
        // Reaching a chosen class implies misclassification, so the untargeted rate bounds it from above.
        Run tr = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.5", "--steps", "30", "--step-size", "0.04", "--targeted", "next", "--json");
        assertEquals(0, tr.code(), tr.err());
        Map<String, Object> tj = (Map<String, Object>) Json.parse(tr.out().strip(), "targeted attack output");
        assertEquals("next", tj.get("targeted"));
        double hit = ((Number) tj.get("attack_success_rate")).doubleValue();
        double any = ((Number) tj.get("untargeted_success_rate")).doubleValue();
        System.out.printf("targeted pgd (next) at eps 0.5: targeted success %.3f, untargeted %.3f%n", hit, any);
        assertTrue(hit >= 0.8 && hit <= any + 1e-12, "targeted success " + hit + ", untargeted " + any + ": " + tr.out());

        Run bad = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "deepfool",
                "--eps", "0.1", "--targeted", "next");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("--targeted") && bad.err().contains("Targeted attacks: fgsm"), bad.err());
        bad = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.1", "--targeted", "99");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("--targeted 99") && bad.err().contains("classes"), bad.err());
        bad = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.1", "--targeted", "sideways");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("least-likely"), bad.err());

        // Preprocessing defenses are evaluated adaptively, and the output says how: BPDA through
        // bit-depth reduction (deterministic, so no EOT), BPDA + EOT-10 through a random transform.
        Run pre = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.3", "--steps", "10", "--preprocess", "bit-depth:3", "--json");
        assertEquals(0, pre.code(), pre.err());
        Map<String, Object> pj = (Map<String, Object>) Json.parse(pre.out().strip(), "preprocessed attack output");
        assertEquals("bit-depth:3", pj.get("preprocess"));
        assertTrue(((String) pj.get("adaptive_evaluation")).startsWith("BPDA"), pj.get("adaptive_evaluation").toString());
        assertEquals(1, ((Number) pj.get("eot_samples")).intValue());
        // BPDA sees through the quantiser: at eps 0.3 the defended model falls like the undefended one,
        // within 6 of the 60 images, and to at most 0.2 (against a clean accuracy of 1.0). How many
        // images of this 15-epoch model stay robust moves with float rounding in training (BPDA: 11 to
        // 15 of 60 across Winograd changes, the undefended model with it), so a failure of the fixed
        // bound alone needs the printed undefended rate to tell a weaker model from a broken BPDA.
        Run undefended = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.3", "--steps", "10", "--json");
        assertEquals(0, undefended.code(), undefended.err());
        double plain = ((Number) ((Map<String, Object>) Json.parse(undefended.out().strip(), "undefended attack output"))
                .get("robust_accuracy")).doubleValue();
        System.out.printf("pgd eps 0.3: undefended robust %.3f, BPDA through bit-depth-3 %.3f%n", plain,
                ((Number) pj.get("robust_accuracy")).doubleValue());
        double bpda = ((Number) pj.get("robust_accuracy")).doubleValue();
        assertTrue(bpda <= plain + 0.1 && bpda <= 0.2, "undefended " + plain + ", BPDA " + pre.out());
        Run eot = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "fgsm",
                "--eps", "0.1", "--preprocess", "random-resize-pad:0.8,median:3", "--limit", "8", "--json");
        assertEquals(0, eot.code(), eot.err());
        Map<String, Object> ej = (Map<String, Object>) Json.parse(eot.out().strip(), "EOT attack output");
        assertEquals(10, ((Number) ej.get("eot_samples")).intValue());
        String how = (String) ej.get("adaptive_evaluation");
        assertTrue(how.contains("EOT over 10") && how.contains("median"), how);
        bad = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.1", "--preprocess", "jpeg:500");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("--preprocess 'jpeg:500'") && bad.err().contains("1..100"), bad.err());
        bad = run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--attack", "pgd",
                "--eps", "0.1", "--preprocess", "blur");
        assertTrue(bad.err().contains("Valid: jpeg"), bad.err());
    }

    /** An IDX folder of 16 x 16 stripes: class 0 horizontal, 1 vertical, 2 diagonal, 3 a centred blob. */
    static Path stripesIdx(Path dir, int nTrain, int nTest) throws java.io.IOException {
        Files.createDirectories(dir);
        java.util.Random r = new java.util.Random(11);
        int size = 16;
        for (String split : new String[] {"train", "t10k"}) {
            int n = split.equals("train") ? nTrain : nTest;
            byte[] im = new byte[n * size * size], lb = new byte[n];
            for (int i = 0; i < n; i++) {
                int c = i % 4, phase = r.nextInt(4);
                lb[i] = (byte) c;
                double contrast = 0.4 + 0.4 * r.nextDouble();
                for (int h = 0; h < size; h++) {
                    for (int x = 0; x < size; x++) {
                        double v = switch (c) {
                            case 0 -> (h + phase) % 4 < 2 ? 1 : 0;
                            case 1 -> (x + phase) % 4 < 2 ? 1 : 0;
                            case 2 -> (h + x + phase) % 4 < 2 ? 1 : 0;
                            default -> Math.exp(-((h - 7.5) * (h - 7.5) + (x - 7.5) * (x - 7.5)) / 12);
                        };
                        double p = 0.5 + contrast * (v - 0.5) + 0.08 * r.nextGaussian();
                        im[(i * size + h) * size + x] = (byte) Math.round(255 * Math.min(1, Math.max(0, p)));
                    }
                }
            }
            Files.write(dir.resolve(split + "-images-idx3-ubyte"), idxBytes(new int[] {n, size, size}, im));
            Files.write(dir.resolve(split + "-labels-idx1-ubyte"), idxBytes(new int[] {n}, lb));
        }
        return dir;
    }

    /** IDX: two zero bytes, type 0x08 (unsigned byte), the rank, big-endian extents, the data. */
    private static byte[] idxBytes(int[] dims, byte[] data) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.put((byte) 0).put((byte) 0).put((byte) 8).put((byte) dims.length);
        for (int d : dims) b.putInt(d);
        b.put(data);
        return b.array();
    }

    /**
     * Segmentation adversarial training end to end: U-Net with PGD-AT (PGD on pixel-wise CE, Adam)
     * from the CLI, its weights loaded by `advmia attack`, Dice and mIoU under PGD-Dice in the JSON,
     * and a targeted "everything is background" attack scored against its target mask.
     */
    @Test
    @SuppressWarnings("unchecked")
    void segmentationAdversarialTrainingFromTheCli() {
        String seg = "synthetic:lesion-seg?size=16&channels=1&n=96&val=16&test=16&seed=4";
        Path w = dir.resolve("unet.safetensors");
        Run t = run("train", "--data", seg, "--model", "unet", "--defense", "pgd-at", "--eps", "4/255", "--epochs", "2",
                "--batch", "16", "--steps", "2", "--seed", "2", "--val-limit", "16", "--out", w.toString(), "--quiet");
        assertEquals(0, t.code(), t.err());
        assertTrue(Files.exists(w), "weights written");
        Run a = run("attack", "--data", seg, "--model", "unet", "--weights", w.toString(), "--attack", "pgd-dice",
                "--eps", "4/255", "--steps", "5", "--json");
        assertEquals(0, a.code(), a.err());
        Map<String, Object> j = (Map<String, Object>) Json.parse(a.out().strip(), "segmentation attack output");
        assertEquals("segmentation", j.get("task"));
        for (String k : new String[] {"dice_clean", "dice_adversarial", "miou_clean", "miou_adversarial"}) {
            double v = ((Number) j.get(k)).doubleValue();
            assertTrue(v >= 0 && v <= 1, k + " = " + v);
        }
        assertTrue(((Number) j.get("max_linf")).doubleValue() <= 4 / 255.0 + 1e-6);
        Run tg = run("attack", "--data", seg, "--model", "unet", "--weights", w.toString(), "--attack", "pgd-ce",
                "--eps", "4/255", "--steps", "5", "--targeted", "0", "--json");
        assertEquals(0, tg.code(), tg.err());
        Map<String, Object> tj = (Map<String, Object>) Json.parse(tg.out().strip(), "targeted segmentation output");
        assertEquals("0", tj.get("targeted"));
        double hit = ((Number) tj.get("attack_success_rate")).doubleValue();
        assertTrue(hit >= 0 && hit <= 1, "targeted success " + hit);
        Run bad = run("attack", "--data", seg, "--model", "unet", "--weights", w.toString(), "--attack", "pgd-ce",
                "--eps", "4/255", "--targeted", "random");
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains("segmentation"), bad.err());
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
