package org.advmia.benchmark;

import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.defense.detect.DetectionQuality;

/**
 * One detection cell of the benchmark: a detector fitted on one trained model (dataset, model,
 * defense) against one attack at one ε, measured against that attack ({@code standard}) and
 * against the adaptive attack that knows the detector ({@code adaptive}, budget in
 * {@code adaptiveBudget}). See {@link DetectionQuality} for the counts and metrics. note is empty,
 * or says why the cell has no numbers (e.g. the attack fooled too few fit inputs to fit a detector).
 */
public record DetectionCell(String dataset, String model, String defense, String detector, String attack, double eps,
                            int fitClean, int fitAdversarial, DetectionQuality standard, DetectionQuality adaptive,
                            String adaptiveBudget, double seconds, String note) {
    public String modelKey() {
        return dataset + "/" + model + "/" + defense;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("model", model);
        m.put("defense", defense);
        m.put("detector", detector);
        m.put("attack", attack);
        m.put("eps", eps);
        m.put("fit_clean", fitClean);
        m.put("fit_adversarial", fitAdversarial);
        m.put("standard", standard.toMap());
        m.put("adaptive", adaptive.toMap());
        m.put("adaptive_budget", adaptiveBudget);
        m.put("seconds", seconds);
        m.put("note", note);
        return m;
    }

    /** A cell that could not be measured, with the reason. */
    static DetectionCell unmeasured(String dataset, String model, String defense, String detector, String attack, double eps,
                                    String adaptiveBudget, String note) {
        DetectionQuality none = new DetectionQuality(0, 0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        return new DetectionCell(dataset, model, defense, detector, attack, eps, 0, 0, none, none, adaptiveBudget, 0, note);
    }

    public static DetectionCell fromMap(Map<?, ?> m) {
        return new DetectionCell(CellResult.str(m, "dataset"), CellResult.str(m, "model"), CellResult.str(m, "defense"),
                CellResult.str(m, "detector"), CellResult.str(m, "attack"), CellResult.num(m, "eps"),
                (int) CellResult.num(m, "fit_clean"), (int) CellResult.num(m, "fit_adversarial"),
                quality(m, "standard"), quality(m, "adaptive"), CellResult.str(m, "adaptive_budget"),
                CellResult.num(m, "seconds"), m.get("note") == null ? "" : String.valueOf(m.get("note")));
    }

    private static DetectionQuality quality(Map<?, ?> m, String key) {
        if (!(m.get(key) instanceof Map<?, ?> q)) throw new IllegalArgumentException("detection record lacks '" + key + "'");
        return new DetectionQuality((int) CellResult.num(q, "clean"), (int) CellResult.num(q, "adversarial"),
                (int) CellResult.num(q, "successful"), CellResult.num(q, "auroc"), CellResult.num(q, "tpr_at_5_fpr"),
                CellResult.num(q, "auroc_successful"), CellResult.num(q, "tpr_at_5_fpr_successful"));
    }
}
