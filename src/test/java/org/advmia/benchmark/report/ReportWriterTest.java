package org.advmia.benchmark.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;

import org.advmia.benchmark.BenchmarkResults;
import org.advmia.benchmark.CellResult;
import org.advmia.benchmark.Figure;
import org.advmia.benchmark.TrainingResult;
import org.advmia.benchmark.TransferResult;
import org.advmia.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class ReportWriterTest {
    // Names with underscores, so every format's escaping is exercised by ordinary data.
    static final String CLS = "chest_xray", CLS_MODEL = "resnet18", SEG = "isic_seg", SEG_MODEL = "unet", ML = "chexpert_ml",
            ML_MODEL = "densenet121";
    static final List<String> DEFENSES = List.of("none", "pgd_at");
    static final double EPS2 = 2 / 255.0, EPS8 = 8 / 255.0;
    // The segmentation cells carry ε as it arrives from float code: 8.00000047/255.
    static final double EPS8_FLOAT = 8f / 255f;
    static final String PGD_BUDGET = "PGD-20, step 2/255";
    static final String SQUARE_BUDGET = "Square 500 queries, \"p_init\" 0.8";
    static final String MASKING = "gradient masking suspected: gradients are zero on 40% of inputs";

    /**
     * Robust accuracy by defense and column for the classification dataset. The values are
     * chosen so one-decimal rounding goes both ways (30.449 -> 30.4, 70.051 -> 70.1), and so a
     * different defense wins different columns.
     */
    static final Map<String, double[]> CLS_ACCURACY = Map.of(
            // clean, pgd 2, pgd 8, square 2, square 8
            "none", new double[] {0.91234, 0.30449, 0.01, 0.62, 0.22222},
            "pgd_at", new double[] {0.84567, 0.70051, 0.45678, 0.61994, 0.5});

    @TempDir
    Path tmp;

    static CellResult cell(String dataset, String task, String model, String defense, String attack, String budget, double eps,
                           Map<String, Double> metrics, List<String> warnings) {
        return new CellResult(dataset, task, model, defense, attack, budget, eps, 200, 12.5 + eps * 1000, metrics, warnings);
    }

    static BenchmarkResults results(Path outDir) throws IOException {
        List<CellResult> cells = new ArrayList<>();
        String[] attacks = {CellResult.CLEAN, "pgd", "pgd", "square", "square"};
        double[] eps = {0, EPS2, EPS8, EPS2, EPS8};
        for (String defense : DEFENSES) {
            double[] acc = CLS_ACCURACY.get(defense);
            for (int k = 0; k < attacks.length; k++) {
                Map<String, Double> m = new HashMap<>();
                m.put("clean_accuracy", acc[0]);
                m.put("robust_accuracy", acc[k]);
                m.put("attack_success_rate", 1 - acc[k] / acc[0]);
                m.put("macro_f1_clean", acc[0] * 0.95);
                m.put("macro_f1_adversarial", acc[k] * 0.95);
                m.put("macro_precision_adversarial", acc[k] - 0.01);
                m.put("images_per_second", 123.456 + k);
                m.put("gradient_evaluations", attacks[k].equals("pgd") ? 4000.0 : 0.0);
                m.put("queries", attacks[k].equals("square") ? 100000.0 : 0.0);
                String budget = switch (attacks[k]) {
                    case "pgd" -> PGD_BUDGET;
                    case "square" -> SQUARE_BUDGET;
                    default -> "";
                };
                List<String> warnings = defense.equals("none") && k == 2 ? List.of(MASKING) : List.of();
                cells.add(cell(CLS, "classification", CLS_MODEL, defense, attacks[k], budget, eps[k], m, warnings));
            }
        }
        for (String defense : DEFENSES) {
            double shift = defense.equals("none") ? 0 : 0.1;
            cells.add(cell(SEG, "segmentation", SEG_MODEL, defense, CellResult.CLEAN, "", 0, Map.of("clean_accuracy", 0.8,
                    "robust_accuracy", 0.8, "dice_clean", 0.8123, "dice_adversarial", 0.8123, "miou_clean", 0.7011,
                    "miou_adversarial", 0.7011), List.of()));
            cells.add(cell(SEG, "segmentation", SEG_MODEL, defense, "pgd", PGD_BUDGET, EPS8_FLOAT, Map.of("clean_accuracy", 0.8,
                    "robust_accuracy", 0.3 + shift, "dice_clean", 0.8123, "dice_adversarial", 0.4049 + shift, "miou_clean", 0.7011,
                    "miou_adversarial", 0.2551 + shift, "pixel_accuracy_adversarial", 0.6), List.of()));
        }
        cells.add(cell(ML, "multilabel", ML_MODEL, "none", CellResult.CLEAN, "", 0,
                Map.of("clean_accuracy", 0.4, "robust_accuracy", 0.4, "mean_auc_clean", 0.7777, "mean_auc_adversarial", 0.7777), List.of()));
        cells.add(cell(ML, "multilabel", ML_MODEL, "none", "pgd", PGD_BUDGET, EPS2,
                Map.of("clean_accuracy", 0.4, "robust_accuracy", 0.1, "mean_auc_clean", 0.7777, "mean_auc_adversarial", 0.5151), List.of()));

        List<TrainingResult> trainings = List.of(
                new TrainingResult(CLS, CLS_MODEL, "none", 0, 10, 321.25, "val_accuracy", 0.9012, "ab12", "w/none.safetensors", false),
                new TrainingResult(CLS, CLS_MODEL, "pgd_at", EPS8, 10, 1234.5, "val_accuracy", 0.8333, "cd34", "w/pgd_at.safetensors", true));

        List<TransferResult> transfers = new ArrayList<>();
        String a = CLS + "/" + CLS_MODEL + "/none", b = CLS + "/" + CLS_MODEL + "/pgd_at", c = CLS + "/densenet121/none";
        transfers.add(new TransferResult(CLS, "pgd", EPS8, a, a, 200, 0.91234, 0.01, 3));
        transfers.add(new TransferResult(CLS, "pgd", EPS8, a, b, 200, 0.84567, 0.81111, 3));
        transfers.add(new TransferResult(CLS, "pgd", EPS8, a, c, 200, 0.88, 0.33333, 3));
        transfers.add(new TransferResult(CLS, "pgd", EPS8, b, a, 200, 0.91234, 0.55555, 3));
        transfers.add(new TransferResult(CLS, "pgd", EPS8, b, b, 200, 0.84567, 0.45678, 3));

        Files.createDirectories(outDir.resolve("figures"));
        BufferedImage img = new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 4; y++) for (int x = 0; x < 6; x++) img.setRGB(x, y, (x * 40) << 16 | (y * 60) << 8 | 0x80);
        assertTrue(ImageIO.write(img, "png", outDir.resolve("figures/grid.png").toFile()));
        List<Figure> figures = List.of(new Figure("adversarial-grid", "Adversarial examples", "Clean, adversarial and 10x perturbation",
                Path.of("figures/grid.png")));

        Map<String, String> budgets = new LinkedHashMap<>();
        budgets.put("pgd", PGD_BUDGET);
        budgets.put("AutoAttack", "APGD-CE/APGD-T 20 steps, FAB-T 20 steps, Square 500 queries");
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("backend", "cpu (OpenBLAS)");
        environment.put("threads", "2");
        environment.put("jvm_flags", "-Xmx<4g> & more");
        environment.put("docs", "https://example.org/advmia and http://mirror.example.org");
        return new BenchmarkResults("smoke_run #1", "datasets: [chest_xray]\nattacks: [pgd, square]\n", budgets, environment,
                2000, 1960, trainings, cells, transfers, figures);
    }

    private BenchmarkResults writeReport() throws IOException {
        BenchmarkResults r = results(tmp);
        ReportWriter.write(r, tmp);
        return r;
    }

    private String read(String file) throws IOException {
        return Files.readString(tmp.resolve(file), StandardCharsets.UTF_8);
    }

    static String pct(double fraction) {
        return String.format(Locale.ROOT, "%.1f", fraction * 100);
    }

    /** A Markdown pipe table under the bold title line, as rows of trimmed cells (header first). */
    static List<List<String>> markdownTable(String md, String title) {
        String[] lines = md.split("\n");
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].equals("**" + title + "**")) continue;
            List<List<String>> rows = new ArrayList<>();
            int k = i + 1;
            while (k < lines.length && lines[k].isBlank()) k++;
            for (; k < lines.length && lines[k].startsWith("|"); k++) {
                if (lines[k].contains("---")) continue;
                List<String> cells = new ArrayList<>();
                // Split on '|' not preceded by the Markdown escape.
                for (String part : lines[k].substring(1, lines[k].length() - 1).split("(?<!\\\\)\\|")) cells.add(part.trim());
                rows.add(cells);
            }
            return rows;
        }
        throw new AssertionError("no table titled " + title + " in:\n" + md);
    }

    @Test
    void robustAccuracyTableShowsRoundedPercentagesAndBoldsTheBestDefense() throws IOException {
        writeReport();
        String md = read("report.md");
        List<List<String>> table = markdownTable(md, "Robust accuracy (%): chest\\_xray / resnet18");
        assertEquals(List.of("Defense", "Clean", "pgd 2/255", "pgd 8/255", "square 2/255", "square 8/255"), table.get(0));
        assertEquals(3, table.size());
        for (int col = 0; col < 5; col++) {
            double best = Math.max(CLS_ACCURACY.get("none")[col], CLS_ACCURACY.get("pgd_at")[col]);
            for (List<String> row : table.subList(1, 3)) {
                String defense = row.get(0).replace("\\_", "_");
                double v = CLS_ACCURACY.get(defense)[col];
                String expected = pct(v);
                // Square at 2/255: 62.0 vs 61.994 print as 62.0 both, so both are best as printed.
                boolean bold = pct(v).equals(pct(best));
                String shown = row.get(col + 1).replace(" †", "");
                assertEquals(bold ? "**" + expected + "**" : expected, shown, defense + " column " + col);
            }
        }
        // Rounding both ways, checked by hand rather than by the formula above.
        assertTrue(md.contains("| 30.4 |"), "30.449 rounds to 30.4");
        assertTrue(md.contains("| **70.1** |"), "70.051 rounds to 70.1 and beats 30.4");
        assertEquals("**62.0**", table.get(1).get(4), "62.0 and 61.994 tie as printed: both bold");
        assertEquals("**62.0**", table.get(2).get(4), "62.0 and 61.994 tie as printed: both bold");
        // The cell that raised a warning carries the dagger in the robust table.
        assertTrue(table.get(1).get(3).endsWith("†"), "none / pgd 8/255 raised a warning");
    }

    @Test
    void taskTablesFollowTheMetricsPresent() throws IOException {
        writeReport();
        String md = read("report.md");
        List<List<String>> f1 = markdownTable(md, "Macro F1 under attack (%): chest\\_xray / resnet18");
        assertEquals(pct(CLS_ACCURACY.get("pgd_at")[2] * 0.95), f1.get(2).get(3).replace("**", ""));
        List<List<String>> dice = markdownTable(md, "Dice (%): isic\\_seg / unet");
        assertEquals(List.of("Defense", "Clean", "pgd 8/255"), dice.get(0));
        assertEquals(List.of("none", pct(0.8123), pct(0.4049)), dice.get(1).stream().map(s -> s.replace("**", "")).toList());
        assertEquals("**" + pct(0.5049) + "**", dice.get(2).get(2));
        List<List<String>> miou = markdownTable(md, "mIoU (%): isic\\_seg / unet");
        assertEquals(pct(0.2551), miou.get(1).get(2));
        List<List<String>> auc = markdownTable(md, "Mean AUC (%): chexpert\\_ml / densenet121");
        assertEquals(List.of("none", pct(0.7777), pct(0.5151)), auc.get(1));
        // A table appears only for the dataset whose cells carry its metric.
        assertFalse(md.contains("Dice (%): chest"), "no Dice table for classification");
        assertFalse(md.contains("Macro F1 under attack (%): isic"), "no F1 table for segmentation");
        assertFalse(md.contains("Mean AUC (%): isic"), "no AUC table for segmentation");
    }

    @Test
    void transferMatrixPlacesTargetAccuracyBySourceAndTarget() throws IOException {
        BenchmarkResults r = writeReport();
        List<List<String>> t = markdownTable(read("report.md"), "Transfer: pgd at ε 8/255 on chest\\_xray");
        List<String> header = t.get(0);
        assertEquals("Source", header.get(0));
        for (TransferResult tr : r.transfers()) {
            String source = tr.source().substring(CLS.length() + 1).replace("_", "\\_");
            String target = tr.target().substring(CLS.length() + 1).replace("_", "\\_");
            int col = header.indexOf("Target " + target);
            assertTrue(col > 0, "column for " + target + " in " + header);
            List<String> row = t.stream().filter(x -> x.get(0).equals(source)).findFirst().orElseThrow();
            assertEquals(pct(tr.targetRobustAccuracy()), row.get(col), tr.source() + " -> " + tr.target());
            assertEquals(pct(tr.targetCleanAccuracy()), t.get(1).get(col), "clean row, " + tr.target());
        }
        // pgd_at was never a source against densenet121: the cell is missing, not zero.
        List<String> fromAt = t.stream().filter(x -> x.get(0).equals("resnet18/pgd\\_at")).findFirst().orElseThrow();
        assertEquals("–", fromAt.get(header.indexOf("Target densenet121/none")));
    }

    @Test
    void budgetsTrainingEnvironmentRunTimeAndWarningsAreReported() throws IOException {
        BenchmarkResults r = writeReport();
        String md = read("report.md"), html = read("report.html"), tex = read("report.tex");
        for (CellResult c : r.cells()) {
            if (c.attack().equals(CellResult.CLEAN)) continue;
            assertTrue(md.contains(MarkdownRenderer.esc(c.budget())), "md names the budget of " + c.attack());
            assertTrue(html.contains(HtmlRenderer.esc(c.budget())), "html names the budget of " + c.attack());
            assertTrue(tex.contains(LatexRenderer.esc(c.budget())), "tex names the budget of " + c.attack());
        }
        for (String b : r.budgets().values()) assertTrue(html.contains(HtmlRenderer.esc(b)), b);
        // Wall 2000 s, engine 1960 s: 2.00 % overhead, which is at (not above) the target.
        String runLine = md.lines().filter(l -> l.startsWith("Run time:")).findFirst().orElseThrow();
        assertTrue(runLine.contains("2000.0 s"), runLine);
        assertTrue(runLine.contains("1960.0 s"), runLine);
        assertTrue(runLine.contains("2.00 %"), runLine);
        assertFalse(runLine.contains("above"), "2.00 % as printed is not above the 2 % target: " + runLine);
        for (String v : r.environment().values()) assertTrue(html.contains(HtmlRenderer.esc(v)), v);
        assertTrue(md.contains(MASKING.replace("_", "\\_")) && html.contains(MASKING), "the masking warning is listed");
        assertTrue(md.contains("chest\\_xray/resnet18/none, pgd ε 8/255: " + MASKING), "the warning names its cell");
        List<List<String>> training = markdownTable(md, "Trained models");
        assertEquals(List.of("chest\\_xray", "resnet18", "pgd\\_at", "8/255", "10", "1234.5", "val\\_accuracy", "0.8333", "yes"),
                training.get(2));
        List<List<String>> time = markdownTable(md, "Attack time: chest\\_xray / resnet18");
        assertEquals(11, time.size(), "one row per cell");
        assertEquals(List.of("pgd\\_at", "square", "8/255", "200", String.format(Locale.ROOT, "%.2f", 12.5 + EPS8 * 1000), "127.5",
                "0", "100 000"), time.get(10));
    }

    /** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    field.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.add(field.toString());
                field.setLength(0);
            } else if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                row.add(field.toString());
                field.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
                i++;
            } else {
                field.append(c);
            }
        }
        assertFalse(quoted, "unterminated quote");
        assertTrue(row.isEmpty() && field.length() == 0, "the last record ends with CRLF");
        return rows;
    }

    @Test
    void csvParsesBackToTheCellNumbers() throws IOException {
        BenchmarkResults r = writeReport();
        List<List<String>> rows = parseCsv(read("results.csv"));
        TreeSet<String> keys = new TreeSet<>();
        for (CellResult c : r.cells()) keys.addAll(c.metrics().keySet());
        List<String> expectedHeader = new ArrayList<>(List.of("dataset", "task", "model", "defense", "attack", "budget", "eps", "eps_255",
                "samples", "seconds"));
        expectedHeader.addAll(keys);
        assertEquals(expectedHeader, rows.get(0));
        assertEquals(r.cells().size() + 1, rows.size());
        for (int i = 0; i < r.cells().size(); i++) {
            CellResult c = r.cells().get(i);
            Map<String, String> row = new HashMap<>();
            for (int k = 0; k < expectedHeader.size(); k++) row.put(expectedHeader.get(k), rows.get(i + 1).get(k));
            assertEquals(c.dataset(), row.get("dataset"));
            assertEquals(c.defense(), row.get("defense"));
            assertEquals(c.budget(), row.get("budget"), "quoted budget reads back");
            assertEquals(c.eps(), Double.parseDouble(row.get("eps")));
            assertEquals(c.eps() * 255, Double.parseDouble(row.get("eps_255")), 1e-6);
            if (c.dataset().equals(SEG) && !c.attack().equals(CellResult.CLEAN)) assertEquals("8", row.get("eps_255"), "float ε is still 8/255");
            assertEquals(c.samples(), Integer.parseInt(row.get("samples")));
            assertEquals(c.seconds(), Double.parseDouble(row.get("seconds")));
            for (String k : keys) {
                if (c.metrics().containsKey(k)) assertEquals(c.metric(k), Double.parseDouble(row.get(k)), k);
                else assertEquals("", row.get(k), "a metric the task lacks is empty: " + k);
            }
        }
    }

    @Test
    void jsonParsesAndReadsBackToTheSameResults() throws IOException {
        BenchmarkResults r = writeReport();
        Map<?, ?> json = (Map<?, ?>) Json.parse(read("results.json"), "results.json");
        for (String k : List.of("name", "environment", "budgets", "wall_seconds", "engine_seconds", "harness_overhead", "trainings", "cells",
                "transfers", "figures")) {
            assertTrue(json.containsKey(k), k);
        }
        assertEquals(r.name(), json.get("name"));
        assertEquals(r.harnessOverhead(), ((Number) json.get("harness_overhead")).doubleValue(), 1e-12);
        List<?> cells = (List<?>) json.get("cells");
        assertEquals(r.cells().size(), cells.size());
        for (int i = 0; i < cells.size(); i++) assertEquals(r.cells().get(i), CellResult.fromMap((Map<?, ?>) cells.get(i)));
        List<?> figures = (List<?>) json.get("figures");
        long curves = figures.stream().filter(f -> "eps-curve".equals(((Map<?, ?>) f).get("kind"))).count();
        // chest_xray/resnet18: pgd and square; isic_seg/unet: pgd; chexpert_ml/densenet121: pgd.
        assertEquals(4, curves);
        for (Object f : figures) assertTrue(Files.isRegularFile(tmp.resolve((String) ((Map<?, ?>) f).get("file"))), f.toString());

        BenchmarkResults back = ReportWriter.readResults(tmp.resolve("results.json"));
        assertEquals(r.cells(), back.cells());
        assertEquals(r.trainings(), back.trainings());
        assertEquals(r.transfers(), back.transfers());
        assertEquals(r.budgets(), back.budgets());
        assertEquals(r.environment(), back.environment());
        assertEquals(r.configSource(), back.configSource());
        assertEquals(r.figures().size() + curves, back.figures().size());

        // Writing the read-back results again regenerates the curves without listing them twice.
        ReportWriter.write(back, tmp);
        List<?> again = (List<?>) ((Map<?, ?>) Json.parse(read("results.json"), "again")).get("figures");
        assertEquals(figures, again);
    }

    @Test
    void htmlIsSelfContainedAndEscaped() throws Exception {
        writeReport();
        String html = read("report.html");
        assertFalse(html.contains("http://"), "no http:// in the HTML");
        assertFalse(html.contains("https://"), "no https:// in the HTML");
        Matcher src = Pattern.compile("\\bsrc\\s*=\\s*\"([^\"]*)\"").matcher(html);
        int images = 0;
        while (src.find()) {
            assertTrue(src.group(1).startsWith("data:"), "src must be a data URI: " + src.group(1).substring(0, Math.min(80, src.group(1).length())));
            images++;
        }
        assertEquals(1, images, "the PNG figure is the one <img>; plots are inline SVG");
        Matcher href = Pattern.compile("\\bhref\\s*=\\s*\"([^\"]*)\"").matcher(html);
        while (href.find()) assertTrue(href.group(1).startsWith("#"), "links stay inside the page: " + href.group(1));
        assertFalse(html.contains("<link") || html.contains("<script") || html.contains("@import") || html.contains("url("));

        Matcher png = Pattern.compile("data:image/png;base64,([A-Za-z0-9+/=]+)").matcher(html);
        assertTrue(png.find());
        byte[] inlined = Base64.getDecoder().decode(png.group(1));
        assertArrayEquals(Files.readAllBytes(tmp.resolve("figures/grid.png")), inlined);
        BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(inlined));
        assertEquals(6, decoded.getWidth());

        assertTrue(html.contains("-Xmx&lt;4g&gt; &amp; more"), "environment text is escaped");
        assertFalse(html.contains("<4g>"));
        assertTrue(html.contains("<title>smoke_run #1</title>"));
        // Every inline plot parses as XML on its own.
        Matcher svg = Pattern.compile("<svg.*?</svg>", Pattern.DOTALL).matcher(html);
        int plots = 0;
        while (svg.find()) {
            parseXml(svg.group());
            plots++;
        }
        assertEquals(4, plots);
        // Best cells are marked in the HTML too.
        assertTrue(html.contains("<td class=\"num best\">" + pct(CLS_ACCURACY.get("pgd_at")[2]) + "</td>"));
    }

    static Document parseXml(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(xml.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void svgPlotsAreWellFormedAndPlotEveryCell() throws Exception {
        BenchmarkResults r = results(tmp);
        List<Path> written = ReportWriter.write(r, tmp);
        List<Path> svgs = written.stream().filter(p -> p.toString().endsWith(".svg")).toList();
        assertEquals(4, svgs.size());
        String md = read("report.md");
        for (Path p : svgs) {
            assertTrue(p.startsWith(tmp.resolve("plots")), p.toString());
            assertTrue(md.contains("](" + tmp.relativize(p).toString().replace(File.separatorChar, '/') + ")"), "md links " + p);
            Document doc = parseXml(Files.readString(p));
            Element root = doc.getDocumentElement();
            assertEquals("svg", root.getLocalName());
            assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI(), "a standalone SVG file declares its namespace");
        }
        Path pgdPlot = svgs.stream().filter(p -> p.getFileName().toString().contains("chest") && p.getFileName().toString().contains("pgd"))
                .findFirst().orElseThrow();
        Document doc = parseXml(Files.readString(pgdPlot));
        assertEquals(2, doc.getElementsByTagName("polyline").getLength(), "one line per defense");
        StringBuilder texts = new StringBuilder();
        NodeList t = doc.getElementsByTagName("text");
        for (int i = 0; i < t.getLength(); i++) texts.append(t.item(i).getTextContent()).append('\n');
        assertTrue(texts.toString().contains("ε (/255)"), "x axis label");
        assertTrue(texts.toString().contains("Robust accuracy (%)"), "y axis label");
        assertTrue(texts.toString().contains("pgd_at"), "legend");
        assertTrue(texts.toString().contains("\n100\n"), "y ticks reach 100");

        // Each point's tooltip names its value, and a higher accuracy sits higher (smaller cy).
        NodeList circles = doc.getElementsByTagName("circle");
        for (String defense : DEFENSES) {
            double[] acc = CLS_ACCURACY.get(defense);
            double[] values = {acc[0], acc[1], acc[2]};
            String[] eps = {"0", "2", "8"};
            double[] cy = new double[3];
            for (int k = 0; k < 3; k++) {
                String label = defense + ": ε " + eps[k] + "/255, " + pct(values[k]) + " %";
                Element found = null;
                for (int i = 0; i < circles.getLength(); i++) {
                    Element e = (Element) circles.item(i);
                    if (e.getTextContent().equals(label)) found = e;
                }
                assertNotNull(found, "a point titled " + label);
                cy[k] = Double.parseDouble(found.getAttribute("cy"));
            }
            for (int a = 0; a < 3; a++) {
                for (int b = 0; b < 3; b++) if (values[a] > values[b]) assertTrue(cy[a] < cy[b], defense + " point order");
            }
        }
    }

    @Test
    void latexUsesBooktabsAndEscapes() throws IOException {
        writeReport();
        String tex = read("report.tex");
        assertTrue(tex.contains("\\documentclass") && tex.contains("\\usepackage{booktabs}") && tex.contains("\\end{document}"));
        assertTrue(tex.contains("\\toprule") && tex.contains("\\midrule") && tex.contains("\\bottomrule"));
        assertTrue(tex.contains("chest\\_xray") && tex.contains("pgd\\_at"));
        // Text is escaped everywhere except inside verbatim (the configuration), label names and
        // comments, which LaTeX does not typeset.
        String body = tex.replaceAll("(?s)\\\\begin\\{verbatim\\}.*?\\\\end\\{verbatim\\}", "")
                .replaceAll("\\\\label\\{[^}]*\\}", "")
                .replaceAll("(?m)^%.*$", "")
                .replaceAll("(?m)%$", "");
        assertFalse(Pattern.compile("(?<!\\\\)_").matcher(body).find(), "unescaped _");
        assertFalse(Pattern.compile("(?<!\\\\)%").matcher(body).find(), "unescaped %");
        assertFalse(Pattern.compile("(?<!\\\\)&(?! )").matcher(body.replace(" & ", " ")).find(), "unescaped & outside column separators");
        assertTrue(body.contains("40\\% of inputs"), "the warning's % is escaped");
        assertTrue(body.contains("\\#1"), "the run name's # is escaped");
        assertTrue(body.contains("-Xmx\\textless{}4g\\textgreater{} \\& more"));
        assertTrue(tex.contains("\\textbf{" + pct(CLS_ACCURACY.get("pgd_at")[2]) + "}"), "best defense in bold");
        assertTrue(tex.contains("\\multicolumn{2}{c}{pgd}"), "attack over its two ε columns");
    }

    @Test
    void latexCompilesWithPdflatexWhenInstalled() throws Exception {
        assumeTrue(onPath("pdflatex"), "pdflatex is not installed");
        writeReport();
        Process p = new ProcessBuilder("pdflatex", "-interaction=nonstopmode", "-halt-on-error", "report.tex")
                .directory(tmp.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log.substring(Math.max(0, log.length() - 3000)));
        assertTrue(Files.size(tmp.resolve("report.pdf")) > 1000);
    }

    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(File.pathSeparator)) if (Files.isExecutable(Path.of(dir, program))) return true;
        return false;
    }

    @Test
    void writesEveryFileAndLeavesNoTemporaries() throws IOException {
        BenchmarkResults r = results(tmp);
        Files.writeString(tmp.resolve("report.md"), "stale report from an earlier run");
        List<Path> written = ReportWriter.write(r, tmp);
        for (String name : List.of("report.md", "report.tex", "report.html", "results.csv", "results.json")) {
            assertTrue(written.contains(tmp.resolve(name)), name);
        }
        for (Path p : written) assertTrue(Files.size(p) > 0, p.toString());
        assertFalse(read("report.md").contains("stale"), "the old report is replaced");
        try (Stream<Path> all = Files.walk(tmp)) {
            assertEquals(List.of(), all.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList());
        }
    }

    @Test
    void epsAxisTicksAreRoundAndCoverTheData() {
        assertArrayEquals(new double[] {0, 2, 4, 6, 8}, EpsCurvePlot.niceTicks(8));
        assertArrayEquals(new double[] {0, 4, 8, 12, 16}, EpsCurvePlot.niceTicks(16));
        assertArrayEquals(new double[] {0, 2, 4, 6, 8}, EpsCurvePlot.niceTicks(7.65));
        assertArrayEquals(new double[] {0, 0.25, 0.5, 0.75, 1}, EpsCurvePlot.niceTicks(1));
        assertArrayEquals(new double[] {0, 0.1, 0.2, 0.3}, EpsCurvePlot.niceTicks(0.3));
        for (double max : new double[] {0.07, 1.3, 3, 12, 33, 100, 255}) {
            double[] t = EpsCurvePlot.niceTicks(max);
            assertTrue(t.length >= 4 && t.length <= 9, max + ": " + t.length + " ticks");
            assertTrue(t[t.length - 1] >= max && t[t.length - 2] < max, max + " is inside the last interval");
        }
    }

    /**
     * Not a check: with -Dadvmia.report.sample=DIR the test data's report is written to DIR, for
     * a look in a browser or scripts/render_report.sh DIR/report.html shot.png.
     */
    @Test
    void writesTheSampleReportWhenAsked() throws IOException {
        String dir = System.getProperty("advmia.report.sample");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dadvmia.report.sample=DIR to keep a sample report");
        Path out = Path.of(dir);
        Files.createDirectories(out);
        ReportWriter.write(results(out), out);
    }

    @Test
    void emptyResultsStillWriteAReport() throws IOException {
        BenchmarkResults empty = new BenchmarkResults("empty", null, Map.of(), Map.of(), 0, 0, List.of(), List.of(), List.of(), List.of());
        ReportWriter.write(empty, tmp);
        assertTrue(read("report.md").contains("No evaluation cells were recorded."));
        assertEquals("dataset,task,model,defense,attack,budget,eps,eps_255,samples,seconds\r\n", read("results.csv"));
        assertTrue(read("report.md").contains("harness overhead not measured"));
        assertTrue(read("report.md").contains("No training was recorded."));
    }
}
