package org.advmia.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.advmia.attack.Attack;
import org.advmia.attack.AttackLoss;
import org.advmia.attack.AttackOptions;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.attack.AutoProjectedGradientDescent;
import org.advmia.attack.ThreatModel;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.defense.Defense;
import org.advmia.defense.DefenseConfig;
import org.advmia.defense.Defenses;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.MobileNetV2;
import org.advmia.nn.models.ResNet18;
import org.advmia.nn.models.SmallCnn;
import org.advmia.optim.Sgd;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * End-to-end throughput, the advmia side of benchmarks/throughput_compare.sh (the PyTorch side is
 * benchmarks/python/throughput.py; both do the same work, row by row). One JSON line per row.
 *
 * <pre>
 *   ADVMIA_THREADS=2 java -cp target/classes:target/test-classes:$(cat target/runtime-classpath.txt) \
 *       org.advmia.bench.ThroughputBenchmark [--models smallcnn,resnet18,mobilenetv2]
 *       [--rows sgemm,pgd10,pgd20,pgdstep,autoattack,nat,pgd-at,trades,fast-at] [--rounds 2]
 *       [--train-images N] [--aa-steps 10] [--aa-targets 3]
 * </pre>
 *
 * Rows (L-inf eps 8/255, step 2/255, CE loss, random start, model in eval mode with frozen weights
 * for attacks; synthetic uniform images with labels i mod 10, fixed seed):
 * <ul>
 *   <li>pgd10, pgd20: one batch through the engine's PGD; images/s.</li>
 *   <li>pgdstep: issue #4's ratio, one PGD step ((T(PGD-20) - T(PGD-0)) / 20, so the random start
 *       and the final success check cancel) over one forward + input-gradient backward pass.</li>
 *   <li>autoattack: APGD-CE then APGD-T (aa-targets target classes), aa-steps steps each, both on
 *       every image of the batch (no early exit: the cost on a model that no stage breaks), seconds
 *       per 1000 images. FAB-T and Square are not part of the comparison (no PyTorch baseline here).</li>
 *   <li>nat, pgd-at (PGD-10), trades (10 KL steps, beta 6), fast-at (one 1.25 eps FGSM step): one epoch
 *       of SGD (lr 0.01, momentum 0.9, weight decay 5e-4) over train-images synthetic images in
 *       batches of the model's batch size, through the engine's Defense objects; seconds per epoch.</li>
 *   <li>sgemm: the machine's float32 GEMM peak through the engine (OpenBLAS), 1024^3 and 2048^3.</li>
 * </ul>
 */
public final class ThroughputBenchmark {
    private ThroughputBenchmark() {}

    static final double EPS = 8 / 255.0, ALPHA = 2 / 255.0;
    static final List<String> ALL_ROWS = List.of("sgemm", "pgd10", "pgd20", "pgdstep", "autoattack", "nat", "pgd-at",
            "trades", "fast-at");

    /** A benchmark model: its constructor, input shape and batch size. */
    record ModelCase(String name, int channels, int size, int batch, int defaultTrainImages) {
        Model build(long seed) {
            Init init = Init.seeded(seed);
            return switch (name) {
                case "smallcnn" -> new SmallCnn(channels, 10, size, size, init);
                case "resnet18" -> new ResNet18(channels, 10, 64, init);
                case "mobilenetv2" -> new MobileNetV2(channels, 10, init);
                default -> throw new IllegalStateException(name);
            };
        }
    }

    static ModelCase modelCase(String name) {
        return switch (name) {
            case "smallcnn" -> new ModelCase(name, 1, 28, 128, 1024);
            case "resnet18" -> new ModelCase(name, 3, 32, 64, 256);
            case "mobilenetv2" -> new ModelCase(name, 3, 32, 64, 256);
            default -> throw new IllegalArgumentException("--models: unknown model '" + name
                    + "' (smallcnn, resnet18, mobilenetv2)");
        };
    }

    record Options(List<String> models, List<String> rows, int rounds, int trainImages, int aaSteps, int aaTargets) {}

    public static void main(String[] args) {
        Options o = parse(args);
        Backend be = Backends.defaultBackend();
        for (String m : o.models()) {
            ModelCase mc = modelCase(m);
            for (String row : o.rows()) {
                if (row.equals("sgemm")) continue;
                Map<String, Object> r = switch (row) {
                    case "pgd10", "pgd20" -> pgdRow(be, mc, row.equals("pgd10") ? 10 : 20, o.rounds());
                    case "pgdstep" -> pgdStepRow(be, mc, o.rounds());
                    case "autoattack" -> autoAttackRow(be, mc, o.aaSteps(), o.aaTargets(), o.rounds());
                    default -> epochRow(be, mc, row, o.trainImages() > 0 ? o.trainImages() : mc.defaultTrainImages(),
                            o.rounds());
                };
                emit(mc, row, r);
                memTrace(row);
            }
        }
        if (o.rows().contains("sgemm")) {
            for (int size : new int[] {1024, 2048}) emit(null, "sgemm", sgemmRow(be, size));
        }
    }

    static Options parse(String[] args) {
        List<String> models = List.of("smallcnn", "resnet18", "mobilenetv2");
        List<String> rows = ALL_ROWS;
        int rounds = 2, train = 0, aaSteps = 10, aaTargets = 3;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value after " + a);
            String v = args[++i];
            switch (a) {
                case "--models" -> models = List.of(v.split(","));
                case "--rows" -> rows = List.of(v.split(","));
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--train-images" -> train = Integer.parseInt(v);
                case "--aa-steps" -> aaSteps = Integer.parseInt(v);
                case "--aa-targets" -> aaTargets = Integer.parseInt(v);
                default -> usage("unknown argument " + a);
            }
        }
        for (String r : rows) if (!ALL_ROWS.contains(r)) usage("--rows: unknown row '" + r + "' (" + String.join(",", ALL_ROWS) + ")");
        for (String m : models) modelCase(m);
        if (rounds < 1 || aaSteps < 1 || aaTargets < 1 || train < 0) usage("--rounds, --aa-steps, --aa-targets must be >= 1");
        return new Options(models, rows, rounds, train, aaSteps, aaTargets);
    }

    static void usage(String why) {
        System.err.println("ThroughputBenchmark: " + why + "\nusage: [--models smallcnn,resnet18,mobilenetv2] [--rows "
                + String.join(",", ALL_ROWS) + "] [--rounds R] [--train-images N] [--aa-steps S] [--aa-targets T]");
        System.exit(2);
    }

    static void memTrace(String row) {
        if (System.getenv("ADVMIA_MEMTRACE") == null) return;
        try {
            String st = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/status"));
            String rss = st.replaceAll("(?s).*VmRSS:\\s*(\\d+).*", "$1"), hwm = st.replaceAll("(?s).*VmHWM:\\s*(\\d+).*", "$1");
            var a = org.advmia.backend.cpu.CpuBackend.get().allocatorStats();
            long peak = org.advmia.backend.cpu.CpuBackend.get().resetPeakInUse();
            Runtime rt = Runtime.getRuntime();
            System.err.printf("MEMTRACE %s rss=%d MB hwm=%d MB inUse=%d MB cached=%d MB peakInUse=%d MB sysAllocs=%d heapCommitted=%d MB heapUsed=%d MB%n",
                    row, Long.parseLong(rss) >> 10, Long.parseLong(hwm) >> 10, a.bytesInUse() >> 20, a.bytesCached() >> 20, peak >> 20,
                    a.systemAllocations(), rt.totalMemory() >> 20, (rt.totalMemory() - rt.freeMemory()) >> 20);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static void emit(ModelCase mc, String row, Map<String, Object> fields) {
        StringBuilder sb = new StringBuilder("{\"impl\": \"advmia\", \"row\": \"").append(row).append('"');
        if (mc != null) sb.append(", \"model\": \"").append(mc.name()).append("\", \"batch\": ").append(mc.batch());
        sb.append(", \"threads\": ").append(CpuBackend.get().threads());
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            sb.append(", \"").append(e.getKey()).append("\": ");
            Object v = e.getValue();
            if (v instanceof Double d) sb.append(String.format(Locale.ROOT, "%.6g", d));
            else if (v instanceof String s) sb.append('"').append(s).append('"');
            else sb.append(v);
        }
        System.out.println(sb.append('}'));
        System.out.flush();
    }

    /** Uniform [0, 1) images and labels i mod 10, from a fixed seed; kept (outside any scope). */
    static Tensor[] data(Backend be, ModelCase mc, int n, long seed) {
        Tensor x = be.empty(DType.FLOAT32, Shape.of(n, mc.channels(), mc.size(), mc.size())).keep();
        new Generator(seed).uniform(x, 0, 1);
        float[] lab = new float[n];
        for (int i = 0; i < n; i++) lab[i] = i % 10;
        Tensor y = be.empty(DType.FLOAT32, Shape.of(n)).keep();
        be.copyFromHost(lab, y);
        return new Tensor[] {x, y};
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    static double pgdSeconds(Model model, Tensor x, Tensor y, int steps) {
        Attack a = Attacks.create("pgd", model, EPS, new Attacks.Overrides(steps, ALPHA, true, 1, 0L, null, null, null));
        long t0 = System.nanoTime();
        try (AttackResult r = a.run(x, y, null)) {
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    static Map<String, Object> pgdRow(Backend be, ModelCase mc, int steps, int rounds) {
        Tensor[] d = data(be, mc, mc.batch(), 1);
        try (Model model = mc.build(0)) {
            pgdSeconds(model, d[0], d[1], 2);   // warm-up: JIT, allocator pool, thread pool
            double[] t = new double[rounds], cpu = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                double[] wc = pgdWallAndCpu(model, d[0], d[1], steps);
                t[r] = wc[0];
                cpu[r] = wc[1];
            }
            double s = median(t);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("seconds", s);
            m.put("seconds_min", Arrays.stream(t).min().getAsDouble());
            m.put("images_per_s", mc.batch() / s);
            m.put("cpu_seconds", median(cpu));
            m.put("rounds", rounds);
            return m;
        } finally {
            d[0].close();
            d[1].close();
        }
    }

    static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** {wall, process CPU} seconds of iters forward + input-gradient backward passes (eval mode, frozen weights). */
    static double[] forwardBackwardSeconds(Backend be, Model model, Tensor x, Tensor y, int iters) {
        long t0 = System.nanoTime(), c0 = OS.getProcessCpuTime();
        for (int i = 0; i < iters; i++) {
            try (MemoryScope s = MemoryScope.open()) {
                Variable in = Variable.leaf(x, true);
                Variable loss = Losses.crossEntropy(model.logits(in), y);
                loss.backward();
                if (in.grad() == null) throw new IllegalStateException("no input gradient");
                in.releaseGrad();
            }
        }
        be.synchronize();
        return new double[] {(System.nanoTime() - t0) / 1e9, (OS.getProcessCpuTime() - c0) / 1e9};
    }

    static double[] pgdWallAndCpu(Model model, Tensor x, Tensor y, int steps) {
        long c0 = OS.getProcessCpuTime();
        double wall = pgdSeconds(model, x, y, steps);
        return new double[] {wall, (OS.getProcessCpuTime() - c0) / 1e9};
    }

    /**
     * Interleaved per round (the machine's load drifts): 10 forward + input-gradient backward
     * passes, then PGD-0 and PGD-20; the step is (T20 - T0) / 20. Wall-clock and process CPU time
     * are both reported: on a loaded machine the CPU-time ratio is the steadier one.
     */
    static Map<String, Object> pgdStepRow(Backend be, ModelCase mc, int rounds) {
        Tensor[] d = data(be, mc, mc.batch(), 1);
        try (Model model = mc.build(0)) {
            pgdSeconds(model, d[0], d[1], 2);
            model.eval();
            model.setRequiresGrad(false);
            forwardBackwardSeconds(be, model, d[0], d[1], 2);
            int iters = 10;
            double[] fb = new double[rounds], fbCpu = new double[rounds], st = new double[rounds], stCpu = new double[rounds];
            double[] ratio = new double[rounds], ratioCpu = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                double[] f = forwardBackwardSeconds(be, model, d[0], d[1], iters);
                double[] p0 = pgdWallAndCpu(model, d[0], d[1], 0), p20 = pgdWallAndCpu(model, d[0], d[1], 20);
                fb[r] = f[0] / iters;
                fbCpu[r] = f[1] / iters;
                st[r] = (p20[0] - p0[0]) / 20;
                stCpu[r] = (p20[1] - p0[1]) / 20;
                ratio[r] = st[r] / fb[r];
                ratioCpu[r] = stCpu[r] / fbCpu[r];
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("fwd_bwd_seconds", median(fb));
            m.put("pgd_step_seconds", median(st));
            m.put("step_over_fwd_bwd", median(ratio));
            m.put("fwd_bwd_cpu_seconds", median(fbCpu));
            m.put("pgd_step_cpu_seconds", median(stCpu));
            m.put("step_over_fwd_bwd_cpu", median(ratioCpu));
            m.put("rounds", rounds);
            return m;
        } finally {
            d[0].close();
            d[1].close();
        }
    }

    static double apgdSeconds(Model model, Tensor x, Tensor y, int steps, int targets) {
        ThreatModel threat = ThreatModel.linf(EPS);
        AttackOptions base = AttackOptions.defaults().withSeed(0).withSteps(steps).withStepSize(0).withRandomStart(true);
        long t0 = System.nanoTime();
        try (AttackResult ce = new AutoProjectedGradientDescent(model, threat, base.withLoss(AttackLoss.CE), 0, "apgd-ce")
                .run(x, y, null);
             AttackResult t = new AutoProjectedGradientDescent(model, threat, base.withLoss(AttackLoss.DLR), targets,
                     "apgd-t").run(x, y, null)) {
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    static Map<String, Object> autoAttackRow(Backend be, ModelCase mc, int steps, int targets, int rounds) {
        Tensor[] d = data(be, mc, mc.batch(), 1);
        try (Model model = mc.build(0)) {
            apgdSeconds(model, d[0], d[1], 2, 1);
            double[] t = new double[rounds], cpu = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long c0 = OS.getProcessCpuTime();
                t[r] = apgdSeconds(model, d[0], d[1], steps, targets);
                cpu[r] = (OS.getProcessCpuTime() - c0) / 1e9;
            }
            double s = median(t);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("budget", "APGD-CE " + steps + " steps + APGD-T " + targets + " targets x " + steps + " steps, all images");
            m.put("seconds", s);
            m.put("seconds_per_1000", s * 1000 / mc.batch());
            m.put("cpu_seconds", median(cpu));
            m.put("rounds", rounds);
            return m;
        } finally {
            d[0].close();
            d[1].close();
        }
    }

    static Map<String, Object> epochRow(Backend be, ModelCase mc, String defenseName, int images, int rounds) {
        int batches = images / mc.batch();
        if (batches < 1) throw new IllegalArgumentException("--train-images " + images + " is below one batch of " + mc.batch());
        Tensor[] d = data(be, mc, batches * mc.batch(), 2);
        long row = (long) mc.channels() * mc.size() * mc.size();
        List<Tensor[]> batchList = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            Tensor xb = be.empty(DType.FLOAT32, Shape.of(mc.batch(), mc.channels(), mc.size(), mc.size())).keep();
            Tensor yb = be.empty(DType.FLOAT32, Shape.of(mc.batch())).keep();
            be.copyBlock(d[0], b * mc.batch() * row, xb.numel(), xb, 0, xb.numel(), 1, xb.numel());
            be.copyBlock(d[1], (long) b * mc.batch(), mc.batch(), yb, 0, mc.batch(), 1, mc.batch());
            batchList.add(new Tensor[] {xb, yb});
        }
        DefenseConfig cfg = new DefenseConfig(EPS, 10, ALPHA, 6.0, 2.0, 1.0, 8, 5e-3, 0);
        Defense defense = Defenses.create(defenseName, cfg, null, false);
        try (Model model = mc.build(0);
             Sgd opt = new Sgd(model.namedParameters(), 0.01, 0.9, 5e-4)) {
            double[] t = new double[rounds], cpu = new double[rounds];
            long step = 0;
            for (int r = -1; r < rounds; r++) {
                // Round -1 is a warm-up of two batches (JIT, allocator pool, thread pool).
                int nb = r < 0 ? Math.min(2, batches) : batches;
                long t0 = System.nanoTime(), c0 = OS.getProcessCpuTime();
                for (int b = 0; b < nb; b++) {
                    defense.beginStep(step++);
                    try (MemoryScope s = MemoryScope.open()) {
                        defense.step(model, opt, batchList.get(b)[0], batchList.get(b)[1], 0);
                    }
                }
                be.synchronize();
                if (r >= 0) {
                    t[r] = (System.nanoTime() - t0) / 1e9;
                    cpu[r] = (OS.getProcessCpuTime() - c0) / 1e9;
                }
            }
            double s = median(t);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("images", batches * mc.batch());
            m.put("seconds", s);
            m.put("seconds_min", Arrays.stream(t).min().getAsDouble());
            m.put("images_per_s", batches * mc.batch() / s);
            m.put("cpu_seconds", median(cpu));
            m.put("rounds", rounds);
            return m;
        } finally {
            for (Tensor[] b : batchList) {
                b[0].close();
                b[1].close();
            }
            d[0].close();
            d[1].close();
        }
    }

    static Map<String, Object> sgemmRow(Backend be, int size) {
        Tensor a = be.empty(DType.FLOAT32, Shape.of(size, size)).keep();
        Tensor b = be.empty(DType.FLOAT32, Shape.of(size, size)).keep();
        Tensor c = be.empty(DType.FLOAT32, Shape.of(size, size)).keep();
        try {
            Generator g = new Generator(3);
            g.uniform(a, -1, 1);
            g.uniform(b, -1, 1);
            int iters = size >= 2048 ? 5 : 20;
            double[] t = new double[iters];
            for (int i = -3; i < iters; i++) {
                long t0 = System.nanoTime();
                be.gemm(false, false, size, size, size, 1, a, b, 0, c);
                be.synchronize();
                if (i >= 0) t[i] = (System.nanoTime() - t0) / 1e9;
            }
            double flops = 2.0 * size * size * size;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("size", size);
            m.put("gflops_median", flops / median(t) / 1e9);
            m.put("gflops_best", flops / Arrays.stream(t).min().getAsDouble() / 1e9);
            return m;
        } finally {
            a.close();
            b.close();
            c.close();
        }
    }
}
