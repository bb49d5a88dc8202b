package org.advmia.benchmark.visual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Dropout;
import org.advmia.nn.FeatureMaps;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.Module;
import org.advmia.nn.models.DenseNet121;
import org.advmia.nn.models.MobileNetV2;
import org.advmia.nn.models.PreActResNet18;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.nn.models.WideResNet;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The split of each classification model at its last feature map: the expected shape (channels
 * of the classifier's input, spatial size before any global pooling), non-negative values (it is
 * taken after the final ReLU / ReLU6), and head(features(x)) equal to the logits bit for bit.
 * That forward itself did not change is ModelParityTest's job.
 */
class FeatureMapsSplitTest {
    static Stream<Arguments> models() {
        // DenseNet: 4 + 2 * 2 = 8 channels after block 1, halved to 4; 4 + 4 = 8, halved to 4;
        // 4 + 4 = 8 after the last block. Spatial: two transitions halve 32 twice.
        return Stream.of(
                Arguments.of(new SmallCnn(1, 10, 28, 28, Init.seeded(1)), 1, 28, Shape.of(2, 64, 8, 8)),
                Arguments.of(new ResNet18(3, 10, 2, Init.seeded(2)), 3, 32, Shape.of(2, 16, 4, 4)),
                Arguments.of(new PreActResNet18(3, 10, 2, Init.seeded(3)), 3, 32, Shape.of(2, 16, 4, 4)),
                Arguments.of(new MobileNetV2(3, 10, 0.1, Init.seeded(4)), 3, 32, Shape.of(2, 1280, 4, 4)),
                Arguments.of(new WideResNet(3, 10, 10, 1, Init.seeded(5)), 3, 32, Shape.of(2, 64, 8, 8)),
                Arguments.of(new DenseNet121(3, 10, 2, new int[] {2, 2, 2}, 4, 2, DenseNet121.Stem.CIFAR,
                        Init.seeded(6)), 3, 32, Shape.of(2, 8, 8, 8)));
    }

    static Tensor randomImages(int n, int c, int h, int w) {
        Random r = new Random(3);
        float[] d = new float[n * c * h * w];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat();
        return Backends.tensor(d, n, c, h, w);
    }

    @ParameterizedTest
    @MethodSource("models")
    void splitsAtTheLastFeatureMap(Model model, int channels, int size, Shape expected) throws Exception {
        try (model; MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            FeatureMaps split = (FeatureMaps) model;
            Tensor x = randomImages(2, channels, size, size);
            for (boolean train : new boolean[] {false, true}) {
                if (train) {
                    // Batch statistics in BatchNorm, but Dropout draws a new mask on every call.
                    model.train();
                    for (Module m : model.namedModules().values()) if (m instanceof Dropout) m.eval();
                } else {
                    model.eval();
                }
                Variable a = split.features(Variable.constant(x));
                assertEquals(expected, a.shape(), model.name() + " feature map");
                float[] av = Backends.toFloatArray(a.value());
                for (float v : av) assertTrue(v >= 0, model.name() + ": feature map value " + v + " is not after a ReLU");
                float[] viaSplit = Backends.toFloatArray(split.head(a).value());
                float[] logits = Backends.toFloatArray(model.logits(Variable.constant(x)).value());
                assertArrayEquals(logits, viaSplit, model.name() + (train ? " (train)" : " (eval)"));
            }
        }
    }
}
