package org.advmia.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The knowledge settings, universal perturbations and the distillation/feature-pairing defenses
 * as benchmark config entries: parsed strictly, run end to end on a tiny config, labelled by
 * setting, and cached like every other cell.
 */
class BenchmarkSettingsTest {
    static final String CONFIG = """
            name: settings
            seed: 5
            datasets: [{name: tiny, spec: "synthetic:lesions?size=16&channels=1&n=160&val=40&seed=2", eval_samples: 24}]
            models: [smallcnn]
            training: {epochs: 1, batch: 32, optimizer: adam, lr: 0.002, inner_steps: 2, val_limit: 16, eps: 8/255}
            defenses: [nat, distillation]
            eps: [8/255]
            attacks:
              - {name: pgd, steps: 3}
              - {name: pgd, steps: 3, setting: semi-white-box}
              - {name: pgd, steps: 3, setting: no-box}
              - {name: square, queries: 40, setting: black-box}
              - {name: uap, steps: 2, fit_samples: 64}
            transfer: {attack: {name: uap, steps: 2, fit_samples: 64}, eps: 8/255, setting: no-box}
            pictures: {rows: 0}
            """;

    static BenchmarkResults run(String yaml, Path out) throws Exception {
        return BenchmarkRunner.run(BenchmarkConfig.parse(yaml, "settings.yaml", true),
                BenchmarkRunner.Options.in(out, BenchmarkRunner.Verbosity.QUIET, new PrintStream(new ByteArrayOutputStream())));
    }

    @Test
    void everySettingRunsIsLabelledAndIsCached(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        BenchmarkResults first = run(CONFIG, out);
        Set<String> columns = first.cells().stream().map(CellResult::attack).collect(Collectors.toSet());
        assertEquals(Set.of("clean", "PGD-3", "PGD-3 [semi-white-box]", "PGD-3 [no-box]", "Square-40 [black-box]", "UAP-2"),
                columns.stream().map(c -> c.equals(CellResult.CLEAN) ? "clean" : c).collect(Collectors.toSet()));
        for (CellResult c : first.cells()) {
            assertTrue(c.metric("max_linf") <= c.eps() + 1e-6, c.toString());
            assertEquals(24, c.samples());
        }
        CellResult uap = first.cells().stream().filter(c -> c.attack().equals("UAP-2")).findFirst().orElseThrow();
        assertTrue(uap.metric("fooling_rate") >= 0 && uap.metric("random_fooling_rate") >= 0, uap.toString());
        assertEquals(4, first.transfers().size());
        assertTrue(first.transfers().stream().allMatch(t -> t.attack().equals("UAP-2 [no-box]")), first.transfers().toString());
        // The surrogates and distillation's teacher were trained and cached next to the benchmark's models.
        try (Stream<Path> files = Files.list(out.resolve("models"))) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            for (String role : List.of("semi-white-box_surrogate", "no-box_surrogate", "distillation_teacher")) {
                assertTrue(names.stream().anyMatch(n -> n.contains(role) && n.endsWith(".safetensors")), role + " in " + names);
            }
        }
        // The report names each column with its setting (Markdown escapes the brackets; the CSV keeps them).
        String md = Files.readString(out.resolve("report.md")), csv = Files.readString(out.resolve("results.csv"));
        assertTrue(md.contains("no-box") && md.contains("semi-white-box") && md.contains("black-box"), "report.md lacks settings");
        assertTrue(csv.contains("PGD-3 [no-box]") && csv.contains("Square-40 [black-box]"), "results.csv lacks setting labels");

        BenchmarkResults second = run(CONFIG, out);
        assertEquals(first.cells(), second.cells(), "a second run recomputes nothing");
        assertEquals(first.transfers(), second.transfers());
    }

    @Test
    void settingsAreCheckedStrictly() {
        String base = CONFIG.substring(0, CONFIG.indexOf("attacks:"));
        String[][] bad = {
            {"attacks: [{name: pgd, setting: grey-box}]", "unknown setting 'grey-box'. Valid settings: white-box"},
            {"attacks: [{name: pgd, setting: black-box}]", "black-box allows only score-based attacks"},
            {"attacks: [{name: pgd, surrogate_model: resnet18}]", "only the semi-white-box and no-box settings"},
            {"attacks: [{name: pgd, setting: no-box, surrogate_model: nosuch}]", "unknown model 'nosuch'"},
            {"attacks: [{name: pgd, fit_samples: 10}]", "only uap and uap-l2 are fitted"},
            {"attacks: [pgd]\ntransfer: {setting: white-box}", "semi-white-box or no-box"},
            {"attacks: [pgd]\ntransfer: {attack: {name: pgd, setting: no-box}}", "goes in transfer.setting"},
        };
        for (String[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BenchmarkConfig.parse(base + b[0] + "\n", "settings.yaml", true), b[0]);
            assertTrue(e.getMessage().contains(b[1]) && e.getMessage().startsWith("settings.yaml: "), e.getMessage());
        }
        // Defaults: white-box attacks, a semi-white-box transfer matrix, and the white-box identity unchanged.
        BenchmarkConfig ok = BenchmarkConfig.parse(base + "attacks: [pgd]\n", "settings.yaml", true);
        assertEquals(org.advmia.attack.KnowledgeSetting.WHITE_BOX, ok.attacks().get(0).setting());
        assertEquals(org.advmia.attack.KnowledgeSetting.SEMI_WHITE_BOX, ok.transfer().setting());
        assertEquals(java.util.Map.of("name", "pgd"), ok.attacks().get(0).identity());
    }
}
