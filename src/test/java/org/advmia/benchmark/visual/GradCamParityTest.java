package org.advmia.benchmark.visual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Grad-CAM against PyTorch (scripts/make_gradcam_fixtures.py): SmallCNN (3x3 map before the last
 * max-pool, 19x18 input) and ResNet-18 (4x3 layer4 map, 32x24 input), on the weights of the
 * model parity fixtures, for 10 class vectors that give every class to every image. Both the
 * coarse map and the upsampled one are compared. The reference takes the activation with a
 * forward hook on the full PyTorch model, so it also checks that features()/head() split the
 * Java models at the layer the reference reads.
 *
 * <p>Error: max |ours - ref| over all maps of a model. The maps are normalised to a maximum of 1,
 * so this is the max|err|/max|ref| of the other parity tests (and for the all-zero maps the
 * absolute error, which must then be zero or tiny too).
 */
class GradCamParityTest {
    static final Path FIXTURE = Path.of("src/test/resources/fixtures/gradcam.safetensors");
    /**
     * float32: the generator re-ran the same maps in float32 PyTorch and kept only inputs where
     * they agree with the float64 reference within 1e-5 (torch measured 2e-6 and 4e-6, ours 3.3e-6
     * and 4.3e-6), and whose ReLU and max-pool decisions survive relative noise of 1e-6. Our
     * float32 kernels sum in other orders than PyTorch's, so 1e-4 (about 25x the measured error,
     * as in ModelParityTest) leaves margin, while a wrong layer, a wrong class or a transposed map
     * is off by O(0.1..1).
     */
    static final double TOLERANCE = 1e-4;
    /**
     * float64: the same computation as the reference; what is left is the fixture's float32
     * storage and our float[] output (two roundings of at most 2^-24 relative, ~1.2e-7 on maps
     * whose maximum is 1). Measured: 0 on the coarse maps and 1e-16 on the upsampled ones (both
     * sides round the same float64 values to float32). 1e-6 is 8x above the two roundings.
     */
    static final double TOLERANCE_F64 = 1e-6;

    @ParameterizedTest
    @ValueSource(strings = {"smallcnn", "resnet18"})
    void matchesPyTorch(String name) throws Exception {
        parity(name, DType.FLOAT32, TOLERANCE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smallcnn", "resnet18"})
    void matchesPyTorchInFloat64(String name) throws Exception {
        parity(name, DType.FLOAT64, TOLERANCE_F64);
    }

    static void parity(String name, DType dtype, double tolerance) throws Exception {
        try (SafeTensors.Contents fx = SafeTensors.read(FIXTURE); MemoryScope scope = MemoryScope.open()) {
            Path weightsFile = FIXTURE.resolveSibling(fx.metadata.get(name + ".weights"));
            assertEquals(fx.metadata.get(name + ".weights_sha256"), sha256(weightsFile), weightsFile
                    + " changed since the Grad-CAM fixture was made: rerun scripts/make_gradcam_fixtures.py");
            Map<String, String> args = args(fx.metadata.get(name + ".args"));
            try (SafeTensors.Contents w = SafeTensors.read(weightsFile); Model model = build(name, args, dtype)) {
                Map<String, Tensor> weights = new LinkedHashMap<>();
                w.tensors.forEach((k, v) -> {
                    if (!k.startsWith("fixture.") && !k.startsWith("after.")) weights.put(k, v);
                });
                model.loadStateDict(weights, weightsFile.toString());
                Tensor x = as(fx.get(name + ".input"), dtype);
                Tensor coarse = fx.get(name + ".coarse"), cam = fx.get(name + ".cam");
                float[] classes = Backends.toFloatArray(fx.get(name + ".classes"));
                double[] coarseRef = Backends.toDoubleArray(coarse), camRef = Backends.toDoubleArray(cam);
                int vectors = (int) coarse.dim(0), n = (int) coarse.dim(1);
                int fh = (int) coarse.dim(2), fw = (int) coarse.dim(3), h = (int) cam.dim(2), wd = (int) cam.dim(3);
                double coarseErr = 0, camErr = 0;
                for (int v = 0; v < vectors; v++) {
                    int[] cls = new int[n];
                    for (int i = 0; i < n; i++) cls[i] = (int) classes[v * n + i];
                    GradCam.Maps maps = GradCam.maps(model, x, cls);
                    assertEquals(fh, maps.featureHeight(), name + ": feature map height");
                    assertEquals(fw, maps.featureWidth(), name + ": feature map width");
                    assertEquals(h, maps.height());
                    assertEquals(wd, maps.width());
                    for (int i = 0; i < n; i++) {
                        coarseErr = Math.max(coarseErr, maxDiff(maps.coarse()[i], coarseRef, (v * n + i) * fh * fw));
                        camErr = Math.max(camErr, maxDiff(maps.upsampled()[i], camRef, (v * n + i) * h * wd));
                    }
                }
                System.out.printf("Grad-CAM parity %s %s: coarse %.2e, upsampled %.2e (tolerance %.0e)%n", name,
                        dtype, coarseErr, camErr, tolerance);
                assertTrue(coarseErr <= tolerance, name + " " + dtype + ": coarse maps off by " + coarseErr);
                assertTrue(camErr <= tolerance, name + " " + dtype + ": upsampled maps off by " + camErr);
            }
        }
    }

    static double maxDiff(float[] ours, double[] ref, int offset) {
        double m = 0;
        for (int p = 0; p < ours.length; p++) m = Math.max(m, Math.abs(ours[p] - ref[offset + p]));
        return m;
    }

    static Model build(String name, Map<String, String> a, DType dtype) {
        Init init = new Init(0, dtype);
        int in = Integer.parseInt(a.get("in_channels")), classes = Integer.parseInt(a.get("num_classes"));
        return switch (name) {
            case "smallcnn" -> new SmallCnn(in, classes, Integer.parseInt(a.get("input_height")),
                    Integer.parseInt(a.get("input_width")), init);
            case "resnet18" -> new ResNet18(in, classes, Integer.parseInt(a.get("width")), init);
            default -> throw new IllegalArgumentException("no builder for " + name);
        };
    }

    /** "k=v,k=v" as written by the fixture script. */
    static Map<String, String> args(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : s.split(",")) {
            String[] p = kv.split("=", 2);
            out.put(p[0], p[1]);
        }
        return out;
    }

    static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    static Tensor as(Tensor t, DType dtype) {
        if (t.dtype() == dtype) return t;
        Backend b = Backends.of(t);
        Tensor out = b.empty(dtype, t.shape());
        b.cast(t, out);
        return out;
    }
}
