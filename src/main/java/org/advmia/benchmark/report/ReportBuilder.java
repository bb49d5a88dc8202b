package org.advmia.benchmark.report;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.advmia.benchmark.BenchmarkResults;
import org.advmia.benchmark.CellResult;
import org.advmia.benchmark.Figure;
import org.advmia.benchmark.TrainingResult;
import org.advmia.benchmark.TransferResult;
import org.advmia.benchmark.report.ReportDocument.Block;
import org.advmia.benchmark.report.ReportDocument.Bullets;
import org.advmia.benchmark.report.ReportDocument.Cell;
import org.advmia.benchmark.report.ReportDocument.Code;
import org.advmia.benchmark.report.ReportDocument.Column;
import org.advmia.benchmark.report.ReportDocument.Heading;
import org.advmia.benchmark.report.ReportDocument.Image;
import org.advmia.benchmark.report.ReportDocument.Paragraph;
import org.advmia.benchmark.report.ReportDocument.Stat;
import org.advmia.benchmark.report.ReportDocument.Stats;
import org.advmia.benchmark.report.ReportDocument.Table;

/**
 * Turns BenchmarkResults into the report's blocks and eps-curve plots. Rows and columns keep the
 * order in which the benchmark produced them (the configuration's order), except ε, which is
 * sorted so each attack's columns read from weak to strong.
 */
final class ReportBuilder {
    /** A generated plot: file relative to the results folder. */
    record PlotFile(String file, String title, String caption, String standaloneSvg, String inlineSvg) {}

    record Built(ReportDocument document, List<PlotFile> plots) {}

    /** One attack as run: the same attack name with two budgets gets two column groups. */
    private record AttackVariant(String attack, String budget) {}

    /** eps255: ε in /255 units as rounded by Fmt.eps255, so 8/255 from float and double code is one column. */
    private record ColumnKey(AttackVariant variant, double eps255) {}

    /** A headline metric: the clean column reads cleanKey, the attack columns advKey. */
    private record Metric(String anchorSuffix, String title, String cleanKey, String advKey) {}

    private static final List<Metric> TASK_METRICS = List.of(
            new Metric("f1", "Macro F1 under attack (%)", "macro_f1_clean", "macro_f1_adversarial"),
            new Metric("dice", "Dice (%)", "dice_clean", "dice_adversarial"),
            new Metric("miou", "mIoU (%)", "miou_clean", "miou_adversarial"),
            new Metric("auc", "Mean AUC (%)", "mean_auc_clean", "mean_auc_adversarial"));

    /** The cells of one dataset x model, indexed for table building. */
    private static final class Group {
        final String dataset, model;
        final Set<String> tasks = new LinkedHashSet<>();
        final Set<String> defenses = new LinkedHashSet<>();
        final Map<AttackVariant, TreeSet<Double>> variants = new LinkedHashMap<>();
        final Map<String, CellResult> clean = new LinkedHashMap<>();
        final Map<String, Map<ColumnKey, CellResult>> attacked = new LinkedHashMap<>();
        final List<CellResult> cells = new ArrayList<>();

        Group(String dataset, String model) {
            this.dataset = dataset;
            this.model = model;
        }

        CellResult cell(String defense, ColumnKey key) {
            return key == null ? clean.get(defense) : attacked.getOrDefault(defense, Map.of()).get(key);
        }

        /** Column keys in display order; null stands for the clean column. */
        List<ColumnKey> columnKeys() {
            List<ColumnKey> keys = new ArrayList<>();
            keys.add(null);
            for (Map.Entry<AttackVariant, TreeSet<Double>> e : variants.entrySet()) {
                for (double eps255 : e.getValue()) keys.add(new ColumnKey(e.getKey(), eps255));
            }
            return keys;
        }

        String variantLabel(AttackVariant v) {
            long budgets = variants.keySet().stream().filter(o -> o.attack().equals(v.attack())).count();
            return budgets > 1 && v.budget() != null && !v.budget().isBlank() ? v.attack() + " (" + v.budget() + ")" : v.attack();
        }

        boolean hasMetric(Metric m) {
            return cells.stream().anyMatch(c -> c.metrics().containsKey(m.cleanKey()) || c.metrics().containsKey(m.advKey()));
        }
    }

    private final BenchmarkResults results;
    private final Set<String> anchors = new HashSet<>();
    private final Set<String> plotFiles = new HashSet<>();
    private final List<PlotFile> plots = new ArrayList<>();
    private final List<String> builderWarnings = new ArrayList<>();

    private ReportBuilder(BenchmarkResults results) {
        this.results = results;
    }

    static Built build(BenchmarkResults results) {
        return new ReportBuilder(results).run();
    }

    private Built run() {
        List<Group> groups = groups();
        List<Block> blocks = new ArrayList<>();

        blocks.add(heading(2, "Summary"));
        blocks.add(new Paragraph(runTimeLine()));
        blocks.add(new Stats(stats(groups)));

        blocks.add(heading(2, "Attack budgets"));
        blocks.add(budgetTable());

        blocks.add(heading(2, "Results"));
        blocks.add(new Paragraph("Survey-style tables: one row per defense, the clean evaluation first, then each attack at each ε "
                + "(in /255 units). Values are percentages; the best defense in each column is in bold."));
        if (groups.isEmpty()) blocks.add(new Paragraph("No evaluation cells were recorded."));
        for (Group g : groups) {
            blocks.add(heading(3, g.dataset + " / " + g.model + " (" + String.join(", ", g.tasks) + ")"));
            blocks.add(metricTable(g, new Metric("robust", "Robust accuracy (%)", "clean_accuracy", "robust_accuracy"), true));
            for (Metric m : TASK_METRICS) if (g.hasMetric(m)) blocks.add(metricTable(g, m, false));
            blocks.addAll(plots(g));
        }

        if (!results.transfers().isEmpty()) {
            blocks.add(heading(2, "Transfer"));
            blocks.add(new Paragraph("Adversarial examples crafted on the source (surrogate) model, evaluated on the target model. "
                    + "Values are the target's robust accuracy (%); the first row is the target's clean accuracy and the "
                    + "diagonal (source = target) is the white-box number. Lower means the examples transfer better."));
            blocks.addAll(transferTables());
        }

        if (!results.detections().isEmpty()) {
            blocks.add(heading(2, "Detection"));
            blocks.addAll(DetectionTables.blocks(results.detections(), this::anchor));
        }

        blocks.add(heading(2, "Training"));
        if (results.trainings().isEmpty()) blocks.add(new Paragraph("No training was recorded."));
        else blocks.add(trainingTable());

        blocks.add(heading(2, "Attack time"));
        blocks.add(new Paragraph("Seconds spent in each evaluation cell (attack and scoring) and the resulting images per second."));
        for (Group g : groups) blocks.add(timeTable(g));

        blocks.add(heading(2, "Warnings"));
        List<String> warnings = warnings();
        if (warnings.isEmpty()) blocks.add(new Paragraph("No evaluation raised a warning."));
        else blocks.add(new Bullets(warnings, true));

        List<Figure> figures = results.figures().stream().filter(f -> !plotFiles.contains(relative(f))).toList();
        if (!figures.isEmpty()) {
            blocks.add(heading(2, "Figures"));
            Map<String, List<Figure>> byKind = new LinkedHashMap<>();
            for (Figure f : figures) byKind.computeIfAbsent(f.kind() == null ? "figure" : f.kind(), k -> new ArrayList<>()).add(f);
            for (Map.Entry<String, List<Figure>> e : byKind.entrySet()) {
                blocks.add(heading(3, e.getKey()));
                for (Figure f : e.getValue()) {
                    String title = f.title() == null || f.title().isBlank() ? relative(f) : f.title();
                    blocks.add(new Image(f.kind(), title, f.caption(), relative(f), null));
                }
            }
        }

        blocks.add(heading(2, "Environment"));
        if (results.environment().isEmpty()) {
            blocks.add(new Paragraph("Not recorded."));
        } else {
            List<List<Cell>> rows = new ArrayList<>();
            for (Map.Entry<String, String> e : results.environment().entrySet()) rows.add(List.of(Cell.of(e.getKey()), Cell.of(e.getValue())));
            blocks.add(new Table(anchor("environment-table"), "Run environment", null,
                    List.of(new Column(null, "Key", false), new Column(null, "Value", false)), rows));
        }

        String config = results.configSource();
        if (config != null && !config.isBlank()) {
            blocks.add(heading(2, "Configuration"));
            if (config.contains("\n")) blocks.add(new Code(config.strip()));
            else blocks.add(new Paragraph("Configuration: " + config));
        }

        String subtitle = "advmia benchmark report · " + groups.size() + " dataset × model pairs · " + results.cells().size()
                + " evaluation cells · " + results.trainings().size() + " trained models";
        String title = results.name() == null || results.name().isBlank() ? "advmia benchmark" : results.name();
        return new Built(new ReportDocument(title, subtitle, blocks), List.copyOf(plots));
    }

    static String relative(Figure f) {
        return f.file().toString().replace('\\', '/');
    }

    private List<Group> groups() {
        Map<String, Group> groups = new LinkedHashMap<>();
        for (CellResult c : results.cells()) {
            Group g = groups.computeIfAbsent(c.dataset() + "\u0000" + c.model(), k -> new Group(c.dataset(), c.model()));
            g.cells.add(c);
            g.tasks.add(c.task());
            g.defenses.add(c.defense());
            String where = c.modelKey() + ", " + c.attack() + " ε " + Fmt.eps(c.eps());
            if (c.attack().equals(CellResult.CLEAN)) {
                if (g.clean.putIfAbsent(c.defense(), c) != null) builderWarnings.add(where + ": duplicate cell, the tables show the first (results.csv has both)");
            } else {
                // The runner's budgets map has one entry per column label; a budget that varies with eps
                // (the survey's PGD step-size table) must not split the column.
                AttackVariant v = new AttackVariant(c.attack(), results.budgets().getOrDefault(c.attack(), c.budget()));
                g.variants.computeIfAbsent(v, k -> new TreeSet<>()).add(Fmt.eps255(c.eps()));
                Map<ColumnKey, CellResult> byKey = g.attacked.computeIfAbsent(c.defense(), k -> new LinkedHashMap<>());
                if (byKey.putIfAbsent(new ColumnKey(v, Fmt.eps255(c.eps())), c) != null) {
                    builderWarnings.add(where + ": duplicate cell, the tables show the first (results.csv has both)");
                }
            }
        }
        return new ArrayList<>(groups.values());
    }

    private String runTimeLine() {
        String overhead = "not measured (no wall time recorded)";
        if (results.wallSeconds() > 0) {
            String percent = Fmt.fixed(results.harnessOverhead() * 100, 2);
            // Judged on the printed number, so "2.00 %" is never called above a 2 % target.
            overhead = percent + " %" + (Double.parseDouble(percent) > 2 ? " (above the 2 % target)" : " (target < 2 %)");
        }
        return "Run time: wall " + Fmt.duration(results.wallSeconds()) + ", engine (training and attacks) "
                + Fmt.duration(results.engineSeconds()) + ", harness overhead " + overhead + ".";
    }

    private List<Stat> stats(List<Group> groups) {
        long cached = results.trainings().stream().filter(TrainingResult::cached).count();
        long warned = results.cells().stream().filter(c -> !c.warnings().isEmpty()).count();
        List<Stat> stats = new ArrayList<>();
        stats.add(new Stat("Wall time", Fmt.clock(results.wallSeconds())));
        stats.add(new Stat("Harness overhead", results.wallSeconds() > 0 ? Fmt.fixed(results.harnessOverhead() * 100, 2) + " %" : "not measured"));
        stats.add(new Stat("Dataset × model pairs", Integer.toString(groups.size())));
        stats.add(new Stat("Trained models", results.trainings().size() + (cached > 0 ? " (" + cached + " cached)" : "")));
        stats.add(new Stat("Evaluation cells", Integer.toString(results.cells().size())));
        stats.add(new Stat("Cells with warnings", Long.toString(warned)));
        return stats;
    }

    /** Every attack that was configured or run, with its budget: the survey's numbers mean little without it. */
    private Table budgetTable() {
        Map<String, Set<String>> asRun = new LinkedHashMap<>();
        for (CellResult c : results.cells()) {
            if (c.attack().equals(CellResult.CLEAN)) continue;
            Set<String> b = asRun.computeIfAbsent(c.attack(), k -> new LinkedHashSet<>());
            if (c.budget() != null && !c.budget().isBlank()) b.add(c.budget());
        }
        List<List<Cell>> rows = new ArrayList<>();
        Set<String> covered = new HashSet<>();
        for (Map.Entry<String, String> e : results.budgets().entrySet()) {
            Set<String> run = new LinkedHashSet<>();
            for (Map.Entry<String, Set<String>> a : asRun.entrySet()) {
                if (a.getKey().equalsIgnoreCase(e.getKey())) {
                    run.addAll(a.getValue());
                    covered.add(a.getKey());
                }
            }
            rows.add(List.of(Cell.of(e.getKey()), Cell.of(e.getValue()), Cell.of(run.isEmpty() ? null : String.join("; ", run))));
        }
        for (Map.Entry<String, Set<String>> a : asRun.entrySet()) {
            if (covered.contains(a.getKey())) continue;
            String run = a.getValue().isEmpty() ? "not recorded" : String.join("; ", a.getValue());
            rows.add(List.of(Cell.of(a.getKey()), Cell.of(null), Cell.of(run)));
        }
        return new Table(anchor("budgets-table"), "Budget per attack", "Configured: the benchmark's budget per attack. As run: the budget each evaluation cell recorded.",
                List.of(new Column(null, "Attack", false), new Column(null, "Configured budget", false), new Column(null, "As run", false)), rows);
    }

    private Table metricTable(Group g, Metric metric, boolean flagWarnings) {
        List<ColumnKey> keys = g.columnKeys();
        List<Column> columns = new ArrayList<>();
        columns.add(new Column(null, "Defense", false));
        for (ColumnKey k : keys) columns.add(k == null ? new Column(null, "Clean", true) : new Column(g.variantLabel(k.variant()), Fmt.eps(k.eps255() / 255), true));

        List<String> defenses = new ArrayList<>(g.defenses);
        String[][] text = new String[defenses.size()][keys.size()];
        boolean[][] flagged = new boolean[defenses.size()][keys.size()];
        for (int d = 0; d < defenses.size(); d++) {
            for (int k = 0; k < keys.size(); k++) {
                CellResult c = g.cell(defenses.get(d), keys.get(k));
                if (c == null) continue;
                double v = keys.get(k) == null ? c.metric(metric.cleanKey()) : c.metric(metric.advKey());
                // A clean evaluation may store the metric only under its adversarial name (they coincide there).
                if (keys.get(k) == null && Double.isNaN(v)) v = c.metric(metric.advKey());
                text[d][k] = Fmt.percent(v);
                flagged[d][k] = flagWarnings && !c.warnings().isEmpty();
            }
        }
        boolean[][] best = bestPerColumn(text);
        boolean anyFlag = false;
        List<List<Cell>> rows = new ArrayList<>();
        for (int d = 0; d < defenses.size(); d++) {
            List<Cell> row = new ArrayList<>();
            row.add(Cell.of(defenses.get(d)));
            for (int k = 0; k < keys.size(); k++) {
                row.add(new Cell(text[d][k], best[d][k], flagged[d][k]));
                anyFlag |= flagged[d][k];
            }
            rows.add(row);
        }
        String note = "Rows: defense; columns: clean, then attack and ε (/255). Bold: best defense in the column.";
        if (anyFlag) note += " † the evaluation raised warnings (see Warnings).";
        return new Table(anchor(g.dataset + "-" + g.model + "-" + metric.anchorSuffix()),
                metric.title() + ": " + g.dataset + " / " + g.model, note, columns, rows);
    }

    /**
     * Bold goes to the highest value as printed, so two defenses that both show 45.7 are both
     * bold; a column with fewer than two values has no best.
     */
    private static boolean[][] bestPerColumn(String[][] text) {
        int rows = text.length, cols = rows == 0 ? 0 : text[0].length;
        boolean[][] best = new boolean[rows][cols];
        for (int k = 0; k < cols; k++) {
            double max = Double.NEGATIVE_INFINITY;
            int present = 0;
            for (String[] row : text) {
                if (row[k] == null) continue;
                present++;
                max = Math.max(max, Double.parseDouble(row[k]));
            }
            if (present < 2) continue;
            for (int d = 0; d < rows; d++) best[d][k] = text[d][k] != null && Double.parseDouble(text[d][k]) == max;
        }
        return best;
    }

    private List<Block> plots(Group g) {
        List<Block> blocks = new ArrayList<>();
        for (Map.Entry<AttackVariant, TreeSet<Double>> e : g.variants.entrySet()) {
            AttackVariant v = e.getKey();
            List<Double> eps255 = new ArrayList<>(e.getValue());
            List<EpsCurvePlot.Series> series = new ArrayList<>();
            for (String defense : g.defenses) {
                double[] x = new double[eps255.size() + 1], y = new double[eps255.size() + 1];
                CellResult clean = g.clean.get(defense);
                x[0] = 0;
                y[0] = clean == null ? Double.NaN : clean.robustAccuracy() * 100;
                boolean any = clean != null;
                for (int i = 0; i < eps255.size(); i++) {
                    CellResult c = g.cell(defense, new ColumnKey(v, eps255.get(i)));
                    x[i + 1] = eps255.get(i);
                    y[i + 1] = c == null ? Double.NaN : c.robustAccuracy() * 100;
                    any |= c != null;
                }
                if (any) series.add(new EpsCurvePlot.Series(defense, x, y));
            }
            String label = g.variantLabel(v);
            String title = "Robust accuracy vs ε: " + label + ", " + g.dataset + " / " + g.model;
            String caption = "Robust accuracy (%) against ε (/255) under " + label + ", one line per defense; ε = 0 is clean accuracy."
                    + (v.budget() == null || v.budget().isBlank() ? "" : " Budget: " + v.budget() + ".");
            String file = plotFile(g.dataset, g.model, label);
            String xLabel = "ε (/255)", yLabel = "Robust accuracy (%)";
            plots.add(new PlotFile(file, title, caption, EpsCurvePlot.svg(title, xLabel, yLabel, series, true),
                    EpsCurvePlot.svg(title, xLabel, yLabel, series, false)));
            blocks.add(new Image("eps-curve", title, caption, file, plots.get(plots.size() - 1).inlineSvg()));
        }
        return blocks;
    }

    private String plotFile(String dataset, String model, String attack) {
        String base = "plots/robust_" + slug(dataset) + "_" + slug(model) + "_" + slug(attack);
        String file = base + ".svg";
        // Different names can slug to the same file ("a b" and "a-b"); a counter keeps both plots.
        for (int n = 2; !plotFiles.add(file); n++) file = base + "-" + n + ".svg";
        return file;
    }

    private List<Block> transferTables() {
        record Key(String dataset, String attack, double eps255) {}
        Map<Key, List<TransferResult>> byKey = new LinkedHashMap<>();
        for (TransferResult t : results.transfers()) byKey.computeIfAbsent(new Key(t.dataset(), t.attack(), Fmt.eps255(t.eps())), k -> new ArrayList<>()).add(t);
        List<Block> blocks = new ArrayList<>();
        for (Map.Entry<Key, List<TransferResult>> e : byKey.entrySet()) {
            Key key = e.getKey();
            Set<String> sources = new LinkedHashSet<>(), targets = new LinkedHashSet<>();
            Map<String, TransferResult> cells = new LinkedHashMap<>();
            Map<String, Double> targetClean = new LinkedHashMap<>();
            for (TransferResult t : e.getValue()) {
                sources.add(t.source());
                targets.add(t.target());
                cells.putIfAbsent(t.source() + "\u0000" + t.target(), t);
                if (Double.isFinite(t.targetCleanAccuracy())) targetClean.putIfAbsent(t.target(), t.targetCleanAccuracy());
            }
            List<Column> columns = new ArrayList<>();
            columns.add(new Column(null, "Source", false));
            for (String t : targets) columns.add(new Column("Target", shortKey(key.dataset(), t), true));
            List<List<Cell>> rows = new ArrayList<>();
            List<Cell> cleanRow = new ArrayList<>();
            cleanRow.add(Cell.of("(clean)"));
            for (String t : targets) cleanRow.add(Cell.of(Fmt.percent(targetClean.getOrDefault(t, Double.NaN))));
            rows.add(cleanRow);
            for (String s : sources) {
                List<Cell> row = new ArrayList<>();
                row.add(Cell.of(shortKey(key.dataset(), s)));
                for (String t : targets) {
                    TransferResult c = cells.get(s + "\u0000" + t);
                    row.add(Cell.of(c == null ? null : Fmt.percent(c.targetRobustAccuracy())));
                }
                rows.add(row);
            }
            blocks.add(new Table(anchor("transfer-" + key.dataset() + "-" + key.attack() + "-" + Fmt.trim(key.eps255())),
                    "Transfer: " + key.attack() + " at ε " + Fmt.eps(key.eps255() / 255) + " on " + key.dataset(),
                    "Rows: source (surrogate) model; columns: target model; target robust accuracy (%). Keys are model/defense within " + key.dataset() + ".",
                    columns, rows));
        }
        return blocks;
    }

    /** The table's title already names the dataset, so keys drop it: "resnet18/pgd-at". */
    private static String shortKey(String dataset, String key) {
        return key.startsWith(dataset + "/") ? key.substring(dataset.length() + 1) : key;
    }

    private Table trainingTable() {
        List<Column> columns = List.of(new Column(null, "Dataset", false), new Column(null, "Model", false), new Column(null, "Defense", false),
                new Column(null, "Train ε", true), new Column(null, "Epochs", true), new Column(null, "Seconds", true),
                new Column(null, "Validation metric", false), new Column(null, "Value", true), new Column(null, "Cached", false));
        List<List<Cell>> rows = new ArrayList<>();
        for (TrainingResult t : results.trainings()) {
            rows.add(List.of(Cell.of(t.dataset()), Cell.of(t.model()), Cell.of(t.defense()), Cell.of(Fmt.eps(t.trainEps())),
                    Cell.of(Integer.toString(t.epochs())), Cell.of(Fmt.fixed(t.seconds(), 1)), Cell.of(t.valMetric()),
                    Cell.of(Fmt.fixed(t.valValue(), 4)), Cell.of(t.cached() ? "yes" : "no")));
        }
        return new Table(anchor("training-table"), "Trained models", "Cached: the weights were found in the cache by the hash of the training "
                + "configuration; their seconds are those of the run that trained them.", columns, rows);
    }

    private Table timeTable(Group g) {
        List<Column> columns = List.of(new Column(null, "Defense", false), new Column(null, "Attack", false), new Column(null, "ε", true),
                new Column(null, "Samples", true), new Column(null, "Seconds", true), new Column(null, "Images/s", true),
                new Column(null, "Gradient evaluations", true), new Column(null, "Queries", true));
        List<List<Cell>> rows = new ArrayList<>();
        for (CellResult c : g.cells) {
            double perSecond = c.metric("images_per_second");
            if (Double.isNaN(perSecond) && c.seconds() > 0) perSecond = c.samples() / c.seconds();
            rows.add(List.of(Cell.of(c.defense()), Cell.of(c.attack()), Cell.of(Fmt.eps(c.eps())), Cell.of(Integer.toString(c.samples())),
                    Cell.of(Fmt.fixed(c.seconds(), 2)), Cell.of(Fmt.fixed(perSecond, 1)), Cell.of(count(c.metric("gradient_evaluations"))),
                    Cell.of(count(c.metric("queries")))));
        }
        return new Table(anchor("time-" + g.dataset + "-" + g.model), "Attack time: " + g.dataset + " / " + g.model, null, columns, rows);
    }

    private static String count(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%,d", Math.round(v)).replace(',', ' ') : null;
    }

    private List<String> warnings() {
        List<String> out = new ArrayList<>();
        for (CellResult c : results.cells()) {
            for (String w : c.warnings()) out.add(c.modelKey() + ", " + c.attack() + " ε " + Fmt.eps(c.eps()) + ": " + w);
        }
        out.addAll(builderWarnings);
        return out;
    }

    private Heading heading(int level, String text) {
        return new Heading(level, text, anchor(text));
    }

    private String anchor(String text) {
        String base = slug(text);
        String a = base;
        for (int n = 2; !anchors.add(a); n++) a = base + "-" + n;
        return a;
    }

    /** Lower-case ASCII letters, digits, '.', '-' and '_': safe as a file name, URL fragment and LaTeX label. */
    static String slug(String s) {
        String t = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-").replaceAll("-{2,}", "-").replaceAll("^-|-$", "");
        return t.isEmpty() ? "x" : t;
    }
}
