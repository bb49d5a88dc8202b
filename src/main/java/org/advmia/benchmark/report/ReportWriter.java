package org.advmia.benchmark.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.advmia.benchmark.BenchmarkResults;
import org.advmia.benchmark.CellResult;
import org.advmia.benchmark.DetectionCell;
import org.advmia.benchmark.Figure;
import org.advmia.benchmark.TrainingResult;
import org.advmia.benchmark.TransferResult;
import org.advmia.util.Json;

/**
 * Writes the benchmark's report into a results folder: report.md, report.tex (a compilable
 * booktabs document), report.html (self-contained, opens offline), results.csv (one row per
 * evaluation cell), results.json (everything, readable back with {@link #readResults}) and
 * plots/*.svg (robust accuracy against ε per dataset x model x attack, one line per defense).
 *
 * <p>Each file is written atomically. The plots and the machine-readable files go first and the
 * three reports last, so a report never links a plot that is not there yet.
 */
public final class ReportWriter {
    private ReportWriter() {}

    public static final String MARKDOWN = "report.md", LATEX = "report.tex", HTML = "report.html", CSV = "results.csv",
            JSON = "results.json", PLOTS = "plots";

    /** Returns the written files: the reports, results.csv, results.json, then the plots. */
    public static List<Path> write(BenchmarkResults results, Path outDir) throws IOException {
        Files.createDirectories(outDir);
        ReportBuilder.Built built = ReportBuilder.build(results);
        List<Path> plots = new ArrayList<>();
        for (ReportBuilder.PlotFile p : built.plots()) {
            Path file = outDir.resolve(p.file());
            AtomicFiles.write(file, p.standaloneSvg());
            plots.add(file);
        }
        Path csv = outDir.resolve(CSV), json = outDir.resolve(JSON);
        AtomicFiles.write(csv, ResultsCsv.write(results.cells()));
        AtomicFiles.write(json, Json.write(toJson(results, built.plots())) + "\n");
        Path detection = results.detections().isEmpty() ? null : outDir.resolve(DetectionTables.CSV);
        if (detection != null) AtomicFiles.write(detection, DetectionTables.csv(results.detections()));
        Path md = outDir.resolve(MARKDOWN), tex = outDir.resolve(LATEX), html = outDir.resolve(HTML);
        AtomicFiles.write(md, MarkdownRenderer.render(built.document()));
        AtomicFiles.write(tex, LatexRenderer.render(built.document(), outDir));
        AtomicFiles.write(html, HtmlRenderer.render(built.document(), outDir));
        List<Path> written = new ArrayList<>(List.of(md, tex, html, csv, json));
        if (detection != null) written.add(detection);
        written.addAll(plots);
        return written;
    }

    /**
     * Reads a results.json back, so a report can be rewritten without rerunning the benchmark.
     * Its figures include the eps-curve plots of the earlier write; writing again regenerates
     * those and does not list them twice.
     */
    public static BenchmarkResults readResults(Path resultsJson) throws IOException {
        String text = Files.readString(resultsJson, StandardCharsets.UTF_8);
        if (!(Json.parse(text, resultsJson.toString()) instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(resultsJson + ": expected a JSON object");
        }
        List<TrainingResult> trainings = new ArrayList<>();
        for (Map<?, ?> t : objects(m, "trainings")) trainings.add(TrainingResult.fromMap(t));
        List<CellResult> cells = new ArrayList<>();
        for (Map<?, ?> c : objects(m, "cells")) cells.add(CellResult.fromMap(c));
        List<TransferResult> transfers = new ArrayList<>();
        for (Map<?, ?> t : objects(m, "transfers")) transfers.add(TransferResult.fromMap(t));
        List<Figure> figures = new ArrayList<>();
        for (Map<?, ?> f : objects(m, "figures")) {
            figures.add(new Figure(optional(f, "kind"), optional(f, "title"), optional(f, "caption"), Path.of(string(f, "file"))));
        }
        List<DetectionCell> detections = new ArrayList<>();
        for (Map<?, ?> d : objects(m, "detections")) detections.add(DetectionCell.fromMap(d));
        return new BenchmarkResults(string(m, "name"), optional(m, "config_source"),
                strings(m, "budgets"), strings(m, "environment"), number(m, "wall_seconds"), number(m, "engine_seconds"),
                trainings, cells, transfers, figures, detections);
    }

    static Map<String, Object> toJson(BenchmarkResults r, List<ReportBuilder.PlotFile> plots) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", r.name());
        m.put("config_source", r.configSource());
        m.put("environment", new LinkedHashMap<String, Object>(r.environment()));
        m.put("budgets", new LinkedHashMap<String, Object>(r.budgets()));
        m.put("wall_seconds", r.wallSeconds());
        m.put("engine_seconds", r.engineSeconds());
        m.put("harness_overhead", r.harnessOverhead());
        m.put("trainings", r.trainings().stream().map(t -> (Object) t.toMap()).toList());
        m.put("cells", r.cells().stream().map(c -> (Object) c.toMap()).toList());
        m.put("transfers", r.transfers().stream().map(t -> (Object) t.toMap()).toList());
        List<Object> figures = new ArrayList<>();
        Set<String> plotFiles = new LinkedHashSet<>();
        for (ReportBuilder.PlotFile p : plots) plotFiles.add(p.file());
        for (Figure f : r.figures()) {
            if (!plotFiles.contains(ReportBuilder.relative(f))) figures.add(figure(f.kind(), f.title(), f.caption(), ReportBuilder.relative(f)));
        }
        for (ReportBuilder.PlotFile p : plots) figures.add(figure("eps-curve", p.title(), p.caption(), p.file()));
        m.put("figures", figures);
        // Only when present, so results without detection keep their exact layout.
        if (!r.detections().isEmpty()) m.put("detections", r.detections().stream().map(d -> (Object) d.toMap()).toList());
        return m;
    }

    private static Map<String, Object> figure(String kind, String title, String caption, String file) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("kind", kind);
        f.put("title", title);
        f.put("caption", caption);
        f.put("file", file);
        return f;
    }

    private static List<Map<?, ?>> objects(Map<?, ?> m, String key) {
        List<Map<?, ?>> out = new ArrayList<>();
        if (m.get(key) instanceof List<?> list) {
            for (Object o : list) {
                if (!(o instanceof Map<?, ?> map)) throw new IllegalArgumentException("results.json: '" + key + "' holds a non-object");
                out.add(map);
            }
        }
        return out;
    }

    private static Map<String, String> strings(Map<?, ?> m, String key) {
        Map<String, String> out = new LinkedHashMap<>();
        if (m.get(key) instanceof Map<?, ?> map) for (Map.Entry<?, ?> e : map.entrySet()) out.put(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
        return out;
    }

    private static String string(Map<?, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) throw new IllegalArgumentException("results.json lacks '" + key + "'");
        return v.toString();
    }

    private static String optional(Map<?, ?> m, String key) {
        Object v = m.get(key);
        return v == null ? null : v.toString();
    }

    private static double number(Map<?, ?> m, String key) {
        return m.get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
