package org.advmia.benchmark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.advmia.attack.Attack;
import org.advmia.attack.Attacks;
import org.advmia.backend.Backends;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Sample;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.defense.detect.AdaptiveDetectorAttack;
import org.advmia.defense.detect.DetectionEvaluation;
import org.advmia.defense.detect.DetectionResult;
import org.advmia.defense.detect.Detector;
import org.advmia.defense.detect.Detectors;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;
import org.advmia.tensor.Tensor;
import org.advmia.util.Json;

/**
 * The benchmark's detection cells for one trained model: per attack × ε, the adversarial fit and
 * test examples are crafted once ({@link DetectionEvaluation#prepare}) and every detector is
 * fitted and measured on them, then attacked adaptively. Cells are keyed like the evaluation
 * cells (a hash of everything that determines their numbers) and reused from the database.
 */
final class DetectionRunner {
    private DetectionRunner() {}

    /** Config errors before any training: detection needs single-label classifiers with a feature map. */
    static void check(BenchmarkConfig cfg, BenchmarkConfig.DatasetEntry d, DatasetInfo info) {
        BenchmarkConfig.Detection det = cfg.detection();
        if (!det.enabled()) return;
        if (info.task() != Task.CLASSIFICATION) {
            throw new IllegalArgumentException(cfg.source() + ": detection: dataset " + d.name() + " is "
                    + info.task().name().toLowerCase() + "; adversarial detection applies to single-label classification");
        }
        for (String m : cfg.models()) {
            try (Model model = Models.forData(m, info, 0)) {
                if (!(model instanceof FeatureMaps)) {
                    throw new IllegalArgumentException(cfg.source() + ": detection: model " + m + " does not expose its"
                            + " feature map (org.advmia.nn.FeatureMaps), which the detectors read");
                }
            }
        }
        for (AttackSpec a : det.attacks()) {
            try {
                a.requireApplicable(info.task(), d.name());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(cfg.source() + ": detection: " + e.getMessage(), e);
            }
        }
    }

    /** Seconds spent in the engine, and the cells (computed or reused), in config order. */
    record Outcome(double engineSeconds, List<DetectionCell> cells) {}

    static Outcome run(BenchmarkConfig cfg, ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data,
                       Split split, Model model, TrainingResult tr) {
        BenchmarkConfig.Detection det = cfg.detection();
        List<DetectionCell> out = new ArrayList<>();
        double engine = 0;
        Tensor[] fit = null, test = null;
        try {
            for (double eps : det.eps()) {
                for (AttackSpec a : det.attacks()) {
                    Map<String, String> keys = new LinkedHashMap<>();
                    List<DetectionCell> cached = new ArrayList<>();
                    for (String name : det.detectors()) {
                        String key = key(cfg, d, tr, name, a, eps);
                        keys.put(name, key);
                        store.detection(key).ifPresent(cached::add);
                    }
                    if (cached.size() == keys.size()) {
                        for (String key : keys.values()) store.markDetectionUsed(runId, key);
                        out.addAll(cached);
                        continue;
                    }
                    long start = System.nanoTime();
                    if (fit == null) {
                        fit = tensors(data, Split.TRAIN, det.fitSamples());
                        test = tensors(data, split, det.testSamples() > 0 ? det.testSamples() : d.evalSamples());
                    }
                    Attack attack = a.create(model, eps, cfg.seed(), null);
                    Attacks.Overrides adaptive = new Attacks.Overrides(det.adaptiveSteps() > 0 ? det.adaptiveSteps() : null,
                            null, null, null, cfg.seed(), null, null, null);
                    DetectionEvaluation ev;
                    try {
                        ev = DetectionEvaluation.prepare(model, attack, eps, fit[0], fit[1], test[0], test[1]);
                    } catch (IllegalArgumentException e) {
                        // Too few successful (or correctly classified) inputs: a fact about this model
                        // and eps, recorded rather than aborting the whole benchmark.
                        for (String name : det.detectors()) {
                            DetectionCell cell = DetectionCell.unmeasured(d.name(), tr.model(), tr.defense(), name, a.label(),
                                    eps, adaptiveBudget(det, eps), e.getMessage());
                            store.putDetection(keys.get(name), runId, cell);
                            out.add(cell);
                        }
                        engine += (System.nanoTime() - start) / 1e9;
                        continue;
                    }
                    try (ev) {
                        for (String name : det.detectors()) {
                            Optional<DetectionCell> hit = store.detection(keys.get(name));
                            DetectionCell cell;
                            if (hit.isPresent()) {
                                cell = hit.get();
                                store.markDetectionUsed(runId, keys.get(name));
                            } else {
                                try (Detector detector = Detectors.create(name, cfg.seed())) {
                                    DetectionResult r = ev.evaluate(detector, adaptive, det.lambda());
                                    cell = new DetectionCell(d.name(), tr.model(), tr.defense(), name, a.label(), eps,
                                            r.fitClean(), r.fitAdversarial(), r.standard(), r.adaptive(),
                                            adaptiveBudget(det, eps), r.seconds(), "");
                                }
                                store.putDetection(keys.get(name), runId, cell);
                            }
                            out.add(cell);
                        }
                    }
                    engine += (System.nanoTime() - start) / 1e9;
                }
            }
        } finally {
            for (Tensor[] t : new Tensor[][] {fit, test}) {
                if (t != null) for (Tensor x : t) x.close();
            }
        }
        return new Outcome(engine, out);
    }

    static String adaptiveBudget(BenchmarkConfig.Detection det, double eps) {
        int steps = det.adaptiveSteps() > 0 ? det.adaptiveSteps() : AdaptiveDetectorAttack.DEFAULT_STEPS;
        return AdaptiveDetectorAttack.NAME + " (" + steps + " steps, step " + AttackSpec.fmt255(2.5 * eps / steps)
                + ", lambda " + det.lambda() + ", random start)";
    }

    private static String key(BenchmarkConfig cfg, BenchmarkConfig.DatasetEntry d, TrainingResult tr, String detector,
                              AttackSpec a, double eps) {
        BenchmarkConfig.Detection det = cfg.detection();
        Map<String, Object> id = new LinkedHashMap<>();
        id.put("format", BenchmarkRunner.FORMAT);
        id.put("kind", "detection");
        id.put("model", tr.hash());
        id.put("split", d.split());
        id.put("fit_samples", det.fitSamples());
        id.put("test_samples", det.testSamples() > 0 ? det.testSamples() : d.evalSamples());
        id.put("detector", detector);
        id.put("attack", a.identity());
        id.put("eps", eps);
        id.put("adaptive_steps", det.adaptiveSteps());
        id.put("lambda", det.lambda());
        id.put("seed", cfg.seed());
        return BenchmarkRunner.sha256(Json.write(id));
    }

    /** The first limit samples of a split (0: all) as kept [images, labels] tensors. */
    static Tensor[] tensors(Dataset data, Split split, int limit) {
        DatasetInfo info = data.info();
        int n = limit > 0 ? Math.min(limit, data.size(split)) : data.size(split);
        if (n == 0) throw new IllegalArgumentException("detection: dataset " + info.name() + " has no " + split.key() + " samples");
        int per = info.channels() * info.height() * info.width();
        float[] x = new float[n * per], y = new float[n];
        for (int i = 0; i < n; i++) {
            Sample s = data.get(split, i);
            System.arraycopy(s.image(), 0, x, i * per, per);
            y[i] = s.label()[0];
        }
        return new Tensor[] {Backends.tensor(x, n, info.channels(), info.height(), info.width()).keep(),
                Backends.tensor(y, n).keep()};
    }
}
