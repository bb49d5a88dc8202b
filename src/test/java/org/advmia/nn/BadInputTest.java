package org.advmia.nn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.advmia.autograd.Losses;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.models.Models;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Shape mismatches, NaN/Inf inputs and bad labels raise errors that name the tensor and the expectation. */
class BadInputTest {
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static void expect(Executable e, String... fragments) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' lacks '" + f + "'");
    }

    private static Variable zeros(long... shape) {
        Tensor t = Backends.tensor(new float[Math.toIntExact(org.advmia.tensor.Shape.of(shape).numel())], shape);
        return Variable.constant(t);
    }

    @Test
    void shapeMismatches() {
        expect(() -> NnOps.linear(zeros(2, 3), zeros(4, 5), null), "linear", "3 features", "expects 5");
        expect(() -> NnOps.conv2d(zeros(1, 3, 8, 8), zeros(4, 2, 3, 3), null, 1, 0, 1, 1), "conv2d", "3 channels",
                "expects 2");
        expect(() -> NnOps.conv2d(zeros(1, 2, 2, 2), zeros(4, 2, 3, 3), null, 1, 0, 1, 1), "does not fit");
        expect(() -> Ops.add(zeros(2, 3), zeros(4, 3)), "do not broadcast", "[2, 3]", "[4, 3]");
        expect(() -> Ops.cat(1, zeros(2, 3), zeros(3, 3)), "cat", "differ on axis 0");
        expect(() -> Losses.crossEntropy(zeros(2, 3), Backends.tensor(new float[3], 3)), "labels", "[3]", "expected [2]");
    }

    @Test
    void badLabelsAreRejectedByTheKernel() {
        expect(() -> Losses.crossEntropy(zeros(2, 3), Backends.tensor(new float[] {0, 3}, 2)), "label", "[0, 3)");
        expect(() -> Losses.crossEntropy(zeros(2, 3), Backends.tensor(new float[] {0, 0.5f}, 2)), "label");
        expect(() -> Losses.margin(zeros(2, 3), Backends.tensor(new float[] {-1, 0}, 2)), "label");
    }

    @Test
    void nonFiniteInputsAreRejectedAtTheModel() {
        try (SmallCnn m = new SmallCnn(1, 10, 28, 28, Init.seeded(1))) {
            float[] x = new float[2 * 28 * 28];
            x[100] = Float.NaN;
            x[200] = Float.POSITIVE_INFINITY;
            expect(() -> m.logits(Variable.constant(Backends.tensor(x, 2, 1, 28, 28))), "smallcnn", "2 NaN or infinite");
            expect(() -> m.logits(zeros(2, 3, 28, 28)), "smallcnn", "is not [N, 1, H, W]");
        }
    }

    @Test
    void unknownModelListsTheValidNames() {
        expect(() -> Models.create("resnet19", new Models.Spec(3, 10, 32, 32), Init.seeded(0)), "unknown model 'resnet19'",
                "smallcnn", "resnet18");
        expect(() -> new SmallCnn(1, 10, 8, 8, Init.seeded(0)), "too small");
    }
}
