package org.advmia.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end on a tiny config: the run writes every output, a second run recomputes nothing, a
 * run killed with SIGKILL resumes without losing or recomputing a finished cell, and the resumed
 * numbers equal an uninterrupted run's (same seed, same backend: bit-identical).
 */
class BenchmarkRunnerTest {
    static final String TINY = """
            name: tiny
            seed: 3
            datasets: [{name: tiny-lesions, spec: "synthetic:lesions?size=16&channels=1&n=160&seed=1", eval_samples: 24}]
            models: [smallcnn]
            training: {epochs: 1, batch: 32, optimizer: adam, lr: 0.002, inner_steps: 2, val_limit: 16, eps: 8/255}
            defenses: [nat, fast-at]
            eps: [4/255, 8/255]
            attacks: [fgsm, {name: pgd, steps: 3}]
            transfer: {attack: {name: pgd, steps: 3}, eps: 8/255}
            pictures: {rows: 2}
            """;

    private static BenchmarkResults run(String yaml, Path out) throws Exception {
        BenchmarkConfig cfg = BenchmarkConfig.parse(yaml, "tiny.yaml", true);
        return BenchmarkRunner.run(cfg, BenchmarkRunner.Options.in(out, BenchmarkRunner.Verbosity.QUIET,
                new PrintStream(new ByteArrayOutputStream())));
    }

    private static Map<String, CellResult> byKey(List<CellResult> cells) {
        Map<String, CellResult> m = new HashMap<>();
        for (CellResult c : cells) m.put(c.defense() + "|" + c.attack() + "|" + c.eps(), c);
        return m;
    }

    /**
     * Preprocessing defenses get their own rows, on the weights of the model they wrap, evaluated
     * adaptively, and the budget says how: BPDA for the quantiser, BPDA + EOT for the random one.
     */
    @Test
    void preprocessingDefensesAreEvaluatedAdaptivelyInTheirOwnRows(@TempDir Path dir) throws Exception {
        String yaml = TINY.replace("defenses: [nat, fast-at]", "defenses: [nat]")
                .replace("transfer: {attack: {name: pgd, steps: 3}, eps: 8/255}", "transfer: {enabled: false}")
                .replace("pictures: {rows: 2}", "pictures: {rows: 0}")
                + "preprocessing: [bit-depth:3, {spec: \"random-resize-pad:0.8\", wraps: nat}]\n";
        BenchmarkResults r = run(yaml, dir.resolve("out"));
        assertEquals(1, r.trainings().size(), "preprocessing reuses the nat weights, it trains nothing");
        assertEquals(3 * (1 + 2 * 2), r.cells().size(), "nat, nat+bit-depth:3, nat+random-resize-pad:0.8");
        Map<String, CellResult> cells = byKey(r.cells());
        CellResult bpda = cells.get("nat+bit-depth:3|PGD-3|" + 8 / 255.0), eot = cells.get("nat+random-resize-pad:0.8|PGD-3|" + 8 / 255.0);
        assertTrue(bpda.budget().contains("BPDA") && !bpda.budget().contains("EOT"), bpda.budget());
        assertTrue(eot.budget().contains("EOT over 10"), eot.budget());
        assertTrue(bpda.metric("max_linf") <= 8 / 255.0 + 1e-6);
        String md = Files.readString(dir.resolve("out").resolve("report.md"));
        assertTrue(md.contains("nat+bit-depth:3") && md.contains("BPDA"), "the report names the rows and the evaluation");
    }

    @Test
    void runsWritesEverythingAndReusesFinishedWork(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        BenchmarkResults first = run(TINY, out);
        assertEquals(2, first.trainings().size());
        assertEquals(2 * (1 + 2 * 2), first.cells().size(), "clean + 2 attacks x 2 eps per trained model");
        assertEquals(4, first.transfers().size(), "2 x 2 transfer matrix");
        for (String f : List.of("report.md", "report.tex", "report.html", "results.csv", "results.json", "results.db")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        for (CellResult c : first.cells()) {
            assertTrue(c.robustAccuracy() >= 0 && c.robustAccuracy() <= c.metric("clean_accuracy") + 1e-12, c.toString());
            assertTrue(c.metric("max_linf") <= c.eps() + 1e-6, c.toString());
            assertEquals(24, c.samples());
        }
        assertTrue(first.budgets().get("PGD-3").contains("3 steps"), first.budgets().toString());

        BenchmarkResults second = run(TINY, out);
        assertTrue(second.trainings().stream().allMatch(TrainingResult::cached), "models come from the cache");
        // Stored timings come back bit-identical only if nothing was recomputed.
        assertEquals(byKey(first.cells()), byKey(second.cells()));
        assertEquals(first.transfers(), second.transfers());

        // A changed budget recomputes exactly the changed column.
        BenchmarkResults third = run(TINY.replace("{name: pgd, steps: 3}]", "{name: pgd, steps: 4}]"), out);
        Map<String, CellResult> a = byKey(first.cells()), c = byKey(third.cells());
        for (Map.Entry<String, CellResult> e : c.entrySet()) {
            if (e.getKey().contains("PGD-4")) assertFalse(a.containsKey(e.getKey()));
            else assertEquals(a.get(e.getKey()), e.getValue(), e.getKey());
        }
    }

    @Test
    void aKilledRunResumesWithoutLosingOrRecomputingCells(@TempDir Path dir) throws Exception {
        Path cfgFile = dir.resolve("tiny.yaml");
        Files.writeString(cfgFile, TINY);
        Path out = dir.resolve("killed");
        Path db = out.resolve("results.db");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.sqlite.tmpdir=" + dir, "-cp",
                System.getProperty("java.class.path"), "org.advmia.cli.Main", "benchmark", "--config", cfgFile.toString(),
                "--out", out.toString(), "--quiet");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int stored = 0;
        while (p.isAlive() && System.nanoTime() < deadline && stored < 3) {
            Thread.sleep(100);
            stored = countCells(db);
        }
        assertTrue(p.isAlive(), "the child finished before it could be killed; log: " + Files.readString(dir.resolve("child.log")));
        p.destroyForcibly().waitFor();   // SIGKILL: no shutdown hooks, no cleanup
        Map<String, Double> before = storedSeconds(db);
        assertTrue(before.size() >= 3, "cells stored before the kill: " + before.size());

        BenchmarkResults resumed = run(TINY, out);
        Map<String, Double> after = storedSeconds(db);
        for (Map.Entry<String, Double> e : before.entrySet()) {
            assertEquals(e.getValue(), after.get(e.getKey()), "cell " + e.getKey() + " was lost or recomputed");
        }
        assertEquals(2 * 5, resumed.cells().size());

        BenchmarkResults clean = run(TINY, dir.resolve("uninterrupted"));
        Map<String, CellResult> r = byKey(resumed.cells()), u = byKey(clean.cells());
        assertEquals(u.keySet(), r.keySet());
        for (String k : u.keySet()) {
            assertEquals(u.get(k).metrics().get("robust_accuracy"), r.get(k).metrics().get("robust_accuracy"), k);
            assertEquals(u.get(k).metrics().get("mean_l2"), r.get(k).metrics().get("mean_l2"), k);
        }
    }

    @Test
    void planErrorsComeBeforeAnyTraining(@TempDir Path dir) {
        String seg = TINY.replace("{name: pgd, steps: 3}]", "{name: segpgd, steps: 3}]");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run(seg, dir.resolve("o")));
        assertTrue(e.getMessage().contains("segpgd") && e.getMessage().contains("Valid attacks"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("o").resolve("models")) && hasFiles(dir.resolve("o").resolve("models")),
                "nothing was trained");
    }

    @Test
    void aCollapsedClassifierIsFlagged() {
        org.advmia.data.DatasetInfo info = new org.advmia.data.DatasetInfo("d", org.advmia.data.Task.CLASSIFICATION, 1, 16, 16,
                4, org.advmia.data.DatasetInfo.numberedClasses(4));
        java.util.function.DoubleFunction<org.advmia.attack.DatasetEvaluation.Report> report = recall ->
                new org.advmia.attack.DatasetEvaluation.Report(org.advmia.data.Task.CLASSIFICATION, 8, 0.25, 0.25, 0,
                        new boolean[8], 0, 0, 0, 0, 0, Map.of("macro_recall_clean", recall), List.of());
        assertEquals(1, BenchmarkRunner.collapseWarning(report.apply(0.25), info).size(), "one class for all: 1/K recall");
        assertTrue(BenchmarkRunner.collapseWarning(report.apply(0.30), info).isEmpty());
    }

    private static boolean hasFiles(Path d) {
        try (var s = Files.list(d)) {
            return s.findAny().isPresent();
        } catch (Exception e) {
            return false;
        }
    }

    private static int countCells(Path db) {
        if (!Files.exists(db)) return 0;
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout = 5000");
            try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM cells")) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        } catch (Exception e) {
            return 0;   // schema not created yet
        }
    }

    private static Map<String, Double> storedSeconds(Path db) throws Exception {
        Map<String, Double> m = new HashMap<>();
        try (ResultsStore s = ResultsStore.open(db)) {
            List<String> keys = new ArrayList<>();
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT key FROM cells")) {
                while (rs.next()) keys.add(rs.getString(1));
            }
            for (String k : keys) m.put(k, s.cell(k).orElseThrow().seconds());
        }
        return m;
    }
}
