package org.advmia.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.advmia.attack.TrainedTinyNet;
import org.advmia.backend.Backends;
import org.advmia.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code advmia attack --detector}: detection keys in the JSON next to the unchanged ones, the
 * adaptive attack by name, and the usage errors. The data is the 4-class stripes task of
 * TrainedTinyNet written as 16 x 16 IDX files, on which SmallCNN trains to a useful accuracy in seconds
 * (on the 16 px synthetic lesions it collapses to one class in a test-sized budget, and a
 * collapsed model gives the attack nothing to succeed on).
 */
class DetectorCliTest {
    @TempDir
    Path dir;

    private Path stripes() throws IOException {
        Path d = dir.resolve("stripes");
        Files.createDirectories(d);
        write(d, "train", TrainedTinyNet.data(600, 41));
        write(d, "t10k", TrainedTinyNet.data(120, 42));
        return d;
    }

    private static void write(Path d, String split, org.advmia.tensor.Tensor[] data) throws IOException {
        float[] x = Backends.toFloatArray(data[0]), y = Backends.toFloatArray(data[1]);
        // SmallCNN needs 16 x 16: the 12 x 12 patterns sit in the middle of a mid-grey frame.
        int n = y.length, s = TrainedTinyNet.SIZE, out = 16, pad = (out - s) / 2;
        ByteBuffer im = ByteBuffer.allocate(16 + n * out * out).putInt(0x803).putInt(n).putInt(out).putInt(out);
        for (int i = 0; i < n; i++) {
            for (int h = 0; h < out; h++) {
                for (int c = 0; c < out; c++) {
                    int hh = h - pad, cc = c - pad;
                    float v = hh >= 0 && hh < s && cc >= 0 && cc < s ? x[i * s * s + hh * s + cc] : 0.5f;
                    im.put((byte) Math.round(v * 255));
                }
            }
        }
        ByteBuffer lb = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
        for (float v : y) lb.put((byte) v);
        Files.write(d.resolve(split + "-images-idx3-ubyte"), im.array());
        Files.write(d.resolve(split + "-labels-idx1-ubyte"), lb.array());
    }

    @Test
    @SuppressWarnings("unchecked")
    void detectorKeysAndTheAdaptiveAttack() throws IOException {
        String data = "idx:" + stripes() + "?classes=4&val=60";
        Path w = dir.resolve("m.safetensors");
        CliTest.Run t = CliTest.run("train", "--data", data, "--model", "smallcnn", "--defense", "nat", "--epochs", "8", "--optimizer", "adam", "--lr", "0.002",
                "--batch", "32", "--seed", "1", "--out", w.toString(), "--quiet");
        assertEquals(0, t.code(), t.err());
        String[] common = {"--data", data, "--model", "smallcnn", "--weights", w.toString(), "--eps", "0.15", "--limit", "80",
            "--fit-samples", "200", "--json"};
        CliTest.Run a = CliTest.run(concat(new String[] {"attack", "--attack", "pgd", "--detector", "mahalanobis"}, common));
        assertEquals(0, a.code(), a.err());
        Map<String, Object> j = (Map<String, Object>) Json.parse(a.out().strip(), "attack output");
        for (String k : new String[] {"attack", "eps", "norm", "clean_accuracy", "robust_accuracy", "attack_success_rate",
            "max_linf", "mean_l2", "seconds", "images_per_second", "per_sample_success"}) {
            assertTrue(j.containsKey(k), "the existing key " + k + " is kept");
        }
        assertEquals("pgd", j.get("attack"));
        assertEquals("mahalanobis", j.get("detector"));
        Map<String, Object> det = (Map<String, Object>) j.get("detection");
        assertEquals("pgd", det.get("fit_attack"));
        for (String part : new String[] {"attack", "adaptive"}) {
            Map<String, Object> q = (Map<String, Object>) det.get(part);
            double auroc = ((Number) q.get("auroc")).doubleValue();
            assertTrue(auroc >= 0 && auroc <= 1, part + " auroc " + auroc);
            assertTrue(((Number) q.get("clean")).intValue() > 0, part + ": " + q);
        }

        CliTest.Run ad = CliTest.run(concat(new String[] {"attack", "--attack", "pgd-adaptive-detector", "--detector", "lid",
            "--steps", "5"}, common));
        assertEquals(0, ad.code(), ad.err());
        Map<String, Object> k = (Map<String, Object>) Json.parse(ad.out().strip(), "adaptive output");
        assertEquals("pgd-adaptive-detector", k.get("attack"));
        assertEquals("linf", k.get("norm"));
        assertTrue(((Number) k.get("max_linf")).doubleValue() <= 0.15 + 1e-6, "stays in the eps-ball: " + k.get("max_linf"));
        double clean = ((Number) k.get("clean_accuracy")).doubleValue(), robust = ((Number) k.get("robust_accuracy")).doubleValue();
        assertTrue(0 <= robust && robust <= clean, robust + " vs " + clean);
        assertEquals("pgd", ((Map<String, Object>) k.get("detection")).get("fit_attack"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void trainSavesADetectorThatAttackLoads() throws IOException {
        String data = "idx:" + stripes() + "?classes=4&val=60";
        Path w = dir.resolve("m.safetensors");
        CliTest.Run t = CliTest.run("train", "--data", data, "--model", "smallcnn", "--defense", "nat", "--epochs", "8",
                "--optimizer", "adam", "--lr", "0.002", "--batch", "32", "--seed", "1", "--out", w.toString(), "--quiet",
                "--eps", "0.15", "--detector", "lid", "--fit-samples", "200", "--json");
        assertEquals(0, t.code(), t.err());
        Map<String, Object> j = (Map<String, Object>) Json.parse(t.out().strip(), "train output");
        Path file = dir.resolve("m.detector-lid.safetensors");
        assertTrue(Files.size(file) > 0, "the default --detector-out next to the weights");
        assertEquals(w.toString(), j.get("weights"));
        assertEquals("lid", j.get("detector"));
        Map<String, Object> det = (Map<String, Object>) j.get("detection");
        assertEquals(file.toString(), det.get("file"));
        assertEquals("pgd", det.get("fit_attack"));
        assertTrue(((Number) det.get("fit_adversarial")).intValue() >= 2, det.toString());
        for (String part : new String[] {"attack", "adaptive"}) {
            Map<String, Object> q = (Map<String, Object>) det.get(part);
            double auroc = ((Number) q.get("auroc")).doubleValue(), tpr = ((Number) q.get("tpr_at_5_fpr")).doubleValue();
            assertTrue(auroc >= 0 && auroc <= 1 && tpr >= 0 && tpr <= 1, part + ": " + q);
            assertTrue(((Number) q.get("clean")).intValue() > 0, part + ": " + q);
        }

        CliTest.Run a = CliTest.run("attack", "--data", data, "--model", "smallcnn", "--weights", w.toString(), "--eps", "0.15",
                "--limit", "40", "--attack", "pgd-adaptive-detector", "--detector-file", file.toString(), "--steps", "5", "--json");
        assertEquals(0, a.code(), a.err());
        Map<String, Object> k = (Map<String, Object>) Json.parse(a.out().strip(), "attack output");
        assertEquals("pgd-adaptive-detector", k.get("attack"));
        assertEquals("lid", k.get("detector"));
        for (String key : new String[] {"clean_accuracy", "robust_accuracy", "attack_success_rate", "max_linf"}) {
            assertTrue(k.containsKey(key), "the existing key " + key + " is kept");
        }
        Map<String, Object> kd = (Map<String, Object>) k.get("detection");
        assertEquals(file.toString(), kd.get("file"));
        assertEquals("pgd", kd.get("fit_attack"), "the saved detector's fit attack");
        assertEquals(det.get("fit_clean"), kd.get("fit_clean"), "the saved detector's fit size");
        double auroc = ((Number) ((Map<String, Object>) kd.get("adaptive")).get("auroc")).doubleValue();
        assertTrue(auroc >= 0 && auroc <= 1, kd.toString());

        // Weights the detector was not fitted on: the same architecture trained with another seed.
        Path other = dir.resolve("other.safetensors");
        CliTest.Run t2 = CliTest.run("train", "--data", data, "--model", "smallcnn", "--defense", "nat", "--epochs", "1",
                "--batch", "64", "--seed", "2", "--out", other.toString(), "--quiet");
        assertEquals(0, t2.code(), t2.err());
        CliTest.Run bad = CliTest.run("attack", "--data", data, "--model", "smallcnn", "--weights", other.toString(),
                "--eps", "0.15", "--limit", "10", "--attack", "pgd", "--detector-file", file.toString());
        assertEquals(Main.USAGE, bad.code());
        assertTrue(bad.err().contains(file.toString()) && bad.err().contains("other weights"), bad.err());
    }

    @Test
    void detectorFileUsageErrors() {
        String[] base = {"attack", "--data", CliTest.DATA, "--model", "smallcnn", "--weights", "w", "--eps", "1/255",
            "--attack", "pgd"};
        CliTest.Run r = CliTest.run(concat(base, new String[] {"--detector", "lid", "--detector-file", "d.safetensors"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("give one of them, not both"), r.err());
        r = CliTest.run(concat(base, new String[] {"--detector-file", "d.safetensors", "--fit-samples", "10"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("--fit-samples applies to --detector NAME"), r.err());
        String[] train = {"train", "--data", CliTest.DATA, "--model", "smallcnn", "--defense", "nat", "--epochs", "1",
            "--out", "x.safetensors"};
        r = CliTest.run(concat(train, new String[] {"--eps", "0.1", "--detector", "odin"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("unknown detector 'odin'. Valid detectors: lid, mahalanobis, kd-bu"), r.err());
        r = CliTest.run(concat(train, new String[] {"--detector", "lid"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("--detector lid needs --eps > 0"), r.err());
        r = CliTest.run(concat(train, new String[] {"--detector-out", "d.safetensors"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("--detector-out applies to --detector NAME only"), r.err());
        // A segmentation model has no classifier features for a detector: refused before training.
        r = CliTest.run("train", "--data", "synthetic:lesion-seg?size=16&channels=1&n=40&val=10&test=10&seed=3",
                "--model", "unet", "--defense", "nat", "--epochs", "1", "--eps", "0.1", "--detector", "kd-bu",
                "--out", "x.safetensors");
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("--detector kd-bu: needs a classification model"), r.err());
    }

    @Test
    void detectorUsageErrors() {
        String[] base = {"attack", "--data", CliTest.DATA, "--model", "smallcnn", "--weights", "w", "--eps", "1/255"};
        CliTest.Run r = CliTest.run(concat(base, new String[] {"--attack", "pgd-adaptive-detector"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("name the detector with --detector lid|mahalanobis|kd-bu"), r.err());
        r = CliTest.run(concat(base, new String[] {"--attack", "pgd", "--detector", "odin"}));
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("unknown detector 'odin'. Valid detectors: lid, mahalanobis, kd-bu"), r.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
