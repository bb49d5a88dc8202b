package org.advmia.bench;

import java.util.Arrays;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Init;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * PGD-20 throughput with the engine's attack (the same settings as benchmarks/python/pgd.py):
 * SmallCNN, L-inf eps 8/255, alpha 2/255, random start, 20 steps, CE loss. Prints one JSON line.
 *
 *   ADVMIA_THREADS=2 java -cp target/classes:target/test-classes:$(cat target/runtime-classpath.txt) \
 *       org.advmia.bench.PgdBenchmark [batch] [rounds]
 */
public final class PgdBenchmark {
    private PgdBenchmark() {}

    public static void main(String[] args) {
        int batch = args.length > 0 ? Integer.parseInt(args[0]) : 128;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        try (SmallCnn model = new SmallCnn(1, 10, 28, 28, Init.seeded(0)); MemoryScope s = MemoryScope.open()) {
            model.eval();
            Tensor x = Backends.defaultBackend().empty(DType.FLOAT32, Shape.of(batch, 1, 28, 28));
            new Generator(1).uniform(x, 0, 1);
            float[] labels = new float[batch];
            for (int i = 0; i < batch; i++) labels[i] = i % 10;
            Tensor y = Backends.tensor(labels, batch);
            Attacks.Overrides pgd20 = new Attacks.Overrides(20, 2 / 255.0, true, null, 0L, null, null, null);
            try (AttackResult warm = Attacks.create("pgd", model, 8 / 255.0,
                    new Attacks.Overrides(2, 2 / 255.0, true, null, 0L, null, null, null)).run(x, y, null)) {
                // warm-up: JIT, allocator pool, thread pool
            }
            double[] secs = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                try (AttackResult res = Attacks.create("pgd", model, 8 / 255.0, pgd20).run(x, y, null)) {
                    secs[r] = res.seconds();
                }
            }
            Arrays.sort(secs);
            double med = secs[rounds / 2];
            System.out.printf("{\"impl\": \"advmia\", \"attack\": \"pgd-20\", \"model\": \"smallcnn\", \"batch\": %d, "
                    + "\"threads\": %d, \"seconds\": %.4f, \"images_per_s\": %.1f}%n", batch,
                    org.advmia.backend.cpu.CpuBackend.get().threads(), med, batch / med);
        }
    }
}
