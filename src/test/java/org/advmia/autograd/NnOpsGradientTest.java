package org.advmia.autograd;

import static org.advmia.autograd.GradCheck.check;
import static org.advmia.autograd.GradCheck.random;

import java.util.Random;
import org.advmia.backend.Generator;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.advmia.backend.Backends;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Finite-difference checks (float64) of the layer ops, with respect to inputs and parameters. */
class NnOpsGradientTest {
    private final Random r = new Random(2);
    private MemoryScope scope;

    @BeforeEach
    void open() {
        scope = MemoryScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void linear() {
        check("linear", v -> NnOps.linear(v[0], v[1], v[2]), random(r, 3, 4), random(r, 5, 4), random(r, 5));
        check("linear no bias", v -> NnOps.linear(v[0], v[1], null), random(r, 2, 3), random(r, 4, 3));
    }

    @Test
    void conv2d() {
        check("conv 3x3", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 0, 1, 1), random(r, 2, 3, 6, 5), random(r, 4, 3, 3, 3),
                random(r, 4));
        check("conv stride 2 pad 1", v -> NnOps.conv2d(v[0], v[1], null, 2, 1, 1, 1), random(r, 2, 2, 7, 7),
                random(r, 3, 2, 3, 3));
        check("conv dilation 2", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 2, 2, 1), random(r, 1, 2, 6, 6),
                random(r, 2, 2, 3, 3), random(r, 2));
        check("conv groups 2", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 1, 1, 2), random(r, 2, 4, 5, 5),
                random(r, 6, 2, 3, 3), random(r, 6));
        check("depthwise", v -> NnOps.conv2d(v[0], v[1], null, 2, 1, 1, 3), random(r, 2, 3, 6, 6),
                random(r, 3, 1, 3, 3));
        check("pointwise", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 0, 1, 1), random(r, 3, 4, 3, 3),
                random(r, 5, 4, 1, 1), random(r, 5));
        // A batch large enough to take the multi-image chunk path (small spatial size).
        check("conv chunked batch", v -> NnOps.conv2d(v[0], v[1], v[2], 1, 1, 1, 1), random(r, 9, 2, 3, 3),
                random(r, 3, 2, 3, 3), random(r, 3));
    }

    @Test
    void convTranspose2d() {
        check("convT stride 2", v -> NnOps.convTranspose2d(v[0], v[1], v[2], 2, 0, 0, 1, 1), random(r, 2, 3, 3, 3),
                random(r, 3, 2, 2, 2), random(r, 2));
        check("convT pad output_padding", v -> NnOps.convTranspose2d(v[0], v[1], null, 2, 1, 1, 1, 1),
                random(r, 1, 2, 3, 4), random(r, 2, 3, 3, 3));
        check("convT groups", v -> NnOps.convTranspose2d(v[0], v[1], v[2], 1, 1, 0, 1, 2), random(r, 2, 4, 4, 4),
                random(r, 4, 1, 3, 3), random(r, 2));
    }

    @Test
    void pooling() {
        check("max pool", v -> NnOps.maxPool2d(v[0], 2, 2, 0, false), random(r, 2, 2, 6, 5));
        check("max pool 3/2/1 ceil", v -> NnOps.maxPool2d(v[0], 3, 2, 1, true), random(r, 1, 2, 7, 6));
        check("avg pool", v -> NnOps.avgPool2d(v[0], 2, 2, 0, false, true), random(r, 2, 2, 6, 6));
        check("avg pool pad include", v -> NnOps.avgPool2d(v[0], 3, 2, 1, false, true), random(r, 1, 2, 5, 5));
        check("avg pool pad exclude ceil", v -> NnOps.avgPool2d(v[0], 3, 2, 1, true, false), random(r, 1, 2, 6, 5));
        check("adaptive avg", v -> NnOps.adaptiveAvgPool2d(v[0], 3, 2), random(r, 2, 2, 7, 5));
        check("global avg", v -> NnOps.adaptiveAvgPool2d(v[0], 1, 1), random(r, 2, 3, 4, 4));
    }

    @Test
    void maxUnpool() {
        check("max unpool", v -> {
            Variable[] p = NnOps.maxPool2dWithIndices(v[0], 2, 2, 0, false);
            return NnOps.maxUnpool2d(Ops.mul(p[0], v[1]), p[1], 6, 4);
        }, random(r, 2, 2, 6, 4), random(r, 2, 2, 3, 2));
    }

    @Test
    void upsample() {
        check("nearest x2", v -> NnOps.upsample(v[0], 6, 8, false, false), random(r, 2, 2, 3, 4));
        check("nearest odd", v -> NnOps.upsample(v[0], 5, 7, false, false), random(r, 1, 2, 3, 4));
        check("bilinear", v -> NnOps.upsample(v[0], 7, 6, true, false), random(r, 1, 2, 3, 4));
        check("bilinear align corners", v -> NnOps.upsample(v[0], 7, 9, true, true), random(r, 1, 2, 3, 4));
    }

    @Test
    void batchNorm() {
        Tensor rm = Backends.tensor(DType.FLOAT64, new double[] {0.1, -0.2, 0.3}, 3);
        Tensor rv = Backends.tensor(DType.FLOAT64, new double[] {1.5, 0.7, 1.1}, 3);
        check("batch norm eval", v -> NnOps.batchNorm(v[0], v[1], v[2], rm, rv, false, 0.1, 1e-5),
                random(r, 2, 3, 3, 2), random(r, 3), random(r, 3));
        // Training mode with running stats disabled, so repeated evaluations see the same function.
        check("batch norm train", v -> NnOps.batchNorm(v[0], v[1], v[2], null, null, true, 0.1, 1e-5),
                random(r, 3, 3, 2, 2), random(r, 3), random(r, 3));
        check("batch norm train 2d no affine", v -> NnOps.batchNorm(v[0], null, null, null, null, true, 0.1, 1e-5),
                random(r, 5, 4));
    }

    @Test
    void dropout() {
        // A fresh generator per evaluation draws the same mask, so the function is deterministic.
        check("dropout", v -> NnOps.dropout(v[0], 0.4, true, new Generator(9)), random(r, 4, 6));
        Tensor x = random(r, 3, 3);
        Variable y = NnOps.dropout(Variable.constant(x), 0.5, false, new Generator(1));
        org.junit.jupiter.api.Assertions.assertSame(x, y.value(), "eval-mode dropout is the identity");
        org.junit.jupiter.api.Assertions.assertEquals(Shape.of(3, 3), y.shape());
    }
}
