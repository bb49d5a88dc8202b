package org.advmia.defense.detect;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.attack.TrainedTinyNet;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class DetectorBadInputTest {
    private static void fails(String expected, Executable e) {
        Throwable t = assertThrows(RuntimeException.class, e);
        assertTrue(t.getMessage().contains(expected), "expected '" + expected + "' in: " + t.getMessage());
    }

    @Test
    void unknownNamesListTheValidOnes() {
        fails("unknown detector 'odin'. Valid detectors: lid, mahalanobis, kd-bu", () -> Detectors.create("odin", 0));
        fails("Valid detectors", () -> Detectors.requireKnown("x"));
    }

    @Test
    void scoringBeforeFittingIsAnError() {
        try (Detector d = Detectors.create("lid", 0)) {
            fails("lid: detector is not fitted", () -> d.score(TrainedTinyNet.data(2, 1)[0]));
        }
    }

    @Test
    void modelsWithoutAFeatureMapAreRejected() {
        // A classifier that does not expose a feature map (its forward is never reached).
        org.advmia.nn.Model plain = new org.advmia.nn.Model("plain", 1, 4, org.advmia.nn.Model.Task.CLASSIFICATION) {
            @Override
            public org.advmia.autograd.Variable forward(org.advmia.autograd.Variable x) {
                throw new AssertionError("not reached");
            }
        };
        Tensor[] d = TrainedTinyNet.data(30, 1);
        try (Detector det = Detectors.create("mahalanobis", 0)) {
            fails("exposes its feature map (org.advmia.nn.FeatureMaps); model 'plain' does not",
                    () -> det.fit(plain, d[0], d[1], d[0], d[0]));
        }
    }

    @Test
    void badTensorsAreNamed() {
        DetectTinyNet net = new DetectTinyNet(Init.seeded(2));
        Tensor[] d = TrainedTinyNet.data(30, 1);
        Tensor rgb = Backends.tensor(new float[30 * 3 * 12 * 12], 30, 3, 12, 12);
        float[] nan = Backends.toFloatArray(d[0]);
        nan[5] = Float.NaN;
        Tensor withNan = Backends.tensor(nan, 30, 1, 12, 12);
        Tensor badLabels = Backends.tensor(new float[] {0, 1, 7}, 3);
        try (Detector det = Detectors.create("kd-bu", 0)) {
            fails("training batch [30, 3, 12, 12] is not [N, 1, H, W]", () -> det.fit(net, rgb, d[1], d[0], d[0]));
            fails("adversarial fit batch [30, 1, 12, 12] contains 1 NaN", () -> det.fit(net, d[0], d[1], d[0], withNan));
            fails("training labels [30] must be [3]", () -> det.fit(net, d[0].narrow0(0, 3), d[1], d[0], d[0]));
            fails("training label 2 is 7.0; expected a class index in [0, 4)",
                    () -> det.fit(net, d[0].narrow0(0, 3), badLabels, d[0], d[0]));
            fails("must pair up", () -> det.fit(net, d[0], d[1], d[0], d[0].narrow0(0, 10)));
        }
        try (Detector lid = Detectors.create("lid", 0)) {
            fails("lid: needs at least k + 1 = 21 training inputs", () -> lid.fit(net, d[0].narrow0(0, 10),
                    d[1].narrow0(0, 10), d[0], d[0]));
        }
    }

    @Test
    void adaptiveAttackNeedsAFittedDetector() {
        DetectTinyNet net = new DetectTinyNet(Init.seeded(2));
        try (Detector d = Detectors.create("lid", 0)) {
            fails("pgd-adaptive-detector: needs a fitted detector", () -> Detectors.adaptiveAttack(net, 0.1, null, d, 1));
        }
    }
}
