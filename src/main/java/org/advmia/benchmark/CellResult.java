package org.advmia.benchmark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One finished benchmark cell: a trained model (dataset, model, defense) evaluated under one
 * attack at one ε. The clean evaluation is the cell with attack "clean" and ε 0. metrics holds
 * the keys of {@code DatasetEvaluation.Report.toMap} that are numbers (clean_accuracy,
 * robust_accuracy, macro_f1_adversarial, dice_adversarial, mean_auc_adversarial, ...).
 * budget names what was run ("PGD-20, step 2/255", "Square 1000 queries").
 */
public record CellResult(String dataset, String task, String model, String defense, String attack, String budget,
                         double eps, int samples, double seconds, Map<String, Double> metrics, List<String> warnings) {
    public static final String CLEAN = "clean";

    public CellResult {
        // Sorted keys: the stored JSON and the CSV columns do not depend on evaluation order.
        metrics = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(metrics));
        warnings = List.copyOf(warnings);
    }

    /** A metric, or NaN when this cell's task does not have it. */
    public double metric(String key) {
        Double v = metrics.get(key);
        return v == null ? Double.NaN : v;
    }

    /** The survey's headline number: robust accuracy (clean accuracy for the clean cell). */
    public double robustAccuracy() {
        return attack.equals(CLEAN) ? metric("clean_accuracy") : metric("robust_accuracy");
    }

    /** Identifies the trained model this cell evaluates. */
    public String modelKey() {
        return dataset + "/" + model + "/" + defense;
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("task", task);
        m.put("model", model);
        m.put("defense", defense);
        m.put("attack", attack);
        m.put("budget", budget);
        m.put("eps", eps);
        m.put("samples", samples);
        m.put("seconds", seconds);
        m.put("metrics", new LinkedHashMap<String, Object>(metrics));
        m.put("warnings", new ArrayList<Object>(warnings));
        return m;
    }

    public static CellResult fromMap(Map<?, ?> m) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        Object mm = m.get("metrics");
        if (mm instanceof Map<?, ?> map) {
            for (Map.Entry<?, ?> e : map.entrySet()) {
                metrics.put(String.valueOf(e.getKey()), e.getValue() == null ? Double.NaN : ((Number) e.getValue()).doubleValue());
            }
        }
        List<String> warnings = new ArrayList<>();
        if (m.get("warnings") instanceof List<?> l) for (Object o : l) warnings.add(String.valueOf(o));
        return new CellResult(str(m, "dataset"), str(m, "task"), str(m, "model"), str(m, "defense"), str(m, "attack"),
                str(m, "budget"), num(m, "eps"), (int) num(m, "samples"), num(m, "seconds"), metrics, warnings);
    }

    static String str(Map<?, ?> m, String k) {
        Object v = m.get(k);
        if (v == null) throw new IllegalArgumentException("result record lacks '" + k + "'");
        return v.toString();
    }

    static double num(Map<?, ?> m, String k) {
        Object v = m.get(k);
        if (v == null) return Double.NaN;
        if (!(v instanceof Number n)) throw new IllegalArgumentException("result record: '" + k + "' is not a number: " + v);
        return n.doubleValue();
    }
}
