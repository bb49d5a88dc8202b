package org.advmia.defense.detect;

import org.advmia.attack.Attacks;
import org.advmia.attack.Attack;

/** Prints measured numbers for the detection tests (run by hand, not a test). */
public final class DetectorProbeMain {
    public static void main(String[] args) {
        long t0 = System.nanoTime();
        DetectTinyNet net = DetectTinyNet.Shared.NET;
        System.out.printf("trained in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        double eps = args.length > 0 ? Double.parseDouble(args[0]) : 8 / 255.0;
        Attack pgd = Attacks.create("pgd", net, eps, new Attacks.Overrides(10, null, true, null, 1L, null, null, null));
        try (DetectionEvaluation ev = DetectionEvaluation.prepare(net, pgd, eps, DetectTinyNet.Shared.TRAIN_X,
                DetectTinyNet.Shared.TRAIN_Y, DetectTinyNet.Shared.TEST_X, DetectTinyNet.Shared.TEST_Y)) {
            for (String name : Detectors.NAMES) {
                long t = System.nanoTime();
                try (Detector d = Detectors.create(name, 1)) {
                    Integer steps = args.length > 1 ? Integer.valueOf(args[1]) : null;
                    Double alpha = args.length > 2 ? Double.valueOf(args[2]) * eps : null;
                    double lambda = args.length > 3 ? Double.parseDouble(args[3]) : AdaptiveDetectorAttack.DEFAULT_LAMBDA;
                    DetectionResult r = ev.evaluate(d, new Attacks.Overrides(steps, alpha, null, null, null, null, null, null), lambda);
                    System.out.printf("%-12s %5.1fs std auroc %.3f/%.3f tpr %.3f/%.3f ok %d | adaptive auroc %.3f/%.3f tpr %.3f/%.3f ok %d%n", name, (System.nanoTime() - t) / 1e9, r.standard().auroc(), r.standard().aurocSuccessful(), r.standard().tpr(), r.standard().tprSuccessful(), r.standard().successful(), r.adaptive().auroc(), r.adaptive().aurocSuccessful(), r.adaptive().tpr(), r.adaptive().tprSuccessful(), r.adaptive().successful());
                }
            }
        }
    }
}
