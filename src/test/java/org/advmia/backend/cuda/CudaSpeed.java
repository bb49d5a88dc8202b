package org.advmia.backend.cuda;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.optim.Sgd;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * The engine's half of the GPU speed harness (scripts/gpu-check.sh speed runs it next to
 * benchmarks/python/cuda_speed.py with the same settings): PGD-20 images/s, or one PGD-AT epoch
 * (PGD-10 on each batch, then an SGD step on the adversarial batch), for SmallCNN at 28 px or the
 * CIFAR-style ResNet-18 at 32/64/224 px, on the default device. Prints one JSON line.
 *
 *   java ... org.advmia.backend.cuda.CudaSpeed --model resnet18 --size 32 --batch 128 --mode pgd [--rounds 3]
 *       [--images 1024] (-Dadvmia.device=cpu|cuda picks the device)
 *
 * L-inf eps 8/255, step 2/255, random start, CE loss; weights frozen in eval mode for PGD, train
 * mode with SGD (lr 0.01, momentum 0.9, weight decay 5e-4) for PGD-AT. Timing covers whole
 * attacks/epochs after a warm-up and ends with a device synchronisation.
 */
public final class CudaSpeed {
    private CudaSpeed() {}

    public static void main(String[] argv) {
        Map<String, String> a = new LinkedHashMap<>(Map.of("--model", "smallcnn", "--size", "28", "--batch", "128",
                "--mode", "pgd", "--rounds", "3", "--images", "1024"));
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!a.containsKey(argv[i])) throw new IllegalArgumentException("unknown option " + argv[i] + "; known: " + a.keySet());
            a.put(argv[i], argv[i + 1]);
        }
        String name = a.get("--model"), mode = a.get("--mode");
        int size = Integer.parseInt(a.get("--size")), batch = Integer.parseInt(a.get("--batch"));
        int rounds = Integer.parseInt(a.get("--rounds")), images = Integer.parseInt(a.get("--images"));
        if (!mode.equals("pgd") && !mode.equals("pgd-at")) throw new IllegalArgumentException("--mode pgd | pgd-at");
        Backend b = Backends.defaultBackend();
        int channels = name.equals("smallcnn") ? 1 : 3;
        try (Model model = name.equals("smallcnn") ? new SmallCnn(1, 10, size, size, Init.seeded(0))
                : new ResNet18(3, 10, Init.seeded(0)); MemoryScope s = MemoryScope.open()) {
            Tensor x = b.empty(DType.FLOAT32, Shape.of(batch, channels, size, size));
            new Generator(1).uniform(x, 0, 1);
            float[] labels = new float[batch];
            for (int i = 0; i < batch; i++) labels[i] = i % 10;
            Tensor y = Backends.tensor(labels, batch);
            double[] secs = new double[rounds];
            int perRound = mode.equals("pgd") ? batch : Math.max(batch, images / batch * batch);
            try (Sgd sgd = new Sgd(model.namedParameters(), 0.01, 0.9, 0, 5e-4, false)) {
                Runnable work = mode.equals("pgd") ? () -> pgd(model, x, y, 20) : () -> {
                    for (int done = 0; done < perRound; done += batch) pgdAtStep(model, sgd, x, y);
                };
                if (mode.equals("pgd")) pgd(model, x, y, 2); else pgdAtStep(model, sgd, x, y);  // warm-up
                b.synchronize();
                for (int r = 0; r < rounds; r++) {
                    long t0 = System.nanoTime();
                    work.run();
                    b.synchronize();
                    secs[r] = (System.nanoTime() - t0) / 1e9;
                }
            }
            Arrays.sort(secs);
            double med = secs[rounds / 2];
            String dev = b instanceof CudaBackend c ? c.description() : "cpu";
            System.out.printf("{\"impl\": \"advmia\", \"device\": \"%s\", \"mode\": \"%s\", \"model\": \"%s\", \"size\": %d, "
                    + "\"batch\": %d, \"images\": %d, \"seconds\": %.4f, \"images_per_s\": %.1f}%n", dev.replace("\"", "'"),
                    mode, name, size, batch, perRound, med, perRound / med);
        }
    }

    private static void pgd(Model model, Tensor x, Tensor y, int steps) {
        model.eval();
        model.setRequiresGrad(false);
        Attacks.Overrides o = new Attacks.Overrides(steps, 2 / 255.0, true, null, 0L, null, null, null);
        try (AttackResult r = Attacks.create("pgd", model, 8 / 255.0, o).run(x, y, null)) {
            // only the time matters
        }
    }

    private static void pgdAtStep(Model model, Sgd sgd, Tensor x, Tensor y) {
        model.eval();
        model.setRequiresGrad(false);
        Attacks.Overrides o = new Attacks.Overrides(10, 2 / 255.0, true, null, 0L, null, null, null);
        try (AttackResult r = Attacks.create("pgd", model, 8 / 255.0, o).run(x, y, null);
             MemoryScope s = MemoryScope.open()) {
            model.train();
            model.setRequiresGrad(true);
            model.zeroGrad();
            Variable loss = Losses.crossEntropy(model.logits(Variable.constant(r.adversarial())), y);
            loss.backward();
            sgd.step();
        }
    }
}
