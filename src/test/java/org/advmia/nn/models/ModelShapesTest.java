package org.advmia.nn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * Every model on unusual channel counts, class counts and input sizes: output shape, an input
 * gradient of the input's shape, and a clear error for a wrong channel count. The registry is
 * exercised at full size on one small input each; the size sweep uses tiny widths to stay fast.
 */
class ModelShapesTest {
    static Tensor randomInput(long n, long c, long h, long w) {
        Random r = new Random(n * 1000003 + c * 1009 + h * 31 + w);
        float[] d = new float[Math.toIntExact(n * c * h * w)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Backends.tensor(d, n, c, h, w);
    }

    static Tensor labels(Model m, long n, long h, long w) {
        boolean seg = m.task() == Model.Task.SEGMENTATION;
        float[] d = new float[Math.toIntExact(seg ? n * h * w : n)];
        for (int i = 0; i < d.length; i++) d[i] = i % m.numClasses();
        return seg ? Backends.tensor(d, n, h, w) : Backends.tensor(d, n);
    }

    /** Forward in train mode (BatchNorm batch statistics, so N >= 2), loss, backward to the input. */
    static void check(Model m, int n, int h, int w) {
        try (MemoryScope scope = MemoryScope.open()) {
            String what = m.name() + " on [" + n + ", " + m.inChannels() + ", " + h + ", " + w + "]";
            m.train();
            m.setRequiresGrad(false);
            Variable x = Variable.leaf(randomInput(n, m.inChannels(), h, w), true);
            Variable logits = m.logits(x);
            Shape expected = m.task() == Model.Task.SEGMENTATION ? Shape.of(n, m.numClasses(), h, w)
                    : Shape.of(n, m.numClasses());
            assertEquals(expected, logits.shape(), what + ": logits");
            Variable loss = Losses.crossEntropy(logits, labels(m, n, h, w));
            loss.backward();
            assertNotNull(x.grad(), what + ": no input gradient");
            assertEquals(x.shape(), x.grad().shape(), what + ": input gradient");
            assertEquals(0, Backends.of(x.grad()).countNonFinite(x.grad()), what + ": non-finite input gradient");

            // Eval mode (running statistics) must give the same shapes, with batch size 1.
            m.eval();
            Variable one = Variable.leaf(randomInput(1, m.inChannels(), h, w), true);
            Variable out = m.logits(one);
            assertEquals(expected.withDim(0, 1), out.shape(), what + ": eval logits for one image");
            Ops.sum(out).backward();
            assertEquals(one.shape(), one.grad().shape(), what + ": eval input gradient");

            Variable wrong = Variable.constant(randomInput(1, m.inChannels() + 1, h, w));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.logits(wrong));
            assertTrue(e.getMessage().contains("[N, " + m.inChannels() + ", H, W]"), what + ": " + e.getMessage());
        }
    }

    /** The message of the IllegalArgumentException that m.logits(x) must raise. */
    static String rejects(Model m, Variable x) {
        return assertThrows(IllegalArgumentException.class, () -> m.logits(x)).getMessage();
    }

    static void sweep(Supplier<Model> build, int[][] sizes) {
        try (Model m = build.get()) {
            for (int[] s : sizes) check(m, 2, s[0], s[1]);
        }
    }

    /**
     * name, in_channels, classes, input size, then PyTorch's parameter count and state-dict
     * length for scripts/reference_models.py built with the same arguments and full-size defaults.
     */
    static final Object[][] FULL_SIZE = {
        {"smallcnn", 1, 10, 28, 312_202L, 14},
        {"resnet18", 3, 10, 16, 11_173_962L, 122},
        {"preact-resnet18", 3, 10, 16, 11_172_170L, 107},
        {"mobilenetv2", 3, 10, 16, 2_236_682L, 314},
        {"wrn-28-10", 3, 10, 16, 36_479_194L, 155},
        {"densenet121", 3, 10, 64, 6_964_106L, 727}, // 64 pixels select the ImageNet stem
        {"unet", 1, 2, 16, 31_036_546L, 118},
        {"segnet", 3, 3, 32, 29_444_739L, 177},
    };

    @Test
    void registryBuildsEveryModelAtFullSize() {
        List<String> names = new ArrayList<>();
        Models.names().forEach(names::add);
        List<String> expectedNames = new ArrayList<>();
        for (Object[] row : FULL_SIZE) expectedNames.add((String) row[0]);
        assertEquals(expectedNames, names);
        for (Object[] row : FULL_SIZE) {
            String name = (String) row[0];
            int in = (Integer) row[1], classes = (Integer) row[2], size = (Integer) row[3];
            Models.Spec spec = new Models.Spec(in, classes, size, size);
            try (Model m = Models.create(name.toUpperCase(), spec, Init.seeded(1))) {
                assertEquals(name, m.name());
                assertEquals((Long) row[4], m.parameterCount(), name + " parameters");
                assertEquals((Integer) row[5], m.stateDict().size(), name + " state-dict entries");
                try (MemoryScope scope = MemoryScope.open()) {
                    m.eval();
                    m.setRequiresGrad(false);
                    Variable x = Variable.leaf(randomInput(1, in, size, size), true);
                    Variable out = m.logits(x);
                    Shape expected = m.task() == Model.Task.SEGMENTATION ? Shape.of(1, classes, size, size)
                            : Shape.of(1, classes);
                    assertEquals(expected, out.shape(), name);
                    Ops.sum(out).backward();
                    assertEquals(x.shape(), x.grad().shape(), name + " input gradient");
                }
            }
        }
    }

    @Test
    void registryDefaultsAndErrors() {
        try (Model small = Models.create("densenet121", new Models.Spec(3, 2, 32, 48), Init.seeded(0));
             Model large = Models.create("densenet121", new Models.Spec(3, 2, 64, 96), Init.seeded(0))) {
            // The CIFAR stem below 64 pixels, the ImageNet stem (7x7 conv, max pool) from 64 on.
            assertEquals(Shape.of(64, 3, 3, 3), small.stateDict().get("features.conv0.weight").shape());
            assertEquals(Shape.of(64, 3, 7, 7), large.stateDict().get("features.conv0.weight").shape());
            assertEquals(Shape.of(2, 1024), large.stateDict().get("classifier.weight").shape());
        }
        try (Model wrn = Models.create("wrn-16-4", new Models.Spec(3, 10, 32, 32), Init.seeded(0))) {
            assertEquals(Shape.of(10, 256), wrn.stateDict().get("fc.weight").shape());
            assertTrue(wrn.stateDict().containsKey("block3.layer.1.conv2.weight"));
            assertTrue(!wrn.stateDict().containsKey("block3.layer.2.conv2.weight"));
        }
        Models.Spec spec = new Models.Spec(3, 10, 32, 32);
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Models.create("resnet50", spec, Init.seeded(0)));
        for (String name : Models.nameForms()) assertTrue(unknown.getMessage().contains(name), unknown.getMessage());
        assertTrue(unknown.getMessage().contains("wrn-D-W"), unknown.getMessage());
        IllegalArgumentException depth = assertThrows(IllegalArgumentException.class,
                () -> Models.create("wrn-17-2", spec, Init.seeded(0)));
        assertTrue(depth.getMessage().contains("6n + 4"), depth.getMessage());
    }

    @Test
    void smallCnn() {
        sweep(() -> new SmallCnn(1, 2, 28, 28, Init.seeded(0)), new int[][] {{28, 28}});
        sweep(() -> new SmallCnn(5, 7, 40, 48, Init.seeded(0)), new int[][] {{40, 48}});
        sweep(() -> new SmallCnn(3, 2, 16, 17, Init.seeded(0)), new int[][] {{16, 17}});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SmallCnn(1, 10, 15, 40, Init.seeded(0)));
        assertTrue(e.getMessage().contains("16x16"), e.getMessage());
    }

    @Test
    void resNets() {
        sweep(() -> new ResNet18(1, 2, 2, Init.seeded(0)), new int[][] {{28, 28}, {32, 32}});
        sweep(() -> new ResNet18(5, 7, 3, Init.seeded(0)), new int[][] {{40, 48}, {9, 13}});
        sweep(() -> new PreActResNet18(1, 7, 2, Init.seeded(0)), new int[][] {{32, 32}, {28, 28}});
        sweep(() -> new PreActResNet18(5, 2, 3, Init.seeded(0)), new int[][] {{9, 13}, {40, 48}});
        sweep(() -> new WideResNet(1, 2, 10, 1, Init.seeded(0)), new int[][] {{28, 28}, {32, 32}});
        sweep(() -> new WideResNet(5, 7, 16, 2, Init.seeded(0)), new int[][] {{40, 48}});
    }

    @Test
    void mobileNetV2() {
        assertEquals(8, MobileNetV2.makeDivisible(3.2, 8));
        assertEquals(32, MobileNetV2.makeDivisible(32, 8));
        assertEquals(40, MobileNetV2.makeDivisible(36, 8)); // 36 + 4 = 40 rounds down to 40
        assertEquals(24, MobileNetV2.makeDivisible(24 * 1.0, 8));
        assertEquals(16, MobileNetV2.makeDivisible(17.6, 8)); // 16 >= 0.9 * 17.6
        sweep(() -> new MobileNetV2(1, 2, 0.1, Init.seeded(0)), new int[][] {{28, 28}});
        sweep(() -> new MobileNetV2(5, 7, 0.25, Init.seeded(0)), new int[][] {{40, 48}});
    }

    @Test
    void denseNet() {
        int[] blocks = {2, 3, 2};
        sweep(() -> new DenseNet121(1, 2, 4, blocks, 8, 2, DenseNet121.Stem.CIFAR, Init.seeded(0)),
                new int[][] {{28, 28}, {32, 32}, {40, 48}});
        sweep(() -> new DenseNet121(5, 7, 3, blocks, 6, 2, DenseNet121.Stem.IMAGENET, Init.seeded(0)),
                new int[][] {{64, 64}, {70, 90}, {29, 29}});
        int[] four = {1, 1, 1, 1};
        try (Model cifar = new DenseNet121(1, 2, 2, four, 4, 2, DenseNet121.Stem.CIFAR, Init.seeded(0));
             Model imagenet = new DenseNet121(1, 2, 2, four, 4, 2, DenseNet121.Stem.IMAGENET, Init.seeded(0));
             MemoryScope scope = MemoryScope.open()) {
            check(cifar, 2, 8, 9);
            Variable x = Variable.constant(randomInput(1, 1, 7, 40));
            assertTrue(rejects(cifar, x).contains("8x8"));
            assertTrue(rejects(imagenet, Variable.constant(randomInput(1, 1, 40, 28))).contains("29x29"));
        }
    }

    @Test
    void segmentation() {
        // 36x44 and 33x47 are not multiples of 16: U-Net pads the up-sampled maps.
        sweep(() -> new UNet(1, 2, 2, Init.seeded(0)), new int[][] {{16, 16}, {36, 44}});
        sweep(() -> new UNet(5, 7, 3, Init.seeded(0)), new int[][] {{32, 32}, {33, 47}});
        // Odd sizes make the unpooling restore the row/column that floor pooling dropped.
        sweep(() -> new SegNet(3, 2, 2, Init.seeded(0)), new int[][] {{33, 47}});
        sweep(() -> new SegNet(1, 7, 3, Init.seeded(0)), new int[][] {{32, 40}});
        try (Model unet = new UNet(1, 2, 2, Init.seeded(0)); Model segnet = new SegNet(1, 2, 2, Init.seeded(0));
             MemoryScope scope = MemoryScope.open()) {
            Variable x = Variable.constant(randomInput(1, 1, 15, 40));
            assertTrue(rejects(unet, x).contains("16x16"));
            assertTrue(rejects(segnet, Variable.constant(randomInput(1, 1, 31, 40))).contains("32x32"));
        }
    }
}
