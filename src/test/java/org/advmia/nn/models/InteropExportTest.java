package org.advmia.nn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.optim.Sgd;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.advmia.util.Json;
import org.junit.jupiter.api.Test;

/**
 * Trains every fixture model one step here and writes it to target/interop/NAME.safetensors with
 * its PyTorch state_dict names, plus "check.input" and our eval "check.logits" in the metadata's
 * companion tensors. scripts/check_torch_interop.py loads each file into the PyTorch reference
 * model with load_state_dict(strict=True) and compares the logits (run it by hand; CI needs no
 * Python). Here we check that the file reads back into a fresh model bit for bit.
 */
class InteropExportTest {
    @Test
    @SuppressWarnings("unchecked")
    void exportsTrainedModelsWithPyTorchNames() throws Exception {
        Path out = Path.of("target/interop");
        Files.createDirectories(out);
        for (String name : new String[] {"smallcnn", "resnet18", "preact_resnet18", "mobilenetv2", "wrn", "densenet121",
            "unet", "segnet"}) {
            Path fixture = Path.of("src/test/resources/fixtures", name + ".safetensors");
            try (SafeTensors.Contents fx = SafeTensors.read(fixture); MemoryScope s = MemoryScope.open()) {
                Map<String, Object> args = (Map<String, Object>) Json.parse(fx.metadata.get("args"), "args");
                try (Model model = ModelParityTest.build(name, args, DType.FLOAT32);
                     Model copy = ModelParityTest.build(name, args, DType.FLOAT32)) {
                    Map<String, Tensor> weights = new LinkedHashMap<>();
                    fx.tensors.forEach((k, v) -> {
                        if (!k.startsWith("fixture.") && !k.startsWith("after.")) weights.put(k, v);
                    });
                    model.loadStateDict(weights, fixture.toString());
                    Tensor x = fx.get("fixture.input"), y = fx.get("fixture.labels");
                    model.train();
                    Losses.crossEntropy(model.logits(Variable.constant(x)), y).backward();
                    try (Sgd sgd = new Sgd(model.namedParameters(), 0.05, 0.9, 0, 5e-4, false)) {
                        sgd.step();
                    }
                    model.eval();
                    Tensor logits;
                    try (AutoCloseable ng = Autograd.noGrad()) {
                        logits = model.logits(Variable.constant(x)).value();
                    }
                    Map<String, Tensor> all = new LinkedHashMap<>(model.stateDict());
                    all.put("check.input", x);
                    all.put("check.logits", logits);
                    Map<String, String> md = new LinkedHashMap<>();
                    md.put("model", name);
                    md.put("args", fx.metadata.get("args"));
                    Path file = out.resolve(name + ".safetensors");
                    SafeTensors.write(file, all, md);
                    // Read back: strict names, identical values.
                    try (SafeTensors.Contents back = SafeTensors.read(file)) {
                        Map<String, Tensor> st = new LinkedHashMap<>(back.tensors);
                        st.remove("check.input");
                        st.remove("check.logits");
                        copy.loadStateDict(st, file.toString());
                        assertEquals("I64", back.dtypes.getOrDefault(firstBatchCounter(st), "I64"));
                    }
                    for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                        float[] a = org.advmia.backend.Backends.toFloatArray(e.getValue());
                        float[] b = org.advmia.backend.Backends.toFloatArray(copy.stateDict().get(e.getKey()));
                        assertTrue(java.util.Arrays.equals(a, b), name + ": " + e.getKey() + " changed in the round trip");
                    }
                }
            }
        }
    }

    private static String firstBatchCounter(Map<String, Tensor> st) {
        for (String k : st.keySet()) if (SafeTensors.isIntegerBuffer(k)) return k;
        return "none";
    }
}
