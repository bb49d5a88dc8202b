package org.advmia.benchmark.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.advmia.benchmark.DetectionCell;
import org.advmia.benchmark.report.ReportDocument.Block;
import org.advmia.benchmark.report.ReportDocument.Bullets;
import org.advmia.benchmark.report.ReportDocument.Cell;
import org.advmia.benchmark.report.ReportDocument.Column;
import org.advmia.benchmark.report.ReportDocument.Paragraph;
import org.advmia.benchmark.report.ReportDocument.Table;
import org.advmia.defense.detect.DetectionQuality;

/** The report's detection section and detection.csv. */
final class DetectionTables {
    static final String CSV = "detection.csv";

    private DetectionTables() {}

    static List<Block> blocks(List<DetectionCell> cells, Function<String, String> anchor) {
        List<Block> blocks = new ArrayList<>();
        blocks.add(new Paragraph("Adversarial-example detectors fitted on each model's features (LID, Mahalanobis, KD-BU), "
                + "per attack and ε: AUROC and TPR at 5 % FPR separating the clean test inputs the model classifies "
                + "correctly from their successful adversarial versions (the model misclassifies them), first against "
                + "the attack the detector was fitted on, then against " + "pgd-adaptive-detector, which knows the "
                + "detector and descends its score while fooling the model. A detector is only as good as its adaptive "
                + "column. Counts and the numbers over all adversarial inputs (successful or not) are in " + CSV
                + " and results.json."));
        Map<String, List<DetectionCell>> byDataset = new LinkedHashMap<>();
        for (DetectionCell c : cells) byDataset.computeIfAbsent(c.dataset(), k -> new ArrayList<>()).add(c);
        List<String> notes = new ArrayList<>();
        for (Map.Entry<String, List<DetectionCell>> e : byDataset.entrySet()) {
            List<Column> columns = List.of(new Column(null, "Model", false), new Column(null, "Detector", false),
                    new Column(null, "Attack", false), new Column(null, "ε", true), new Column(null, "Clean", true),
                    new Column("Non-adaptive", "Successful", true), new Column("Non-adaptive", "AUROC", true),
                    new Column("Non-adaptive", "TPR@5%FPR (%)", true), new Column("Adaptive", "Successful", true),
                    new Column("Adaptive", "AUROC", true), new Column("Adaptive", "TPR@5%FPR (%)", true));
            List<List<Cell>> rows = new ArrayList<>();
            for (DetectionCell c : e.getValue()) {
                boolean flagged = !c.note().isEmpty();
                if (flagged) notes.add(c.modelKey() + " " + c.detector() + " vs " + c.attack() + " at ε " + Fmt.eps(c.eps())
                        + ": " + c.note());
                DetectionQuality s = c.standard(), a = c.adaptive();
                rows.add(List.of(Cell.of(c.model() + "/" + c.defense()), Cell.of(c.detector()), Cell.of(c.attack()),
                        Cell.of(Fmt.eps(c.eps())), new Cell(Integer.toString(s.clean()), false, flagged),
                        Cell.of(Integer.toString(s.successful())), Cell.of(Fmt.fixed(s.aurocSuccessful(), 3)),
                        Cell.of(Fmt.percent(s.tprSuccessful())), Cell.of(Integer.toString(a.successful())),
                        Cell.of(Fmt.fixed(a.aurocSuccessful(), 3)), Cell.of(Fmt.percent(a.tprSuccessful()))));
            }
            blocks.add(new Table(anchor.apply("detection-" + e.getKey()), "Detection on " + e.getKey(),
                    "AUROC and TPR over successful adversarial examples; " + e.getValue().get(0).adaptiveBudget()
                            + " for the adaptive columns. TPR at 5 % FPR: an input is flagged when its score exceeds"
                            + " the (a+1)-th largest clean score, a = floor(0.05 × clean), so clean ties are never flagged.",
                    columns, rows));
        }
        if (!notes.isEmpty()) blocks.add(new Bullets(notes, true));
        return blocks;
    }

    static String csv(List<DetectionCell> cells) {
        List<String> header = List.of("dataset", "model", "defense", "detector", "attack", "eps", "eps_255", "fit_clean",
                "fit_adversarial", "clean", "adversarial", "successful", "auroc", "tpr_at_5_fpr", "auroc_successful",
                "tpr_at_5_fpr_successful", "adaptive_adversarial", "adaptive_successful", "adaptive_auroc",
                "adaptive_tpr_at_5_fpr", "adaptive_auroc_successful", "adaptive_tpr_at_5_fpr_successful", "adaptive_budget",
                "seconds", "note");
        StringBuilder b = new StringBuilder();
        row(header, b);
        for (DetectionCell c : cells) {
            DetectionQuality s = c.standard(), a = c.adaptive();
            row(List.of(c.dataset(), c.model(), c.defense(), c.detector(), c.attack(), Fmt.csvNumber(c.eps()),
                    Fmt.csvNumber(Fmt.eps255(c.eps())), Integer.toString(c.fitClean()), Integer.toString(c.fitAdversarial()),
                    Integer.toString(s.clean()), Integer.toString(s.adversarial()), Integer.toString(s.successful()),
                    Fmt.csvNumber(s.auroc()), Fmt.csvNumber(s.tpr()), Fmt.csvNumber(s.aurocSuccessful()),
                    Fmt.csvNumber(s.tprSuccessful()), Integer.toString(a.adversarial()), Integer.toString(a.successful()),
                    Fmt.csvNumber(a.auroc()), Fmt.csvNumber(a.tpr()), Fmt.csvNumber(a.aurocSuccessful()),
                    Fmt.csvNumber(a.tprSuccessful()), c.adaptiveBudget(), Fmt.csvNumber(c.seconds()), c.note()), b);
        }
        return b.toString();
    }

    private static void row(List<String> fields, StringBuilder b) {
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) b.append(',');
            b.append(ResultsCsv.field(fields.get(i)));
        }
        b.append("\r\n");
    }
}
