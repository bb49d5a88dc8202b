package org.advmia.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.advmia.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `advmia train --defense distillation|feature-pairing`, `advmia attack --attack uap`, and `--setting`. */
class SettingsCliTest {
    static final String DATA = CliTest.DATA;

    @TempDir
    Path dir;

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(CliTest.Run r) {
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        assertEquals(1, lines.length, "--json prints exactly one line: " + r.out());
        return (Map<String, Object>) Json.parse(lines[0], "attack output");
    }

    static double num(Map<String, Object> j, String k) {
        assertTrue(j.containsKey(k), "missing key " + k + " in " + j.keySet());
        return ((Number) j.get(k)).doubleValue();
    }

    @Test
    void distillationTrainsItsTeacherAndUapReportsFoolingRates() throws Exception {
        Path student = dir.resolve("student.safetensors");
        CliTest.Run t = CliTest.run("train", "--data", DATA, "--model", "smallcnn", "--defense", "distillation",
                "--temperature", "20", "--epochs", "1", "--batch", "32", "--seed", "1", "--val-limit", "30",
                "--out", student.toString(), "--quiet");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.err().contains("training a teacher at T = 20"), t.err());
        assertTrue(Files.exists(dir.resolve("student.safetensors.teacher.safetensors")), "teacher weights written");
        try (org.advmia.nn.SafeTensors.Contents c = org.advmia.nn.SafeTensors.read(student)) {
            assertEquals("20.0", c.metadata.get("temperature"));
            assertEquals("1", c.metadata.get("deployed_temperature"));
        }
        // A teacher trained at another temperature is refused.
        CliTest.Run wrongT = CliTest.run("train", "--data", DATA, "--model", "smallcnn", "--defense", "distillation",
                "--teacher", dir.resolve("student.safetensors.teacher.safetensors").toString(), "--temperature", "50",
                "--epochs", "1", "--out", dir.resolve("x.safetensors").toString(), "--quiet");
        assertEquals(Main.USAGE, wrongT.code());
        assertTrue(wrongT.err().contains("trained at temperature 20.0"), wrongT.err());

        Map<String, Object> j = json(CliTest.run("attack", "--data", DATA, "--model", "smallcnn", "--weights", student.toString(),
                "--attack", "uap", "--eps", "8/255", "--steps", "2", "--fit-limit", "96", "--limit", "40", "--json"));
        assertTrue(num(j, "max_linf") <= 8 / 255.0 + 1e-6);
        assertEquals(96, (int) num(j, "fit_samples"));
        assertEquals("train", j.get("fit_split"));
        assertEquals("white-box", j.get("setting"));
        double fooling = num(j, "fooling_rate"), random = num(j, "random_fooling_rate");
        assertTrue(fooling >= 0 && fooling <= 1 && random >= 0 && random <= 1, fooling + " " + random);
        for (String k : new String[] {"clean_accuracy", "robust_accuracy", "attack_success_rate", "per_sample_success"}) {
            assertTrue(j.containsKey(k), "existing key " + k + " kept");
        }
    }

    @Test
    void surrogateSettingsCraftOnTheSurrogate() {
        Path target = dir.resolve("t.safetensors"), surrogate = dir.resolve("s.safetensors");
        for (Object[] m : new Object[][] {{target, "1"}, {surrogate, "2"}}) {
            CliTest.Run t = CliTest.run("train", "--data", DATA, "--model", "smallcnn", "--defense", "feature-pairing",
                    "--eps", "4/255", "--steps", "1", "--epochs", "1", "--batch", "48", "--seed", (String) m[1],
                    "--val-limit", "30", "--out", m[0].toString(), "--quiet");
            assertEquals(0, t.code(), t.err());
        }
        Map<String, Object> j = json(CliTest.run("attack", "--data", DATA, "--model", "smallcnn", "--weights", target.toString(),
                "--attack", "pgd", "--eps", "8/255", "--limit", "30", "--setting", "semi-white-box", "--surrogate",
                surrogate.toString(), "--json"));
        assertEquals("semi-white-box", j.get("setting"));
        assertEquals(surrogate.toString(), j.get("surrogate"));
        assertTrue(num(j, "max_linf") <= 8 / 255.0 + 1e-6);
        // A no-box UAP is fitted on the surrogate with validation images only, never the target's training split.
        Map<String, Object> nb = json(CliTest.run("attack", "--data", DATA, "--model", "smallcnn", "--weights",
                target.toString(), "--attack", "uap", "--steps", "1", "--eps", "8/255", "--limit", "20", "--setting", "no-box",
                "--surrogate", surrogate.toString(), "--json"));
        assertEquals("val", nb.get("fit_split"));
        assertEquals(60, (int) num(nb, "fit_samples"), "all 60 validation images");
        assertTrue(num(nb, "max_linf") <= 8 / 255.0 + 1e-6);
        Map<String, Object> bb = json(CliTest.run("attack", "--data", DATA, "--model", "smallcnn", "--weights",
                target.toString(), "--attack", "square", "--steps", "50", "--eps", "8/255", "--limit", "20", "--setting",
                "black-box", "--json"));
        assertEquals("black-box", bb.get("setting"));
        assertEquals(0, (int) num(bb, "gradient_evaluations"));
    }

    @Test
    void settingErrorsNameTheFlag() {
        String[][] cases = {
            {"--attack", "pgd", "--setting", "black-box", "only score-based attacks"},
            {"--attack", "pgd", "--setting", "no-box", "give --surrogate"},
            {"--attack", "pgd", "--surrogate", "s.safetensors", "--surrogate applies to the semi-white-box and no-box"},
            {"--attack", "pgd", "--setting", "grey-box", "Valid settings: white-box, semi-white-box, black-box, no-box"},
            {"--attack", "pgd", "--fit-limit", "10", "--fit-limit applies to uap"},
        };
        for (String[] c : cases) {
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("attack", "--data", DATA, "--model",
                    "smallcnn", "--weights", "w.safetensors", "--eps", "0.1"));
            args.addAll(java.util.Arrays.asList(c).subList(0, c.length - 1));
            CliTest.Run r = CliTest.run(args.toArray(new String[0]));
            assertEquals(Main.USAGE, r.code(), String.join(" ", args));
            assertTrue(r.err().contains(c[c.length - 1]), r.err());
        }
        CliTest.Run r = CliTest.run("train", "--data", DATA, "--model", "smallcnn", "--defense", "pgd-at", "--eps", "0.1",
                "--teacher", "t.safetensors", "--epochs", "1", "--out", "x");
        assertTrue(r.err().contains("--teacher applies to --defense distillation only"), r.err());
        r = CliTest.run("train", "--data", DATA, "--model", "smallcnn", "--defense", "distillation", "--temperature", "0.5",
                "--epochs", "1", "--out", dir.resolve("y.safetensors").toString());
        assertEquals(Main.USAGE, r.code());
        assertTrue(r.err().contains("--temperature must be a finite number >= 1"), r.err());
    }
}
