package org.advmia.benchmark.visual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.DenseNet121;
import org.advmia.nn.models.MobileNetV2;
import org.advmia.nn.models.PreActResNet18;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.nn.models.UNet;
import org.advmia.nn.models.WideResNet;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

class GradCamTest {
    static final int SIZE = 28;

    static Tensor randomImages(int n, int c, int h, int w, long seed) {
        Random r = new Random(seed);
        float[] d = new float[n * c * h * w];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Backends.tensor(d, n, c, h, w);
    }

    /**
     * A SmallCNN whose convolutions pass channel 0 straight through (centre tap 1, no bias), so
     * its last feature map's channel 0 is the image cropped by the valid convolutions:
     * A[i][j] = max of x over rows 2i+6..2i+7 and columns 2j+6..2j+7 (8x8 on 28x28 inputs). Class
     * 0's logit is the sum of the pooled channel 0, class 1's its negative.
     */
    static SmallCnn passThrough() {
        SmallCnn m = new SmallCnn(1, 2, SIZE, SIZE, Init.seeded(1));
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : m.stateDict().entrySet()) {
            Tensor t = e.getValue();
            float[] v = new float[Math.toIntExact(t.numel())];
            switch (e.getKey()) {
                // [out, in, 3, 3]: output channel 0 copies the centre of input channel 0.
                case "features.0.weight", "features.2.weight", "features.5.weight", "features.7.weight" -> v[4] = 1;
                // fc1 row 0 sums the 4x4 pooled map of channel 0 (flattened first).
                case "classifier.0.weight" -> {
                    for (int k = 0; k < 16; k++) v[k] = 1;
                }
                case "classifier.3.weight" -> v[0] = 1;
                case "classifier.5.weight" -> {
                    v[0] = 1; // class 0, unit 0
                    v[200] = -1; // class 1, unit 0
                }
                default -> { } // biases stay 0
            }
            long[] dims = t.shape().toArray();
            state.put(e.getKey(), Backends.tensor(v, dims));
        }
        m.loadStateDict(state, "pass-through weights");
        return m;
    }

    /** A black 28x28 image with a white square covering rows r0..r0+5 and columns c0..c0+5. */
    static Tensor square(int r0, int c0) {
        float[] x = new float[SIZE * SIZE];
        for (int r = r0; r < r0 + 6; r++) {
            for (int c = c0; c < c0 + 6; c++) x[r * SIZE + c] = 1;
        }
        return Backends.tensor(x, 1, 1, SIZE, SIZE);
    }

    @Test
    void highlightsTheSquareTheClassScoreCounts() {
        try (SmallCnn model = passThrough(); MemoryScope s = MemoryScope.open()) {
            // Square at rows/columns 16..21: feature cells i with 2i+6..2i+7 inside are 5..7.
            checkSquare(model, 16, 5, 7);
            // Square at rows/columns 6..11: cells 0..2.
            checkSquare(model, 6, 0, 2);
        }
    }

    private static void checkSquare(SmallCnn model, int start, int cellFrom, int cellTo) {
        GradCam.Maps maps = GradCam.maps(model, square(start, start), new int[] {0});
        assertEquals(8, maps.featureHeight());
        assertEquals(8, maps.featureWidth());
        float[] coarse = maps.coarse()[0];
        for (int i = 0; i < 8; i++) {
            for (int j = 0; j < 8; j++) {
                boolean inside = i >= cellFrom && i <= cellTo && j >= cellFrom && j <= cellTo;
                // Equal in exact arithmetic; the convolutions round (Winograd F(4x4)'s filter
                // transform has 1/6 and 1/24, so the pass-through is not exact): a few ulps.
                assertEquals(inside ? 1f : 0f, coarse[i * 8 + j], 1e-6f, "coarse cell (" + i + ", " + j
                        + ") for the square at " + start);
            }
        }
        // The upsampled map is hottest inside the square's quadrant, and zero in the opposite one.
        float[] up = maps.upsampled()[0];
        int hottest = 0;
        for (int p = 1; p < up.length; p++) if (up[p] > up[hottest]) hottest = p;
        assertEquals(1f, up[hottest]);
        boolean low = start < SIZE / 2;
        assertEquals(low, hottest / SIZE < SIZE / 2, "hottest row " + hottest / SIZE);
        assertEquals(low, hottest % SIZE < SIZE / 2, "hottest column " + hottest % SIZE);
        int far = low ? SIZE - 1 : 0;
        assertEquals(0f, up[far * SIZE + far], "the opposite corner is cold");
    }

    @Test
    void classWithOnlyNegativeEvidenceGetsAnAllZeroMap() {
        try (SmallCnn model = passThrough(); MemoryScope s = MemoryScope.open()) {
            // Class 1's logit falls as the square gets brighter: every weight is negative, so the
            // ReLU removes everything and the map stays zero instead of dividing by zero.
            float[][] cam = GradCam.compute(model, square(16, 16), new int[] {1});
            assertArrayEquals(new float[SIZE * SIZE], cam[0]);
        }
    }

    @Test
    void usesEvalModeAndLeavesTheModelAsItWas() {
        try (ResNet18 model = new ResNet18(3, 10, 2, Init.seeded(5)); MemoryScope s = MemoryScope.open()) {
            Tensor x = randomImages(3, 3, 16, 16, 7);
            int[] classes = {1, 4, 9};
            model.eval();
            float[][] evalMaps = GradCam.compute(model, x, classes);

            model.train();
            model.setRequiresGrad(true);
            List<Variable> params = model.parameters();
            params.get(0).setRequiresGrad(false);
            long before = Backends.defaultBackend().allocatorStats().bytesInUse();
            float[][] fromTrainMode = GradCam.compute(model, x, classes);
            assertEquals(before, Backends.defaultBackend().allocatorStats().bytesInUse(),
                    "Grad-CAM left native memory behind");
            // Batch statistics would give other maps; eval mode uses the running ones.
            for (int i = 0; i < 3; i++) assertArrayEquals(evalMaps[i], fromTrainMode[i], "image " + i);
            assertTrue(model.isTraining(), "training mode restored");
            assertTrue(!params.get(0).requiresGrad() && params.get(1).requiresGrad(), "requires-grad flags restored");
            for (Variable p : params) assertNull(p.grad(), "no weight gradient was accumulated");
        }
    }

    @Test
    void everyFeatureMapModelGivesMapsInTheUnitInterval() {
        List<Supplier<Model>> models = List.of(
                () -> new SmallCnn(3, 5, 32, 32, Init.seeded(1)),
                () -> new ResNet18(3, 5, 2, Init.seeded(2)),
                () -> new PreActResNet18(3, 5, 2, Init.seeded(3)),
                () -> new MobileNetV2(3, 5, 0.1, Init.seeded(4)),
                () -> new WideResNet(3, 5, 10, 1, Init.seeded(5)),
                () -> new DenseNet121(3, 5, 2, new int[] {2, 2, 2}, 4, 2, DenseNet121.Stem.CIFAR, Init.seeded(6)));
        for (Supplier<Model> build : models) {
            try (Model model = build.get(); MemoryScope s = MemoryScope.open()) {
                Tensor x = randomImages(2, 3, 32, 32, 11);
                for (int c = 0; c < 5; c++) {
                    float[][] maps = GradCam.compute(model, x, new int[] {c, (c + 2) % 5});
                    for (float[] m : maps) {
                        assertEquals(32 * 32, m.length, model.name());
                        float max = 0;
                        for (float v : m) {
                            assertTrue(v >= 0 && v <= 1, model.name() + ": value " + v);
                            max = Math.max(max, v);
                        }
                        assertTrue(max == 0 || max == 1, model.name() + ": maximum " + max);
                    }
                }
            }
        }
    }

    @Test
    void rejectsWhatItCannotExplain() {
        try (MemoryScope s = MemoryScope.open(); UNet unet = new UNet(1, 2, 2, Init.seeded(1));
             SmallCnn cnn = new SmallCnn(1, 3, 16, 16, Init.seeded(1))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GradCam.compute(unet, randomImages(1, 1, 16, 16, 1), new int[] {0}));
            assertTrue(e.getMessage().contains("'unet'") && e.getMessage().contains("FeatureMaps"), e.getMessage());

            Tensor x = randomImages(2, 1, 16, 16, 2);
            String msg = assertThrows(IllegalArgumentException.class, () -> GradCam.compute(cnn, x, new int[] {0}))
                    .getMessage();
            assertTrue(msg.contains("2 images need 2 classes"), msg);
            msg = assertThrows(IllegalArgumentException.class, () -> GradCam.compute(cnn, x, new int[] {0, 3}))
                    .getMessage();
            assertTrue(msg.contains("class 3 of image 1"), msg);
            msg = assertThrows(IllegalArgumentException.class,
                    () -> GradCam.compute(cnn, randomImages(1, 3, 16, 16, 3), new int[] {0})).getMessage();
            assertTrue(msg.contains("[N, 1, H, W]"), msg);
            float[] nan = new float[16 * 16];
            nan[5] = Float.NaN;
            msg = assertThrows(IllegalArgumentException.class,
                    () -> GradCam.compute(cnn, Backends.tensor(nan, 1, 1, 16, 16), new int[] {0})).getMessage();
            assertTrue(msg.contains("NaN"), msg);
        }
    }
}
