package org.advmia.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * One forward + backward per iteration, the same measurement as
 * benchmarks/python/forward_backward.py: train mode, mean cross-entropy, gradients for every
 * weight AND for the input. Each iteration runs inside its own {@link MemoryScope}, so its
 * activations and gradients go back to the allocator's pool. Warm-up iterations, then the median
 * of N timed ones; prints one JSON line per model.
 *
 * <pre>
 *   ADVMIA_THREADS=2 java -cp target/classes:target/test-classes:$(cat target/runtime-classpath.txt) \
 *       org.advmia.bench.ForwardBackwardBenchmark [--models smallcnn,resnet18] [--warmup 5] [--iters 20]
 * </pre>
 *
 * GFLOP/s counts only convolutions and linear layers: 2 FLOPs per multiply-add, forward,
 * backward-data and backward-filter, i.e. 3x the forward count (same formula as the Python side).
 */
public final class ForwardBackwardBenchmark {
    private ForwardBackwardBenchmark() {}

    /** A model under test with its input shape and its forward conv/linear FLOPs. */
    record Config(String name, Model model, long[] inputShape, int classes, double forwardFlops) {}

    static Config config(String name) {
        Init init = Init.seeded(0);
        return switch (name) {
            case "smallcnn" -> new Config(name, new SmallCnn(1, 10, 28, 28, init), new long[] {128, 1, 28, 28}, 10,
                    smallCnnFlops(128, 1, 28, 28, 10));
            case "resnet18" -> new Config(name, new ResNet18(3, 10, 64, init), new long[] {64, 3, 32, 32}, 10,
                    resNet18Flops(64, 3, 32, 32, 64, 10));
            default -> throw new IllegalArgumentException("unknown model '" + name + "' (smallcnn, resnet18)");
        };
    }

    /** 2 * N * Cout * OH * OW * Cin * k * k for a convolution with the given output size. */
    static double conv(long n, long cin, long cout, long k, long oh, long ow) {
        return 2.0 * n * cout * oh * ow * cin * k * k;
    }

    static double linear(long n, long in, long out) {
        return 2.0 * n * in * out;
    }

    static double smallCnnFlops(long n, long c, long h, long w, long classes) {
        double f = conv(n, c, 32, 3, h - 2, w - 2) + conv(n, 32, 32, 3, h - 4, w - 4);
        long h2 = (h - 4) / 2, w2 = (w - 4) / 2;
        f += conv(n, 32, 64, 3, h2 - 2, w2 - 2) + conv(n, 64, 64, 3, h2 - 4, w2 - 4);
        long flat = 64 * ((h2 - 4) / 2) * ((w2 - 4) / 2);
        return f + linear(n, flat, 200) + linear(n, 200, 200) + linear(n, 200, classes);
    }

    static double resNet18Flops(long n, long c, long h, long w, long width, long classes) {
        double f = conv(n, c, width, 3, h, w);
        long in = width;
        for (int l = 0; l < 4; l++) {
            long out = width << l;
            int stride = l == 0 ? 1 : 2;
            for (int b = 0; b < 2; b++) {
                int s = b == 0 ? stride : 1;
                long oh = (h - 1) / s + 1, ow = (w - 1) / s + 1;
                f += conv(n, in, out, 3, oh, ow) + conv(n, out, out, 3, oh, ow);
                if (s != 1 || in != out) f += conv(n, in, out, 1, oh, ow);
                h = oh;
                w = ow;
                in = out;
            }
        }
        return f + linear(n, in, classes);
    }

    static String run(Config cfg, int warmup, int iters) {
        Backend be = Backends.defaultBackend();
        Model model = cfg.model();
        model.train();
        long[] s = cfg.inputShape();
        long n = s[0];
        Tensor x = be.empty(DType.FLOAT32, Shape.of(s)).keep();
        Tensor labels = be.empty(DType.FLOAT32, Shape.of(n)).keep();
        float[] lab = new float[(int) n];
        for (int i = 0; i < n; i++) lab[i] = i % cfg.classes();
        be.copyFromHost(lab, labels);
        new org.advmia.backend.Generator(1).uniform(x, 0, 1);

        double[] times = new double[iters], cpu = new double[iters];
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        for (int it = -warmup; it < iters; it++) {
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            try (MemoryScope step = MemoryScope.open()) {
                model.zeroGrad();
                Variable input = Variable.leaf(x, true);
                Variable loss = Losses.crossEntropy(model.logits(input), labels);
                loss.backward();
                if (input.grad() == null) throw new IllegalStateException("no input gradient");
                input.releaseGrad();
            }
            be.synchronize();
            if (it >= 0) {
                times[it] = (System.nanoTime() - t0) / 1e6;
                cpu[it] = (os.getProcessCpuTime() - c0) / 1e6;
            }
        }
        double[] sorted = times.clone();
        Arrays.sort(sorted);
        double ms = median(sorted), cpuMs = median(cpu);
        double flops = 3 * cfg.forwardFlops();
        long sys = CpuBackend.get().allocatorStats().systemAllocations();
        model.close();
        x.close();
        labels.close();
        return String.format(Locale.ROOT,
                "{\"impl\": \"advmia\", \"model\": \"%s\", \"batch\": %d, \"input\": [%d, %d, %d], \"threads\": %d,"
                        + " \"warmup\": %d, \"iters\": %d, \"ms_median\": %.3f, \"ms_min\": %.3f, \"ms_max\": %.3f,"
                        + " \"images_per_s\": %.1f, \"gflop_per_iter\": %.3f, \"gflops\": %.1f,"
                        + " \"cpu_ms_median\": %.3f, \"system_allocations\": %d}",
                cfg.name(), n, s[1], s[2], s[3], CpuBackend.get().threads(), warmup, iters, ms, sorted[0],
                sorted[iters - 1], n / ms * 1e3, flops / 1e9, flops / ms / 1e6, cpuMs, sys);
    }

    /** Median of the values (sorts a copy). */
    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    public static void main(String[] args) {
        List<String> models = new ArrayList<>(List.of("smallcnn", "resnet18"));
        int warmup = 5, iters = 20;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--models" -> { models = List.of(v.split(",")); i++; }
                case "--warmup" -> { warmup = Integer.parseInt(v); i++; }
                case "--iters" -> { iters = Integer.parseInt(v); i++; }
                default -> {
                    System.err.println("usage: ForwardBackwardBenchmark [--models smallcnn,resnet18] [--warmup N] [--iters N]");
                    System.exit(2);
                }
            }
        }
        if (iters < 1 || warmup < 0) throw new IllegalArgumentException("need --iters >= 1 and --warmup >= 0");
        for (String m : models) System.out.println(run(config(m), warmup, iters));
    }
}
