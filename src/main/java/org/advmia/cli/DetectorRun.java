package org.advmia.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.attack.Attack;
import org.advmia.attack.Attacks;
import org.advmia.backend.Backends;
import org.advmia.data.Dataset;
import org.advmia.data.Sample;
import org.advmia.data.Split;
import org.advmia.defense.detect.AdaptiveDetectorAttack;
import org.advmia.defense.detect.DetectionEvaluation;
import org.advmia.defense.detect.DetectionQuality;
import org.advmia.defense.detect.DetectionResult;
import org.advmia.defense.detect.Detector;
import org.advmia.defense.detect.Detectors;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * A detector measured on a model, shared by {@code advmia attack --detector NAME} (fit on the
 * training split against the attack, PGD when the attack is the adaptive one), {@code advmia
 * attack --detector-file FILE} (a saved detector, measured the same way) and {@code advmia train
 * --detector NAME} (fit against PGD at the training eps, measured on the validation split, saved).
 * Measuring means AUROC and TPR at 5% FPR on the evaluated inputs against that attack and against
 * {@value AdaptiveDetectorAttack#NAME}, which the detector is then lent to.
 */
final class DetectorRun implements AutoCloseable {
    private final Detector detector;
    private final double lambda;
    private final String fitAttack;
    private final DetectionResult result;
    private Path file;

    private DetectorRun(Detector detector, double lambda, String fitAttack, DetectionResult result, Path file) {
        this.detector = detector;
        this.lambda = lambda;
        this.fitAttack = fitAttack;
        this.result = result;
        this.file = file;
    }

    static DetectorRun fit(String detectorName, String attackName, Model model, Dataset data, Split split, double eps,
                           Attacks.Overrides o, int fitSamples, int limit, Double lambda, Long seed, PrintStream err) {
        Detectors.requireKnown(detectorName);
        boolean adaptive = Detectors.isAdaptiveAttack(attackName);
        double weight = lambda == null ? AdaptiveDetectorAttack.DEFAULT_LAMBDA : lambda;
        long s = seed == null ? 0 : seed;
        Attacks.Overrides seedOnly = seedOnly(s);
        String fitAttack = adaptive ? "pgd" : attackName;
        Attack attack = Attacks.create(fitAttack, model, eps, adaptive ? seedOnly : o);
        Tensor[] fit = tensors(data, Split.TRAIN, fitSamples), test = tensors(data, split, limit);
        Detector detector = Detectors.create(detectorName, s);
        err.printf("detector %s: fitting on %d %s inputs against %s, measuring on %d %s inputs%n", detectorName,
                fit[0].dim(0), Split.TRAIN.key(), fitAttack, test[0].dim(0), split.key());
        try (DetectionEvaluation ev = DetectionEvaluation.prepare(model, attack, eps, fit[0], fit[1], test[0], test[1])) {
            DetectionResult r = ev.evaluate(detector, adaptive ? o : seedOnly, weight);
            return new DetectorRun(detector, weight, fitAttack, r, null);
        } catch (RuntimeException e) {
            detector.close();
            throw e;
        } finally {
            for (Tensor t : fit) t.close();
            for (Tensor t : test) t.close();
        }
    }

    /**
     * A saved detector (Detectors.load checks it belongs to model), measured exactly as
     * {@link #fit} measures a fresh one: against the attack (PGD when the attack is the adaptive one).
     */
    static DetectorRun load(Path file, String attackName, Model model, Dataset data, Split split, double eps,
                            Attacks.Overrides o, int limit, Double lambda, Long seed, PrintStream err) throws IOException {
        boolean adaptive = Detectors.isAdaptiveAttack(attackName);
        double weight = lambda == null ? AdaptiveDetectorAttack.DEFAULT_LAMBDA : lambda;
        long s = seed == null ? 0 : seed;
        String measureAttack = adaptive ? "pgd" : attackName;
        Attack attack = Attacks.create(measureAttack, model, eps, adaptive ? seedOnly(s) : o);
        Detector detector;
        try {
            detector = Detectors.load(file, model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--detector-file " + e.getMessage(), e);
        }
        Map<String, String> notes = detector.notes();
        String fitAttack = notes.getOrDefault("fit_attack", "unknown");
        Tensor[] test = null;
        try {
            test = tensors(data, split, limit);
            err.printf("detector %s: loaded from %s (fitted against %s), measuring on %d %s inputs against %s%n",
                    detector.name(), file, fitAttack, test[0].dim(0), split.key(), measureAttack);
            try (DetectionEvaluation ev = DetectionEvaluation.prepareTest(model, attack, eps, test[0], test[1])) {
                DetectionResult r = ev.measure(detector, adaptive ? o : seedOnly(s), weight,
                        count(notes, "fit_clean"), count(notes, "fit_adversarial"));
                return new DetectorRun(detector, weight, fitAttack, r, file);
            }
        } catch (RuntimeException e) {
            detector.close();
            throw e;
        } finally {
            if (test != null) for (Tensor t : test) t.close();
        }
    }

    /** Saves the fitted detector with its fit attack and eps as notes; "file" then joins the JSON. */
    void save(Path out, double eps) throws IOException {
        detector.save(out, Map.of("fit_attack", fitAttack, "eps", Double.toString(eps)));
        file = out;
    }

    private static Attacks.Overrides seedOnly(long s) {
        return new Attacks.Overrides(null, null, null, null, s, null, null, null);
    }

    private static int count(Map<String, String> notes, String key) {
        try {
            return Integer.parseInt(notes.getOrDefault(key, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    Attack adaptiveAttack(Model model, double eps, Attacks.Overrides o) {
        return Detectors.adaptiveAttack(model, eps, o, detector, lambda);
    }

    /** New keys only: "detector" and "detection" ("detection.file" when saved or loaded). */
    void addTo(Map<String, Object> json) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("fit_attack", fitAttack);
        d.put("fit_clean", result.fitClean());
        d.put("fit_adversarial", result.fitAdversarial());
        d.put("attack", result.standard().toMap());
        d.put("adaptive", result.adaptive().toMap());
        d.put("lambda", lambda);
        d.put("seconds", result.seconds());
        if (file != null) d.put("file", file.toString());
        json.put("detector", detector.name());
        json.put("detection", d);
    }

    void print(PrintStream out) {
        out.printf("  detector %s (fitted on %d clean / %d adversarial %s inputs)%s%n", detector.name(), result.fitClean(),
                result.fitAdversarial(), fitAttack, file == null ? "" : "; file " + file);
        line(out, "vs " + fitAttack, result.standard());
        line(out, "vs " + AdaptiveDetectorAttack.NAME, result.adaptive());
    }

    private static void line(PrintStream out, String what, DetectionQuality q) {
        out.printf("    %-28s AUROC %.4f  TPR@5%%FPR %.4f  (%d clean, %d successful of %d; all: AUROC %.4f)%n", what,
                q.aurocSuccessful(), q.tprSuccessful(), q.clean(), q.successful(), q.adversarial(), q.auroc());
    }

    @Override
    public void close() {
        detector.close();
    }

    /** The first limit samples of a split (0: all) as kept [images, labels] tensors. */
    private static Tensor[] tensors(Dataset data, Split split, int limit) {
        var info = data.info();
        int n = limit > 0 ? Math.min(limit, data.size(split)) : data.size(split);
        if (n == 0) throw new IllegalArgumentException("--detector: dataset " + info.name() + " has no " + split.key() + " samples");
        int per = info.channels() * info.height() * info.width();
        float[] x = new float[n * per], y = new float[n];
        for (int i = 0; i < n; i++) {
            Sample smp = data.get(split, i);
            System.arraycopy(smp.image(), 0, x, i * per, per);
            y[i] = smp.label()[0];
        }
        return new Tensor[] {Backends.tensor(x, n, info.channels(), info.height(), info.width()).keep(),
                Backends.tensor(y, n).keep()};
    }
}
