package org.advmia.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchmarkCommandTest {
    private record Outcome(int code, String out, String err) {}

    private static Outcome run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Outcome(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Test
    void helpPlanAndDefaultConfig() {
        Outcome h = run("benchmark", "--help");
        assertEquals(Main.OK, h.code());
        assertTrue(h.out().contains("--config") && h.out().contains("results.db"), h.out());
        Outcome p = run("benchmark", "--plan");
        assertEquals(Main.OK, p.code(), p.err());
        // 4 defenses x (clean + 4 eps x 5 attacks) + a 4 x 4 transfer matrix.
        assertTrue(p.out().contains("cells: " + (4 * (1 + 4 * 5) + 16)), p.out());
        Outcome d = run("benchmark", "--print-default");
        assertEquals(Main.OK, d.code());
        assertTrue(d.out().contains("defenses: [nat, pgd-at, trades, mart]"), d.out());
        assertTrue(run("--help").out().contains("benchmark"));
    }

    @Test
    void badInputIsAUsageErrorNamingWhatIsWrong(@TempDir Path dir) throws Exception {
        Outcome missing = run("benchmark", "--config", dir.resolve("none.yaml").toString());
        assertEquals(Main.USAGE, missing.code());
        assertTrue(missing.err().contains("none.yaml") && missing.err().contains("no such file"), missing.err());

        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "datasets: [synthetic:lesions]\nmodels: [resnet99]\ndefenses: [nat]\neps: [1/255]\nattacks: [fgsm]\n");
        Outcome model = run("benchmark", "--config", bad.toString(), "--plan");
        assertEquals(Main.USAGE, model.code());
        assertTrue(model.err().contains("resnet99") && model.err().contains("smallcnn"), model.err());

        Outcome both = run("benchmark", "--quiet", "--verbose");
        assertEquals(Main.USAGE, both.code());
        Outcome unknown = run("benchmark", "--fast");
        assertEquals(Main.USAGE, unknown.code());
        assertTrue(unknown.err().contains("--config"), "lists the valid options: " + unknown.err());
    }
}
