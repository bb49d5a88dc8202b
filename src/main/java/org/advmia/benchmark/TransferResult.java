package org.advmia.benchmark;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One cell of the transfer matrix: adversarial examples crafted on the source (surrogate) model
 * and evaluated on the target model. source and target are model keys "dataset/model/defense".
 * For source == target the cell is the white-box number.
 */
public record TransferResult(String dataset, String attack, double eps, String source, String target, int samples,
                             double targetCleanAccuracy, double targetRobustAccuracy, double seconds) {
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("attack", attack);
        m.put("eps", eps);
        m.put("source", source);
        m.put("target", target);
        m.put("samples", samples);
        m.put("target_clean_accuracy", targetCleanAccuracy);
        m.put("target_robust_accuracy", targetRobustAccuracy);
        m.put("seconds", seconds);
        return m;
    }

    public static TransferResult fromMap(Map<?, ?> m) {
        return new TransferResult(CellResult.str(m, "dataset"), CellResult.str(m, "attack"), CellResult.num(m, "eps"),
                CellResult.str(m, "source"), CellResult.str(m, "target"), (int) CellResult.num(m, "samples"),
                CellResult.num(m, "target_clean_accuracy"), CellResult.num(m, "target_robust_accuracy"),
                CellResult.num(m, "seconds"));
    }
}
