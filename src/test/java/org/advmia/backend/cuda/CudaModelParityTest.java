package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.nn.models.UNet;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole models on CUDA against the same models on the CPU (same weights, same inputs): eval
 * logits, loss and input gradient (what attacks use), then train-mode logits and every parameter
 * gradient (what adversarial training uses). Skips without a GPU.
 *
 * <p>Tolerance: max|gpu - cpu| / max|cpu| <= 1e-4 per tensor (the bound), float32, TF32
 * off; both sides accumulate float32 in different orders (cuDNN vs im2col + OpenBLAS), which
 * through these depths stays near 1e-6.
 */
class CudaModelParityTest {
    static final double TOLERANCE = 1e-4;

    /** Per test, not per class: surefire then reports each test as skipped rather than none at all. */
    @BeforeEach
    void gpuPresent() {
        assumeTrue(CudaBackend.isAvailable(), () -> "skipped: " + CudaBackend.unavailableReason());
    }

    private static Model build(String name) {
        Init init = new Init(7, DType.FLOAT32);
        return switch (name) {
            case "smallcnn" -> new SmallCnn(1, 10, 28, 28, init);
            case "resnet18" -> new ResNet18(3, 10, 16, init);
            case "unet" -> new UNet(1, 2, 8, init);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static long[] inputShape(String name) {
        return switch (name) {
            case "smallcnn" -> new long[] {8, 1, 28, 28};
            case "resnet18" -> new long[] {8, 3, 32, 32};
            default -> new long[] {4, 1, 32, 32};
        };
    }

    /** Runs body with the default device set to device (models and their tensors are created there). */
    private static <T> T on(String device, Supplier<T> body) {
        String saved = System.getProperty("advmia.device");
        System.setProperty("advmia.device", device);
        try {
            return body.get();
        } finally {
            if (saved == null) System.clearProperty("advmia.device");
            else System.setProperty("advmia.device", saved);
        }
    }

    private static Tensor upload(Backend b, double[] data, Shape shape) {
        Tensor t = b.empty(DType.FLOAT32, shape);
        b.copyFromHost(data, t);
        return t;
    }

    /** What one model produced, on the host. */
    private static Map<String, double[]> run(Model model, Backend b, double[] x, double[] labels, long[] shape,
                                             boolean segmentation) {
        Map<String, double[]> out = new LinkedHashMap<>();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor tx = upload(b, x, Shape.of(shape));
            Tensor tl = upload(b, labels, Shape.of(labels.length));
            model.eval();
            model.setRequiresGrad(false);
            Variable input = Variable.leaf(tx, true);
            Variable logits = model.logits(input);
            Variable rows = segmentation ? Losses.pixelsAsRows(logits) : logits;
            Variable loss = Losses.crossEntropy(rows, tl, null, 0);
            loss.backward();
            out.put("eval logits", Backends.toDoubleArray(logits.value()));
            out.put("eval loss", Backends.toDoubleArray(loss.value()));
            out.put("input gradient", Backends.toDoubleArray(input.grad()));
            input.releaseGrad();
            model.train();
            model.setRequiresGrad(true);
            Variable trainLogits = model.logits(Variable.constant(tx));
            Variable trainRows = segmentation ? Losses.pixelsAsRows(trainLogits) : trainLogits;
            Variable trainLoss = Losses.crossEntropy(trainRows, tl, null, 0);
            trainLoss.backward();
            out.put("train logits", Backends.toDoubleArray(trainLogits.value()));
            for (Map.Entry<String, Variable> p : model.namedParameters().entrySet()) {
                out.put("grad " + p.getKey(), Backends.toDoubleArray(p.getValue().grad()));
                p.getValue().releaseGrad();
            }
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                out.put("state after train pass " + e.getKey(), Backends.toDoubleArray(e.getValue()));
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"smallcnn", "resnet18", "unet"})
    void logitsAndGradientsMatchTheCpu(String name) {
        long[] shape = inputShape(name);
        boolean segmentation = name.equals("unet");
        java.util.Random r = new java.util.Random(11);
        double[] x = new double[Math.toIntExact(Shape.of(shape).numel())];
        for (int i = 0; i < x.length; i++) x[i] = r.nextDouble();
        int rowsCount = Math.toIntExact(segmentation ? shape[0] * shape[2] * shape[3] : shape[0]);
        double[] labels = new double[rowsCount];
        for (int i = 0; i < labels.length; i++) labels[i] = r.nextInt(segmentation ? 2 : 10);

        Map<String, double[]> expected, actual;
        try (Model cpuModel = on("cpu", () -> build(name)); Model gpuModel = on("cuda", () -> build(name))) {
            // The same weights on both: copied from the CPU model through the host.
            Map<String, Tensor> weights = new LinkedHashMap<>();
            CudaBackend gpu = CudaBackend.get();
            try (MemoryScope s = MemoryScope.open()) {
                for (Map.Entry<String, Tensor> e : cpuModel.stateDict().entrySet()) {
                    weights.put(e.getKey(), upload(gpu, Backends.toDoubleArray(e.getValue()), e.getValue().shape()));
                }
                gpuModel.loadStateDict(weights, "the CPU model");
            }
            expected = run(cpuModel, CpuBackend.get(), x, labels, shape, segmentation);
            actual = run(gpuModel, gpu, x, labels, shape, segmentation);
        }
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, double[]> e : expected.entrySet()) {
            double[] a = actual.get(e.getKey()), c = e.getValue();
            if (a == null || a.length != c.length) {
                failures.add(e.getKey() + ": missing or wrong length on CUDA");
                continue;
            }
            double maxRef = 0, maxErr = 0;
            for (int i = 0; i < c.length; i++) {
                maxRef = Math.max(maxRef, Math.abs(c[i]));
                maxErr = Math.max(maxErr, Math.abs(c[i] - a[i]));
            }
            double rel = maxErr / Math.max(maxRef, 1e-12);
            if (!(rel <= TOLERANCE)) failures.add(e.getKey() + ": max|gpu-cpu|/max|cpu| = " + rel);
        }
        assertTrue(failures.isEmpty(), name + ": " + failures.size() + " of " + expected.size() + " tensors off:\n  "
                + String.join("\n  ", failures.subList(0, Math.min(12, failures.size()))));
    }
}
