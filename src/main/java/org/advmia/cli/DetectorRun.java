package org.advmia.cli;

import java.io.PrintStream;
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
 * {@code advmia attack --detector NAME}: fits the detector on the training split against the
 * attack (PGD when the attack is the adaptive one), measures it on the evaluated inputs against
 * that attack and against the adaptive attack, and lends the fitted detector to
 * {@value AdaptiveDetectorAttack#NAME}.
 */
final class DetectorRun implements AutoCloseable {
    private final Detector detector;
    private final double lambda;
    private final String fitAttack;
    private final DetectionResult result;

    private DetectorRun(Detector detector, double lambda, String fitAttack, DetectionResult result) {
        this.detector = detector;
        this.lambda = lambda;
        this.fitAttack = fitAttack;
        this.result = result;
    }

    static DetectorRun fit(String detectorName, String attackName, Model model, Dataset data, Split split, double eps,
                           Attacks.Overrides o, int fitSamples, int limit, Double lambda, Long seed, PrintStream err) {
        boolean adaptive = Detectors.isAdaptiveAttack(attackName);
        double weight = lambda == null ? AdaptiveDetectorAttack.DEFAULT_LAMBDA : lambda;
        long s = seed == null ? 0 : seed;
        Attacks.Overrides seedOnly = new Attacks.Overrides(null, null, null, null, s, null, null, null);
        String fitAttack = adaptive ? "pgd" : attackName;
        Attack attack = Attacks.create(fitAttack, model, eps, adaptive ? seedOnly : o);
        Tensor[] fit = tensors(data, Split.TRAIN, fitSamples), test = tensors(data, split, limit);
        Detector detector = Detectors.create(detectorName, s);
        err.printf("detector %s: fitting on %d %s inputs against %s, measuring on %d %s inputs%n", detectorName,
                fit[0].dim(0), Split.TRAIN.key(), fitAttack, test[0].dim(0), split.key());
        try (DetectionEvaluation ev = DetectionEvaluation.prepare(model, attack, eps, fit[0], fit[1], test[0], test[1])) {
            DetectionResult r = ev.evaluate(detector, adaptive ? o : seedOnly, weight);
            return new DetectorRun(detector, weight, fitAttack, r);
        } catch (RuntimeException e) {
            detector.close();
            throw e;
        } finally {
            for (Tensor t : fit) t.close();
            for (Tensor t : test) t.close();
        }
    }

    Attack adaptiveAttack(Model model, double eps, Attacks.Overrides o) {
        return Detectors.adaptiveAttack(model, eps, o, detector, lambda);
    }

    /** New keys only: "detector" and "detection". */
    void addTo(Map<String, Object> json) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("fit_attack", fitAttack);
        d.put("fit_clean", result.fitClean());
        d.put("fit_adversarial", result.fitAdversarial());
        d.put("attack", result.standard().toMap());
        d.put("adaptive", result.adaptive().toMap());
        d.put("lambda", lambda);
        d.put("seconds", result.seconds());
        json.put("detector", detector.name());
        json.put("detection", d);
    }

    void print(PrintStream out) {
        out.printf("  detector %s (fitted on %d clean / %d adversarial %s inputs)%n", detector.name(), result.fitClean(),
                result.fitAdversarial(), fitAttack);
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
