package org.advmia.benchmark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.advmia.benchmark.report.ReportWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark's detection section: config, runner, results database and report. */
class DetectionBenchmarkTest {
    static final String TINY = """
            name: tiny-detect
            seed: 3
            datasets: [{name: tiny-lesions, spec: "synthetic:lesions?size=16&channels=1&n=200&test=60&seed=1", eval_samples: 40}]
            models: [smallcnn]
            training: {epochs: 2, batch: 32, optimizer: adam, lr: 0.002, val_limit: 16}
            defenses: [nat]
            eps: [8/255]
            attacks: [fgsm]
            transfer: {enabled: false}
            pictures: {rows: 0}
            detection: {detectors: [lid, mahalanobis, kd-bu], attacks: [{name: pgd, steps: 5}], eps: [16/255],
                        fit_samples: 120, adaptive_steps: 5}
            """;

    private static BenchmarkConfig parse(String yaml) {
        return BenchmarkConfig.parse(yaml, "d.yaml", true);
    }

    private static String error(String yaml) {
        return assertThrows(IllegalArgumentException.class, () -> parse(yaml)).getMessage();
    }

    @Test
    void detectionSectionIsParsedWithDefaults() {
        BenchmarkConfig c = parse(TINY);
        BenchmarkConfig.Detection d = c.detection();
        assertEquals(List.of("lid", "mahalanobis", "kd-bu"), d.detectors());
        assertEquals("PGD-5", d.attacks().get(0).label());
        assertEquals(List.of(16 / 255.0), d.eps());
        assertEquals(120, d.fitSamples());
        assertEquals(0, d.testSamples());
        assertEquals(5, d.adaptiveSteps());
        assertEquals(1.0, d.lambda());
        assertTrue(c.toJson().contains("\"detection\""));

        String base = TINY.substring(0, TINY.indexOf("detection:"));
        BenchmarkConfig minimal = parse(base + "detection: {detectors: [lid]}\n");
        assertEquals(List.of(8 / 255.0), minimal.detection().eps(), "defaults to the benchmark's eps");
        assertEquals("pgd", minimal.detection().attacks().get(0).name());
        assertEquals(500, minimal.detection().fitSamples());
        BenchmarkConfig none = parse(base);
        assertTrue(!none.detection().enabled() && !none.toJson().contains("detection"),
                "no section: no detection, and the config's canonical JSON is unchanged");
    }

    @Test
    void detectionConfigErrorsNameThePlaceAndTheValidValues() {
        String base = TINY.substring(0, TINY.indexOf("detection:"));
        assertTrue(error(base + "detection: {detectors: [odin]}\n")
                .contains("d.yaml: detection.detectors: unknown detector 'odin'. Valid detectors: lid, mahalanobis, kd-bu"));
        assertTrue(error(base + "detection: {detectors: []}\n").contains("detection.detectors: needs at least one detector"));
        assertTrue(error(base + "detection: {detectors: [lid], k: 3}\n").contains("detection.k: unknown key; valid keys here:"));
        assertTrue(error(base + "detection: {detectors: [lid, lid]}\n").contains("listed twice"));
        assertTrue(error(base + "detection: {detectors: [lid], attacks: [pgd-adaptive-detector]}\n")
                .contains("detection.attacks[0]: pgd-adaptive-detector needs a fitted detector"));
        assertTrue(error(base + "detection: {detectors: [lid], attacks: [pgdd]}\n").contains("unknown attack 'pgdd'"));
        assertTrue(error(base + "detection: {detectors: [lid], eps: [0]}\n").contains("detection.eps[0]: eps must be > 0"));
        assertTrue(error(base + "detection: {detectors: [lid], fit_samples: 1}\n").contains("fit_samples: expected an integer >= 2"));
    }

    @Test
    void reportShowsMeasuredNumbersAndNotes(@TempDir Path dir) throws Exception {
        var good = new org.advmia.defense.detect.DetectionQuality(120, 120, 80, 0.8, 0.3, 0.91234, 0.456);
        var adaptive = new org.advmia.defense.detect.DetectionQuality(120, 120, 79, 0.6, 0.1, 0.55, 0.0125);
        DetectionCell measured = new DetectionCell("lesions", "resnet18", "nat", "mahalanobis", "PGD-10", 8 / 255.0, 200, 150,
                good, adaptive, "pgd-adaptive-detector (20 steps, step 1/255, lambda 1.0, random start)", 12.5, "");
        DetectionCell failed = DetectionCell.unmeasured("lesions", "resnet18", "pgd-at", "lid", "PGD-10", 1 / 255.0,
                "pgd-adaptive-detector (20 steps)", "too robust to fit");
        BenchmarkResults r = new BenchmarkResults("d", null, java.util.Map.of(), java.util.Map.of(), 1, 1, List.of(),
                List.of(), List.of(), List.of(), List.of(measured, failed));
        ReportWriter.write(r, dir);
        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("| resnet18/nat | mahalanobis | PGD-10 | 8/255 | 120 | 80 | 0.912 | 45.6 | 79 | 0.550 | 1.3 |"), md);
        assertTrue(md.contains("| resnet18/pgd-at | lid | PGD-10 | 1/255 | 0 † | 0 | – | – | 0 | – | – |"), md);
        assertTrue(md.contains("lesions/resnet18/pgd-at lid vs PGD-10 at ε 1/255: too robust to fit"), md);
        List<String> csv = Files.readAllLines(dir.resolve("detection.csv"));
        assertTrue(csv.get(1).startsWith("lesions,resnet18,nat,mahalanobis,PGD-10,0.03137254901960784,8,200,150,120,120,80,0.8,0.3,"
                + "0.91234,0.456,120,79,0.6,0.1,0.55,0.0125,"), csv.get(1));
        assertEquals(List.of(measured, failed), ReportWriter.readResults(dir.resolve("results.json")).detections());
        // Without detection cells nothing about detection is written.
        Path plain = dir.resolve("plain");
        ReportWriter.write(new BenchmarkResults("d", null, java.util.Map.of(), java.util.Map.of(), 1, 1, List.of(), List.of(),
                List.of(), List.of()), plain);
        assertTrue(!Files.exists(plain.resolve("detection.csv")) && !Files.readString(plain.resolve("results.json"))
                .contains("detections") && !Files.readString(plain.resolve("report.md")).contains("Detection"));
    }

    @Test
    void databasesWrittenBeforeDetectionGainTheTablesOnOpen(@TempDir Path dir) throws Exception {
        Path db = dir.resolve("old.db");
        try (ResultsStore store = ResultsStore.open(db)) {
            store.beginRun("old", "{}");
        }
        // Make it look like a schema-1 database from before the detection tables.
        try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db); var st = c.createStatement()) {
            st.execute("DROP TABLE run_detections");
            st.execute("DROP TABLE detections");
        }
        DetectionCell cell = DetectionCell.unmeasured("d", "m", "nat", "lid", "PGD-10", 0.1, "b", "n");
        try (ResultsStore store = ResultsStore.open(db)) {
            String run = store.beginRun("new", "{}");
            store.putDetection("k1", run, cell);
            assertEquals(java.util.Optional.of(cell), store.detection("k1"));
            String other = store.beginRun("reuse", "{}");
            store.markDetectionUsed(other, "k1");
            assertEquals(List.of(cell), store.detections(other));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> store.markDetectionUsed(other, "nope"))
                    .getMessage().contains("no stored detection with key 'nope'"));
        }
    }

    @Test
    void runnerWritesDetectionCellsToTheReportAndDatabaseAndReusesThem(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        BenchmarkRunner.Options opt = BenchmarkRunner.Options.in(out, BenchmarkRunner.Verbosity.QUIET,
                new PrintStream(new ByteArrayOutputStream()));
        BenchmarkResults first = BenchmarkRunner.run(parse(TINY), opt);
        assertEquals(3, first.detections().size(), "3 detectors x 1 attack x 1 eps");
        for (DetectionCell c : first.detections()) {
            assertEquals("tiny-lesions", c.dataset());
            assertEquals("PGD-5", c.attack());
            // The 2-epoch model may be too weak for the attack to fool it on enough fit inputs; then the
            // cell says why instead of holding numbers (the measured path is DetectorsTest's).
            assertTrue(c.note().isEmpty() || c.note().contains("needs at least 2 successful") || c.note().contains("none of"),
                    c.note());
            if (c.note().isEmpty()) {
                assertTrue(c.standard().clean() > 0 && c.standard().clean() <= 40, c.toString());
                assertTrue(c.standard().auroc() >= 0 && c.standard().auroc() <= 1, c.toString());
                assertTrue(c.adaptiveBudget().startsWith("pgd-adaptive-detector (5 steps"), c.adaptiveBudget());
            }
        }
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("## Detection") && md.contains("Detection on tiny-lesions"), md);
        assertTrue(md.contains("| smallcnn/nat | lid | PGD-5 | 16/255 |"), md);
        assertTrue(Files.readString(out.resolve("report.tex")).contains("Detection on tiny-lesions"));
        assertTrue(Files.readString(out.resolve("report.html")).contains("Detection on tiny-lesions"));
        List<String> csv = Files.readAllLines(out.resolve("detection.csv"));
        assertEquals(4, csv.size(), "header + 3 rows");
        assertTrue(csv.get(0).startsWith("dataset,model,defense,detector,attack,eps,eps_255,"), csv.get(0));
        assertEquals(first.detections(), ReportWriter.readResults(out.resolve("results.json")).detections(),
                "results.json round-trips the detection cells");

        try (ResultsStore store = ResultsStore.open(out.resolve("results.db"))) {
            String run = store.beginRun("probe", "{}");
            assertTrue(store.detections(run).isEmpty());
        }
        BenchmarkResults second = BenchmarkRunner.run(parse(TINY), opt);
        // Stored timings come back bit-identical only if nothing was recomputed.
        assertEquals(first.detections(), second.detections());
    }
}
