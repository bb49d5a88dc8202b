package org.advmia.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
import org.advmia.nn.Init;
import org.advmia.nn.SafeTensors;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's embedding example, verbatim between the markers, so it cannot rot. */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void readmeExampleRuns() throws Exception {
        Path weights = dir.resolve("smallcnn.safetensors");
        try (SmallCnn m = new SmallCnn(1, 10, 28, 28, Init.seeded(7))) {
            SafeTensors.save(m, weights, Map.of());
        }
        float[] pixels = new float[8 * 28 * 28];
        for (int i = 0; i < pixels.length; i++) pixels[i] = (i * 7919 % 255) / 255f;
        float[] classes = {0, 1, 2, 3, 4, 5, 6, 7};
        float[] predictions;
        // README-BEGIN
        Backend cpu = Backends.defaultBackend();
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0));
             MemoryScope scope = MemoryScope.open()) {           // frees every temporary at the end
            SafeTensors.load(model, weights);                      // PyTorch state_dict names
            model.eval();
            model.setRequiresGrad(false);                          // gradients for the input only
            Tensor images = Backends.tensor(pixels, 8, 1, 28, 28), labels = Backends.tensor(classes, 8);
            Variable x = Variable.leaf(images, true);
            Losses.crossEntropy(model.logits(x), labels).backward();
            Tensor adversarial = cpu.duplicate(images);            // FGSM: one fused step, eps = 8/255
            cpu.attackStep(Norm.LINF, images, adversarial, x.grad(), 8 / 255.0, null, 8 / 255.0, null, null, 0, 1);
            predictions = Backends.toFloatArray(model.logits(Variable.constant(adversarial)).value());
            x.releaseGrad();
        }
        // README-END
        assertEquals(80, predictions.length);
        String readme = Files.readString(Path.of("README.md"));
        String src = Files.readString(Path.of("src/test/java/org/advmia/docs/ReadmeExampleTest.java"));
        String example = src.substring(src.indexOf("// README-BEGIN") + 16, src.indexOf("        // README-END"));
        for (String line : example.strip().split("\n")) {
            assertTrue(readme.contains(line.strip()), "README lacks the example line: " + line.strip());
        }
    }
}
