package org.advmia.benchmark;

import java.util.List;
import java.util.Map;

/**
 * Everything a report needs. budgets describes each attack's budget as run ("AutoAttack:
 * APGD-CE/APGD-T 20 steps, FAB-T 20 steps, Square 500 queries"). environment holds backend,
 * threads and versions. engineSeconds is the time spent in training and attacks; wallSeconds
 * the whole run, so the harness overhead is 1 - engine/wall (reported, target < 2%). detections
 * holds the adversarial-detection cells (empty unless the config has a detection section).
 */
public record BenchmarkResults(String name, String configSource, Map<String, String> budgets,
                               Map<String, String> environment, double wallSeconds, double engineSeconds,
                               List<TrainingResult> trainings, List<CellResult> cells,
                               List<TransferResult> transfers, List<Figure> figures, List<DetectionCell> detections) {
    /** Without detection cells (a config with no detection section). */
    public BenchmarkResults(String name, String configSource, Map<String, String> budgets,
                            Map<String, String> environment, double wallSeconds, double engineSeconds,
                            List<TrainingResult> trainings, List<CellResult> cells,
                            List<TransferResult> transfers, List<Figure> figures) {
        this(name, configSource, budgets, environment, wallSeconds, engineSeconds, trainings, cells, transfers, figures,
                List.of());
    }

    public BenchmarkResults {
        budgets = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(budgets));
        environment = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(environment));
        trainings = List.copyOf(trainings);
        cells = List.copyOf(cells);
        transfers = List.copyOf(transfers);
        figures = List.copyOf(figures);
        detections = List.copyOf(detections);
    }

    public double harnessOverhead() {
        return wallSeconds > 0 ? Math.max(0, 1 - engineSeconds / wallSeconds) : 0;
    }
}
