package org.advmia.benchmark;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.advmia.attack.Attack;
import org.advmia.attack.AttackResult;
import org.advmia.attack.KnowledgeSetting;
import org.advmia.attack.UniversalPerturbation;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.benchmark.visual.GradCam;
import org.advmia.benchmark.visual.ImageShape;
import org.advmia.benchmark.visual.Pictures;
import org.advmia.data.Batch;
import org.advmia.data.BatchLoader;
import org.advmia.nn.FeatureMaps;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.advmia.attack.DatasetEvaluation;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.data.DataSpec;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.defense.Defense;
import org.advmia.defense.DefenseConfig;
import org.advmia.defense.Defenses;
import org.advmia.defense.preprocess.PreprocessedModel;
import org.advmia.defense.preprocess.Preprocessors;
import org.advmia.defense.Trainer;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.nn.models.Models;
import org.advmia.util.Json;
import org.advmia.util.Progress;

/**
 * Runs a {@link BenchmarkConfig}: trains (or takes from the cache) every dataset × model × defense,
 * evaluates each under clean data and every attack × ε, fills the transfer matrix, draws the
 * pictures and writes the report. Every finished training and cell goes to the results database
 * the moment it finishes, so a killed run resumes where it stopped; cells are keyed by a hash of
 * everything that determines their numbers, so a changed config recomputes exactly what changed.
 */
public final class BenchmarkRunner {
    /** Bump when a change to the engine makes stored numbers stale. */
    static final int FORMAT = 1;
    static final int EVAL_BATCH = 100;

    public enum Verbosity { QUIET, NORMAL, VERBOSE }

    /**
     * @param database the SQLite file (shared between results folders, if you like)
     * @param modelCache where trained weights live, named by configuration hash
     */
    public record Options(Path outDir, Path database, Path modelCache, Verbosity verbosity, PrintStream log) {
        public static Options in(Path outDir, Verbosity v, PrintStream log) {
            return new Options(outDir, outDir.resolve("results.db"), outDir.resolve("models"), v, log);
        }
    }

    private final BenchmarkConfig cfg;
    private final Options opt;
    private final boolean quiet, verbose;
    private double engineSeconds;
    private final List<TrainingResult> trainings = new ArrayList<>();
    private final List<CellResult> cells = new ArrayList<>();
    private final List<TransferResult> transfers = new ArrayList<>();
    private final List<Figure> figures = new ArrayList<>();
    private final List<DetectionCell> detections = new ArrayList<>();
    private final Map<String, Set<String>> budgets = new LinkedHashMap<>();
    private int computed, reused;

    private BenchmarkRunner(BenchmarkConfig cfg, Options opt) {
        this.cfg = cfg;
        this.opt = opt;
        this.quiet = opt.verbosity() == Verbosity.QUIET;
        this.verbose = opt.verbosity() == Verbosity.VERBOSE;
    }

    public static BenchmarkResults run(BenchmarkConfig cfg, Options opt) throws IOException {
        return new BenchmarkRunner(cfg, opt).run();
    }

    /** Cells in the plan (clean + attacks × ε per trained model, plus the transfer matrix). */
    public static int plannedCells(BenchmarkConfig cfg) {
        int perModel = 1 + cfg.eps().size() * cfg.attacks().size();
        int models = cfg.models().size() * cfg.defenses().size();
        int transfer = cfg.transfer().enabled() && models > 1 ? models * models : 0;
        int preprocessed = cfg.models().size() * cfg.preprocessing().size();
        return cfg.datasets().size() * ((models + preprocessed) * perModel + transfer);
    }

    private BenchmarkResults run() throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(opt.outDir());
        Files.createDirectories(opt.modelCache());
        Progress bar;
        try (ResultsStore store = ResultsStore.open(opt.database())) {
            String runId = store.beginRun(cfg.name(), cfg.toJson());
            log("benchmark '%s': %d datasets x %d models x %d defenses, %d eps x %d attacks; %d cells; results in %s",
                    cfg.name(), cfg.datasets().size(), cfg.models().size(), cfg.defenses().size(), cfg.eps().size(),
                    cfg.attacks().size(), plannedCells(cfg), opt.outDir());
            // Open and check every dataset first: a config error must not surface after an hour of training.
            Map<BenchmarkConfig.DatasetEntry, Dataset> opened = new LinkedHashMap<>();
            for (BenchmarkConfig.DatasetEntry d : cfg.datasets()) opened.put(d, openChecked(d));
            bar = new Progress(opt.log(), "benchmark", plannedCells(cfg), quiet);
            for (var e : opened.entrySet()) runDataset(store, runId, e.getKey(), e.getValue(), bar);
            bar.done();
            store.finishRun(runId, (System.nanoTime() - start) / 1e9, engineSeconds);
        }
        double wall = (System.nanoTime() - start) / 1e9;
        BenchmarkResults results = results(wall);
        List<Path> written = org.advmia.benchmark.report.ReportWriter.write(results, opt.outDir());
        double total = (System.nanoTime() - start) / 1e9;
        // The report is written after the numbers are final; count its time in the overhead we print.
        results = results(total);
        if (!quiet) {
            opt.log().printf("done in %s: %d cells computed, %d reused from %s; engine %.1f s, harness overhead %.2f%%%n",
                    Progress.fmt(total), computed, reused, opt.database(), engineSeconds, 100 * results.harnessOverhead());
            for (Path p : written) if (p.getFileName().toString().startsWith("report")) opt.log().println("  " + p);
        }
        return results;
    }

    private BenchmarkResults results(double wall) {
        Map<String, String> b = new LinkedHashMap<>();
        budgets.forEach((k, v) -> b.put(k, String.join("; ", v)));
        return new BenchmarkResults(cfg.name(), cfg.source(), b, environment(), wall, engineSeconds, trainings, cells,
                transfers, figures, detections);
    }

    static Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("advmia", String.valueOf(BenchmarkRunner.class.getPackage().getImplementationVersion()));
        env.put("backend", "cpu (C++ kernels, OpenBLAS GEMM)");
        env.put("threads", Integer.toString(CpuBackend.get().threads()));
        env.put("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
        env.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        return env;
    }

    private Dataset openChecked(BenchmarkConfig.DatasetEntry d) {
        long t = System.nanoTime();
        Dataset data;
        try {
            data = DataSpec.open(d.spec());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(cfg.source() + ": dataset " + d.name() + ": " + e.getMessage(), e);
        }
        engineSeconds += (System.nanoTime() - t) / 1e9;
        Task task = data.info().task();
        for (AttackSpec a : cfg.attacks()) requireApplicable(a, task, d);
        if (cfg.transfer().enabled()) requireApplicable(cfg.transfer().attack(), task, d);
        if (cfg.pictures().rows() > 0) requireApplicable(cfg.pictures().attack(), task, d);
        for (String m : cfg.models()) {
            Models.forData(m, data.info(), 0).close();   // model vs task (segmentation or not), input size
        }
        DetectionRunner.check(cfg, d, data.info());
        return data;
    }

    private void requireApplicable(AttackSpec a, Task task, BenchmarkConfig.DatasetEntry d) {
        try {
            a.requireApplicable(task, d.name());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(cfg.source() + ": " + e.getMessage(), e);
        }
    }

    private void runDataset(ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data, Progress bar)
            throws IOException {
        DatasetInfo info = data.info();
        Split split = Split.parse(d.split());
        List<TrainingResult> trained = new ArrayList<>();
        for (String modelName : cfg.models()) {
            for (BenchmarkConfig.DefenseEntry def : cfg.defenses()) {
                TrainingResult tr = trainOrReuse(store, d, data, modelName, def);
                trainings.add(tr);
                trained.add(tr);
                try (Model model = load(tr, info)) {
                    evaluateCells(store, runId, d, data, split, model, tr, bar);
                    pictures(d, data, split, model, tr);
                    if (cfg.detection().enabled()) detect(store, runId, d, data, split, model, tr, bar);
                }
                for (BenchmarkConfig.PreprocessingEntry pe : cfg.preprocessing()) {
                    if (!pe.on().equals(def.name())) continue;
                    // The preprocessed model shares the trained weights; its cells are keyed by them and the chain.
                    TrainingResult wrapped = new TrainingResult(tr.dataset(), tr.model(), pe.label(), tr.trainEps(), tr.epochs(),
                            tr.seconds(), tr.valMetric(), tr.valValue(), sha256(tr.hash() + "|preprocess|" + pe.spec()),
                            tr.weights(), tr.cached());
                    try (Model model = Preprocessors.wrap(load(tr, info), pe.spec(), "preprocessing", cfg.seed())) {
                        evaluateCells(store, runId, d, data, split, model, wrapped, bar);
                    }
                }
            }
        }
        if (cfg.transfer().enabled() && trained.size() > 1) transferMatrix(store, runId, d, data, split, trained, bar);
    }

    private Model load(TrainingResult tr, DatasetInfo info) throws IOException {
        Model m = Models.forData(tr.model(), info, cfg.seed());
        SafeTensors.load(m, Path.of(tr.weights()));
        return m;
    }

    // ---------------------------------------------------------------- training

    String trainingHash(BenchmarkConfig.DatasetEntry d, String model, BenchmarkConfig.DefenseEntry def) {
        return trainingHash(d, model, def, null, cfg.seed());
    }

    /** role null is a benchmark model (its hash unchanged by the settings); otherwise a surrogate or a teacher. */
    String trainingHash(BenchmarkConfig.DatasetEntry d, String model, BenchmarkConfig.DefenseEntry def, String role,
                        long seed) {
        Map<String, Object> id = new LinkedHashMap<>();
        if (role != null) id.put("role", role);
        id.put("format", FORMAT);
        id.put("data", d.spec());
        id.put("model", model);
        id.put("defense", BenchmarkConfig.defenseIdentity(def));
        id.put("training", cfg.trainingIdentity());
        id.put("seed", seed);
        return sha256(Json.write(id));
    }

    /** Roles of the extra models the settings and distillation train (their seeds differ from the target's). */
    static final String SEMI_WHITE_BOX_SURROGATE = "semi-white-box surrogate", NO_BOX_SURROGATE = "no-box surrogate",
            TEACHER = "distillation teacher";

    private TrainingResult trainOrReuse(ResultsStore store, BenchmarkConfig.DatasetEntry d, Dataset data, String modelName,
                                        BenchmarkConfig.DefenseEntry def) throws IOException {
        return trainOrReuse(store, d, data, modelName, def, null, cfg.seed());
    }

    /**
     * Trains (or reuses) one model. role: null for a benchmark model; NO_BOX_SURROGATE trains on
     * the attacker's data ({@link #attackerData}); TEACHER trains distillation's teacher at T.
     */
    private TrainingResult trainOrReuse(ResultsStore store, BenchmarkConfig.DatasetEntry d, Dataset fullData,
                                        String modelName, BenchmarkConfig.DefenseEntry def, String role, long seed)
            throws IOException {
        Dataset data = NO_BOX_SURROGATE.equals(role) ? attackerData(fullData) : fullData;
        String hash = trainingHash(d, modelName, def, role, seed);
        Optional<TrainingResult> hit = store.model(hash);
        if (hit.isPresent() && Files.exists(Path.of(hit.get().weights()))) {
            if (verbose) log("%s/%s/%s: trained model cached (%s)", d.name(), modelName, def.name(), hash.substring(0, 12));
            return hit.get().asCached();
        }
        String tag = role == null ? "" : "-" + role.replace(' ', '_');
        Path weights = opt.modelCache().resolve(modelName + "-" + def.name() + tag + "-" + hash.substring(0, 16)
                + ".safetensors");
        BenchmarkConfig.Training t = cfg.training();
        DatasetInfo info = data.info();
        double eps = def.name().equals("nat") ? 0 : def.trainEps();
        DefenseConfig base = DefenseConfig.survey(eps).withSeed(seed)
                .withSteps(def.innerSteps() != null ? def.innerSteps() : t.innerSteps());
        if (def.beta() != null) base = base.withBeta(def.beta());
        boolean segmentation = info.task() == Task.SEGMENTATION;
        // Distillation's logits must grow about T-fold, which Adam reaches and plain SGD at the survey's
        // rate did not in our measurements (DefensiveDistillationTest): teacher and student train with
        // Adam at its usual rate whatever the config's optimizer.
        boolean distillation = def.name().equals("distillation") || TEACHER.equals(role);
        boolean adam = distillation && !t.optimizer().equals("adam");
        Trainer.Config tc = new Trainer.Config(t.epochs(), t.batch(), adam ? 1e-3 : t.lr(), adam ? "adam" : t.optimizer(),
                0.9, t.weightDecay(), t.balanced() && !segmentation, seed, t.valLimit(),
                !def.name().equals("nat") && !distillation);
        // A checkpoint without a database entry is a training that was killed: continue it.
        boolean resume = Files.exists(Trainer.checkpointFile(weights));
        if (!quiet) log("%s/%s/%s%s: training %d epochs%s%s", d.name(), modelName, def.name(), role == null ? "" : " (" + role + ")",
                t.epochs(), resume ? " (resuming a killed run)" : "", adam ? " with Adam" : "");
        long start = System.nanoTime();
        Model helper = null;
        // seed is cfg.seed() for benchmark models; surrogates and teachers get their own initialisation too.
        try (Model model = Models.forData(modelName, info, seed)) {
            if (def.name().equals("hat")) helper = hatHelper(store, d, data, modelName);
            if (def.name().equals("distillation") && !TEACHER.equals(role)) {
                TrainingResult teacher = trainOrReuse(store, d, data, modelName, def, TEACHER, seed + 3);
                helper = load(teacher, info);
            }
            Defense defense = TEACHER.equals(role)
                    ? org.advmia.defense.DefensiveDistillation.teacherObjective(base, Defenses.Extra.defaults().temperature())
                    : Defenses.create(def.name(), base, helper, false);
            Map<String, String> md = new LinkedHashMap<>();
            md.put("model", modelName);
            md.put("defense", def.name());
            md.put("eps", Double.toString(eps));
            md.put("data", d.spec());
            md.put("config_hash", hash);
            if (role != null) md.put("role", role);
            Trainer.Result r = Trainer.train(model, defense, data, tc, weights, resume, md,
                    new TrainingProgress(opt.log(), d.name() + "/" + modelName + "/" + def.name() + tag, t.epochs(), quiet),
                    t.epochs());
            double seconds = (System.nanoTime() - start) / 1e9;
            engineSeconds += seconds;
            TrainingResult tr = new TrainingResult(d.name(), modelName, def.name(), eps, r.epochs(), seconds, r.metric(),
                    r.bestMetric(), hash, weights.toString(), false);
            store.putModel(hash, tr);
            return tr;
        } finally {
            if (helper != null) helper.close();
        }
    }

    /** HAT's helper is a naturally trained model: the nat cell of the same config when there is one. */
    private Model hatHelper(ResultsStore store, BenchmarkConfig.DatasetEntry d, Dataset data, String modelName)
            throws IOException {
        TrainingResult nat = trainOrReuse(store, d, data, modelName, new BenchmarkConfig.DefenseEntry("nat", 0, null, null));
        return load(nat, data.info());
    }

    /**
     * The no-box attacker's data: none of the target's training split. Its train split is the first
     * three quarters of the dataset's validation split, its validation split the last quarter; the
     * test split is the benchmark's. Every benchmark model trained on the train split, so the
     * attacker's images are disjoint from every target's training images.
     */
    static Dataset attackerData(Dataset data) {
        int val = data.size(Split.VAL), cut = (val * 3) / 4;
        if (cut == 0 || cut == val) {
            throw new IllegalArgumentException(data.info().name() + ": the no-box setting trains its surrogate on the"
                    + " validation split, which has " + val + " samples; it needs at least 2");
        }
        return new Dataset() {
            @Override
            public DatasetInfo info() {
                return data.info();
            }

            @Override
            public int size(Split s) {
                return switch (s) {
                    case TRAIN -> cut;
                    case VAL -> val - cut;
                    default -> data.size(s);
                };
            }

            @Override
            public org.advmia.data.Sample get(Split s, int index) {
                checkIndex(s, index);
                return switch (s) {
                    case TRAIN -> data.get(Split.VAL, index);
                    case VAL -> data.get(Split.VAL, cut + index);
                    default -> data.get(s, index);
                };
            }

            @Override
            public float[] label(Split s, int index) {
                checkIndex(s, index);
                return switch (s) {
                    case TRAIN -> data.label(Split.VAL, index);
                    case VAL -> data.label(Split.VAL, cut + index);
                    default -> data.label(s, index);
                };
            }
        };
    }

    /**
     * The surrogate a setting crafts on, for the target tr. semi-white-box: the target's data and
     * defense, the column's surrogate_model (default: the target's architecture) and seed + 1.
     * no-box: natural training on {@link #attackerData}, seed + 2.
     */
    private TrainingResult surrogateFor(ResultsStore store, BenchmarkConfig.DatasetEntry d, Dataset data, TrainingResult tr,
                                        KnowledgeSetting setting, String surrogateModel) throws IOException {
        String arch = surrogateModel != null ? surrogateModel : tr.model();
        if (setting == KnowledgeSetting.NO_BOX) {
            return trainOrReuse(store, d, data, arch, new BenchmarkConfig.DefenseEntry("nat", 0, null, null),
                    NO_BOX_SURROGATE, cfg.seed() + 2);
        }
        BenchmarkConfig.DefenseEntry def = cfg.defenses().stream().filter(e -> e.name().equals(tr.defense())).findFirst()
                .orElse(new BenchmarkConfig.DefenseEntry(tr.defense(), tr.trainEps(), null, null));
        return trainOrReuse(store, d, data, arch, def, SEMI_WHITE_BOX_SURROGATE, cfg.seed() + 1);
    }

    /** Builds the column's attack on the crafting model; a universal one is fitted first, on the attacker's train split. */
    private Attack prepared(AttackSpec a, Model crafter, double eps, Dataset data, KnowledgeSetting setting) {
        Attack at = a.create(crafter, eps, cfg.seed(), defaultLoss(data.info()));
        if (at instanceof UniversalPerturbation u) {
            u.fit(setting == KnowledgeSetting.NO_BOX ? attackerData(data) : data, Split.TRAIN, a.fitSampleCount());
        }
        return at;
    }

    // ---------------------------------------------------------------- cells

    private void evaluateCells(ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data, Split split,
                               Model model, TrainingResult tr, Progress bar) {
        String task = taskName(data.info());
        evaluateCell(store, runId, d, data, split, model, tr, task, null, 0, bar);
        for (double eps : cfg.eps()) {
            for (AttackSpec a : cfg.attacks()) evaluateCell(store, runId, d, data, split, model, tr, task, a, eps, bar);
        }
    }

    static String taskName(DatasetInfo info) {
        return switch (info.task()) {
            case CLASSIFICATION -> info.classes() == 2 ? "binary" : "multiclass";
            case MULTILABEL -> "multilabel";
            case SEGMENTATION -> "segmentation";
        };
    }

    private void evaluateCell(ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data, Split split,
                              Model model, TrainingResult tr, String task, AttackSpec a, double eps, Progress bar) {
        KnowledgeSetting setting = a == null ? KnowledgeSetting.WHITE_BOX : a.setting();
        TrainingResult surrogate = null;
        if (setting.usesSurrogate()) {
            try {
                surrogate = surrogateFor(store, d, data, tr, setting, a.surrogateModel());
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        Map<String, Object> id = new LinkedHashMap<>();
        if (surrogate != null) id.put("surrogate", surrogate.hash());
        id.put("format", FORMAT);
        id.put("model", tr.hash());
        id.put("split", d.split());
        id.put("samples", d.evalSamples());
        id.put("attack", a == null ? CellResult.CLEAN : a.identity());
        id.put("eps", eps);
        id.put("seed", cfg.seed());
        String key = sha256(Json.write(id));
        String label = a == null ? CellResult.CLEAN : a.label();
        bar.status(tr.defense() + " " + label + (a == null ? "" : " " + AttackSpec.fmt255(eps)));
        Optional<CellResult> hit = store.cell(key);
        CellResult c;
        if (hit.isPresent()) {
            c = hit.get();
            store.markUsed(runId, key);
            reused++;
        } else {
            String[] budget = {"clean data"};
            Attack[] used = {null};
            long start = System.nanoTime();
            DatasetEvaluation.Report r;
            Map<String, Double> universal = new LinkedHashMap<>();
            try (Model crafter = surrogate == null ? null : load(surrogate, data.info())) {
                // The target (m) is only scored; semi-white-box and no-box columns craft on the surrogate.
                r = DatasetEvaluation.run(model, data, split, d.evalSamples(), EVAL_BATCH,
                        a == null ? null : m -> {
                            Model on = crafter != null ? crafter : m;
                            Attack at = prepared(a, on, eps, data, setting);
                            int eot = Preprocessors.eotSamples(on);
                            if (eot > 1) at.withEot(eot);
                            budget[0] = a.budget(at);
                            // Which adaptive evaluation a preprocessing defense got belongs next to the budget.
                            if (on instanceof PreprocessedModel) budget[0] += "; " + Preprocessors.adaptiveEvaluation(on);
                            used[0] = at;
                            return at;
                        });
                if (used[0] instanceof UniversalPerturbation u) {
                    // Moosavi-Dezfooli et al.'s measure on the evaluated (held-out) images, and the
                    // random-noise baseline of the same norm it must beat.
                    universal.put("fooling_rate", UniversalPerturbation.foolingRate(model, data, split, d.evalSamples(),
                            EVAL_BATCH, u.perturbation(), 0, 1));
                    try (Tensor noise = u.randomNoiseOfSameNorm(cfg.seed())) {
                        universal.put("random_fooling_rate", UniversalPerturbation.foolingRate(model, data, split,
                                d.evalSamples(), EVAL_BATCH, noise, 0, 1));
                    }
                    u.release();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            engineSeconds += seconds;
            List<String> warnings = new ArrayList<>(r.warnings());
            if (a == null) warnings.addAll(collapseWarning(r, data.info()));
            Map<String, Double> metrics = numericMetrics(r);
            metrics.putAll(universal);
            c = new CellResult(d.name(), task, tr.model(), tr.defense(), label, budget[0], eps, r.samples(),
                    a == null ? seconds : r.seconds(), metrics, warnings);
            store.putCell(key, runId, c);
            computed++;
        }
        cells.add(c);
        if (a != null) budgets.computeIfAbsent(label, k -> new LinkedHashSet<>()).add(c.budget());
        if (verbose) {
            log("%s/%s/%s %s eps %s: accuracy %.4f (%d samples, %.2f s)%s", d.name(), tr.model(), tr.defense(), label,
                    AttackSpec.fmt255(eps), c.robustAccuracy(), c.samples(), c.seconds(), hit.isPresent() ? " [cached]" : "");
        }
        for (String w : c.warnings()) if (!quiet) log("WARNING %s/%s/%s %s: %s", d.name(), tr.model(), tr.defense(), label, w);
        bar.tick();
    }

    /**
     * A classifier that answers one class for everything has macro recall exactly 1/K on data
     * holding every class; its "robust accuracy" is the class prior, not robustness. Adversarial
     * training collapses this way when eps is large for the data; the report must say so.
     */
    static List<String> collapseWarning(DatasetEvaluation.Report r, DatasetInfo info) {
        Double recall = r.taskMetrics().get("macro_recall_clean");
        if (info.task() != Task.CLASSIFICATION || recall == null) return List.of();
        if (Math.abs(recall - 1.0 / info.classes()) > 1e-12) return List.of();
        return List.of("the model predicts the same class for every sample (collapsed training): its accuracy is the"
                + " class prior, not robustness");
    }

    static org.advmia.attack.AttackLoss defaultLoss(DatasetInfo info) {
        return info.task() == Task.MULTILABEL ? org.advmia.attack.AttackLoss.BCE : null;
    }

    static Map<String, Double> numericMetrics(DatasetEvaluation.Report r) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : r.toMap().entrySet()) {
            String k = e.getKey();
            if (k.equals("samples") || k.equals("seconds")) continue;
            if (e.getValue() instanceof Number n) m.put(k, n.doubleValue());
        }
        return m;
    }

    // ---------------------------------------------------------------- detection

    private void detect(ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data, Split split,
                        Model model, TrainingResult tr, Progress bar) {
        bar.status(tr.defense() + " detection");
        DetectionRunner.Outcome o = DetectionRunner.run(cfg, store, runId, d, data, split, model, tr);
        engineSeconds += o.engineSeconds();
        detections.addAll(o.cells());
        if (verbose) {
            for (DetectionCell c : o.cells()) {
                log("%s/%s/%s detection %s vs %s eps %s: AUROC %.3f, adaptive %.3f", d.name(), tr.model(), tr.defense(),
                        c.detector(), c.attack(), AttackSpec.fmt255(c.eps()), c.standard().aurocSuccessful(),
                        c.adaptive().aurocSuccessful());
            }
        }
    }

    // ---------------------------------------------------------------- transfer

    private void transferMatrix(ResultsStore store, String runId, BenchmarkConfig.DatasetEntry d, Dataset data, Split split,
                                List<TrainingResult> trained, Progress bar) throws IOException {
        BenchmarkConfig.Transfer t = cfg.transfer();
        int samples = t.samples() > 0 ? t.samples() : d.evalSamples();
        KnowledgeSetting setting = t.setting();
        for (TrainingResult row : trained) {
            // no-box rows craft on the row model's no-box surrogate, never on the row model itself.
            TrainingResult src = setting == KnowledgeSetting.NO_BOX
                    ? surrogateFor(store, d, data, row, setting, null) : row;
            UniversalPerturbation[] fittedOnSource = {null};
            try (Model source = load(src, data.info())) {
                for (TrainingResult dst : trained) {
                    Map<String, Object> id = new LinkedHashMap<>();
                    id.put("format", FORMAT);
                    id.put("source", src.hash());
                    if (setting != KnowledgeSetting.SEMI_WHITE_BOX) id.put("setting", setting.key());
                    id.put("target", dst.hash());
                    id.put("split", d.split());
                    id.put("samples", samples);
                    id.put("attack", t.attack().identity());
                    id.put("eps", t.eps());
                    id.put("seed", cfg.seed());
                    String key = sha256(Json.write(id));
                    bar.status("transfer " + src.defense() + " -> " + dst.defense());
                    Optional<TransferResult> hit = store.transfer(key);
                    TransferResult tr;
                    if (hit.isPresent()) {
                        tr = hit.get();
                        store.markTransferUsed(runId, key);
                        reused++;
                    } else {
                        long start = System.nanoTime();
                        DatasetEvaluation.Report r;
                        try (Model target = src == dst ? null : load(dst, data.info())) {
                            Model evalOn = target == null ? source : target;
                            // The attack only ever sees the source: the target is queried for the verdict alone.
                            r = DatasetEvaluation.run(evalOn, data, split, samples, EVAL_BATCH, m -> {
                                Attack at = fittedOnSource[0] != null ? fittedOnSource[0]
                                        : prepared(t.attack(), source, t.eps(), data, setting);
                                // A universal perturbation is fitted once per source and applied to every target.
                                if (at instanceof UniversalPerturbation u) fittedOnSource[0] = u;
                                return at;
                            });
                        }
                        engineSeconds += (System.nanoTime() - start) / 1e9;
                        String label = t.attack().label() + (setting == KnowledgeSetting.NO_BOX ? " [no-box]" : "");
                        tr = new TransferResult(d.name(), label, t.eps(), row.modelKey(), dst.modelKey(),
                                r.samples(), r.cleanAccuracy(), r.robustAccuracy(), r.seconds());
                        store.putTransfer(key, runId, tr);
                        computed++;
                    }
                    transfers.add(tr);
                    bar.tick();
                }
            } finally {
                if (fittedOnSource[0] != null) fittedOnSource[0].release();
            }
        }
    }

    // ---------------------------------------------------------------- pictures

    /**
     * The first rows test images of each trained model under the picture attack: a grid (clean,
     * perturbation, adversarial, Grad-CAM of both) for classification, masks under attack for
     * segmentation. Multi-label data gets no picture (its labels are not one class per image).
     */
    private void pictures(BenchmarkConfig.DatasetEntry d, Dataset data, Split split, Model model, TrainingResult tr)
            throws IOException {
        BenchmarkConfig.Pictures pc = cfg.pictures();
        DatasetInfo info = data.info();
        int rows = Math.min(pc.rows(), data.size(split));
        if (rows == 0 || info.task() == Task.MULTILABEL) return;
        Path dir = opt.outDir().resolve("figures");
        Files.createDirectories(dir);
        String stem = safe(d.name() + "_" + tr.model() + "_" + tr.defense());
        String what = d.name() + " / " + tr.model() + " / " + tr.defense() + ", " + pc.attack().label() + " at eps "
                + AttackSpec.fmt255(pc.eps());
        ImageShape shape = new ImageShape(info.channels(), info.height(), info.width());
        BatchLoader loader = BatchLoader.builder(data, split).batchSize(rows).build();
        try (BatchLoader.Epoch epoch = loader.epoch(0); MemoryScope scope = MemoryScope.open()) {
            Batch batch = epoch.next();
            long t0 = System.nanoTime();
            Tensor x = batch.images(), y = batch.labels();
            Attack attack = pc.attack().create(model, pc.eps(), cfg.seed(), defaultLoss(info));
            float[] clean = Backends.toFloatArray(x), labels = Backends.toFloatArray(y);
            float[] adv;
            Tensor advT;
            try (AttackResult r = attack.run(x, y, null)) {
                advT = Backends.of(x).duplicate(r.adversarial());
                adv = Backends.toFloatArray(advT);
            }
            float[] zc = logits(model, x), za = logits(model, advT);
            int per = shape.values();
            if (info.task() == Task.SEGMENTATION) {
                int hw = info.height() * info.width(), c = info.classes();
                List<Pictures.SegmentationExample> ex = new ArrayList<>();
                for (int i = 0; i < rows; i++) {
                    int[] truth = new int[hw];
                    for (int p = 0; p < hw; p++) truth[p] = (int) labels[i * hw + p];
                    ex.add(new Pictures.SegmentationExample(slice(clean, i, per), truth, pixelArgmax(zc, i, c, hw),
                            pixelArgmax(za, i, c, hw), slice(adv, i, per)));
                }
                engineSeconds += (System.nanoTime() - t0) / 1e9;
                Path png = dir.resolve(stem + "_masks.png");
                Pictures.segmentationMasks(png, shape, ex, c);
                figures.add(new Figure("segmentation-masks", "Masks under attack: " + what,
                        "Per row: image, true mask, mask predicted on the clean image, mask predicted on the adversarial "
                                + "image, adversarial image; Dice of both predictions below.", opt.outDir().relativize(png)));
                return;
            }
            int c = info.classes();
            int[] pc0 = new int[rows], pa = new int[rows];
            for (int i = 0; i < rows; i++) {
                pc0[i] = argmax(zc, i, c);
                pa[i] = argmax(za, i, c);
            }
            float[][] camClean = null, camAdv = null;
            if (model instanceof FeatureMaps) {
                camClean = GradCam.compute(model, x, pc0);
                camAdv = GradCam.compute(model, advT, pa);
            }
            engineSeconds += (System.nanoTime() - t0) / 1e9;
            List<Pictures.AdversarialExample> ex = new ArrayList<>();
            for (int i = 0; i < rows; i++) {
                ex.add(new Pictures.AdversarialExample(slice(clean, i, per), slice(adv, i, per), (int) labels[i], pc0[i],
                        pa[i], camClean == null ? null : camClean[i], camAdv == null ? null : camAdv[i]));
            }
            Path png = dir.resolve(stem + "_adversarial.png");
            Pictures.adversarialGrid(png, shape, ex, info.classNames().toArray(new String[0]), 10);
            figures.add(new Figure("adversarial-grid", "Adversarial examples and Grad-CAM: " + what,
                    "Per row: clean image, perturbation magnified 10x (grey = unchanged), adversarial image"
                            + (camClean == null ? "" : ", Grad-CAM of the clean and of the adversarial prediction")
                            + "; the caption gives the true class and both predictions (red: the attack changed it).",
                    opt.outDir().relativize(png)));
        }
    }

    private static float[] logits(Model model, Tensor x) {
        model.eval();
        try (AutoCloseable ng = Autograd.noGrad()) {
            return Backends.toFloatArray(model.logits(Variable.constant(x)).value());
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }

    private static float[] slice(float[] a, int i, int per) {
        return java.util.Arrays.copyOfRange(a, i * per, (i + 1) * per);
    }

    private static int argmax(float[] z, int i, int c) {
        int best = 0;
        for (int k = 1; k < c; k++) if (z[i * c + k] > z[i * c + best]) best = k;
        return best;
    }

    /** Logits [N, C, H, W] to the class map of image i. */
    private static int[] pixelArgmax(float[] z, int i, int c, int hw) {
        int[] out = new int[hw];
        int base = i * c * hw;
        for (int p = 0; p < hw; p++) {
            int best = 0;
            for (int k = 1; k < c; k++) if (z[base + k * hw + p] > z[base + best * hw + p]) best = k;
            out[p] = best;
        }
        return out;
    }

    private static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]+", "-");
    }

    // ---------------------------------------------------------------- helpers

    private void log(String fmt, Object... args) {
        if (!quiet) opt.log().println(String.format(fmt, args));
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
