package org.advmia.benchmark;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.advmia.attack.Attacks;
import org.advmia.attack.KnowledgeSetting;
import org.advmia.data.DataSpec;
import org.advmia.defense.Defenses;
import org.advmia.defense.preprocess.Preprocessors;
import org.advmia.defense.detect.Detectors;
import org.advmia.nn.models.Models;
import org.advmia.util.Json;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A benchmark: datasets × models × defenses × ε × attacks, plus the transfer matrix, the
 * pictures and (optionally) adversarial detection. Read from YAML or JSON (the same keys); {@link #defaultConfig} is the embedded
 * default run on synthetic lesions. See benchmarks/configs/ for annotated examples.
 */
public record BenchmarkConfig(String name, long seed, List<DatasetEntry> datasets, List<String> models,
                              List<DefenseEntry> defenses, List<Double> eps, List<AttackSpec> attacks,
                              Training training, Transfer transfer, Pictures pictures,
                              List<PreprocessingEntry> preprocessing, String source, Detection detection) {
    /** Without adversarial detection. */
    public BenchmarkConfig(String name, long seed, List<DatasetEntry> datasets, List<String> models,
                           List<DefenseEntry> defenses, List<Double> eps, List<AttackSpec> attacks,
                           Training training, Transfer transfer, Pictures pictures,
                           List<PreprocessingEntry> preprocessing, String source) {
        this(name, seed, datasets, models, defenses, eps, attacks, training, transfer, pictures, preprocessing, source,
                Detection.NONE);
    }

    /** A dataset spec (see docs/DATA.md) and how many test samples each cell evaluates (0 = all). */
    public record DatasetEntry(String name, String spec, int evalSamples, String split) {}

    /** A defense and its training ε (ignored by nat). */
    public record DefenseEntry(String name, double trainEps, Integer innerSteps, Double beta) {
        public String label() {
            return name;
        }
    }

    /** Shared training settings; innerSteps is the inner PGD of the adversarial defenses. */
    public record Training(int epochs, int batch, double lr, String optimizer, double weightDecay, int innerSteps,
                           int valLimit, boolean balanced, double eps) {}

    /**
     * The transfer matrix: every trained model of a dataset as surrogate and as target. setting
     * semi-white-box (default): each row crafts on that trained model; no-box: each row crafts on
     * that model's no-box surrogate (natural training on the validation split, never the target's data).
     */
    public record Transfer(boolean enabled, AttackSpec attack, double eps, int samples,
                           org.advmia.attack.KnowledgeSetting setting) {}

    /**
     * A preprocessing defense (a chain such as "jpeg:75" or "median:3,bit-depth:4", see
     * {@link Preprocessors}) put in front of the model trained with defense {@code on}; its cells
     * are evaluated adaptively (BPDA, EOT) under every attack and ε, in rows labelled {@link #label}.
     * In a config: a bare spec (wraps nat) or {spec: SPEC, wraps: DEFENSE}.
     */
    public record PreprocessingEntry(String spec, String on) {
        public String label() {
            return on + "+" + spec;
        }
    }

    /** Example grids and Grad-CAM: rows per picture, made with attack at ε. */
    public record Pictures(int rows, AttackSpec attack, double eps) {}

    /**
     * Adversarial detection (org.advmia.defense.detect) on every trained model: each detector is
     * fitted against each attack at each ε on the first fitSamples training inputs and measured on
     * the first testSamples evaluation inputs (0: the dataset's eval_samples), against that attack
     * and against pgd-adaptive-detector (adaptiveSteps steps, 0 for its default, and weight
     * lambda). Empty detectors: no detection.
     */
    public record Detection(List<String> detectors, List<AttackSpec> attacks, List<Double> eps, int fitSamples,
                            int testSamples, int adaptiveSteps, double lambda) {
        public static final Detection NONE = new Detection(List.of(), List.of(), List.of(), 0, 0, 0, 1);

        public boolean enabled() {
            return !detectors.isEmpty();
        }

        Map<String, Object> identity() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("detectors", new ArrayList<Object>(detectors));
            List<Object> as = new ArrayList<>();
            for (AttackSpec a : attacks) as.add(a.identity());
            m.put("attacks", as);
            m.put("eps", new ArrayList<Object>(eps));
            m.put("fit_samples", fitSamples);
            m.put("test_samples", testSamples);
            m.put("adaptive_steps", adaptiveSteps);
            m.put("lambda", lambda);
            return m;
        }
    }

    private static final Set<String> TOP = Set.of("name", "seed", "datasets", "models", "defenses", "eps", "attacks",
            "training", "transfer", "pictures", "preprocessing", "detection");

    public static BenchmarkConfig defaultConfig() {
        try (InputStream in = BenchmarkConfig.class.getResourceAsStream("default.yaml")) {
            if (in == null) throw new IllegalStateException("the embedded default benchmark config is missing from the jar");
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "default.yaml (embedded)", true);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the embedded default benchmark config", e);
        }
    }

    public static BenchmarkConfig load(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--config " + file + ": no such file");
        }
        String n = file.getFileName().toString().toLowerCase();
        boolean json = n.endsWith(".json") || (!n.endsWith(".yaml") && !n.endsWith(".yml") && text.stripLeading().startsWith("{"));
        return parse(text, file.toString(), !json);
    }

    public static BenchmarkConfig parse(String text, String source, boolean yaml) {
        Object tree;
        if (yaml) {
            try {
                tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
            } catch (YAMLException e) {
                throw new IllegalArgumentException(source + ": invalid YAML: " + e.getMessage().replace('\n', ' '));
            }
        } else {
            tree = Json.parse(text, source);
        }
        if (tree == null) throw new IllegalArgumentException(source + ": the config is empty");
        return read(ConfigReader.root(source, tree), source);
    }

    private static BenchmarkConfig read(ConfigReader r, String source) {
        r.allowOnly(TOP);
        String name = r.string("name", "benchmark");
        long seed = r.integer("seed", 0, 0);

        List<DatasetEntry> datasets = new ArrayList<>();
        List<Object> dl = r.list("datasets");
        if (dl.isEmpty()) throw r.error("datasets", "needs at least one dataset");
        Set<String> datasetNames = new LinkedHashSet<>();
        for (int i = 0; i < dl.size(); i++) {
            ConfigReader d = r.element("datasets", i, dl.get(i));
            d.allowOnly(Set.of("name", "spec", "eval_samples", "split"));
            String spec = d.string("spec", d.has("name") && d.string("name", "").contains(":") ? d.string("name", "") : null);
            String kind = spec.contains(":") ? spec.substring(0, spec.indexOf(':')) : spec;
            if (!DataSpec.KINDS.contains(kind)) {
                throw d.error("spec", "'" + spec + "' is not a dataset spec; valid kinds: " + String.join(", ", DataSpec.KINDS)
                        + " (e.g. synthetic:lesions, medmnist:PATH.npz, csv:PATH.csv?root=DIR, seg:DIR, idx:DIR)");
            }
            String dn = d.string("name", spec);
            if (!datasetNames.add(dn)) throw d.error("name", "dataset name '" + dn + "' is used twice");
            String split = d.string("split", "test");
            if (!split.equals("test") && !split.equals("val")) throw d.error("split", "expected test or val, got " + split);
            datasets.add(new DatasetEntry(dn, spec, d.integer("eval_samples", 0, 0), split));
        }

        List<String> models = new ArrayList<>();
        for (Object o : r.list("models")) {
            String m = String.valueOf(o).toLowerCase();
            try {
                Models.requireKnown(m);
            } catch (IllegalArgumentException e) {
                throw r.error("models", e.getMessage());
            }
            models.add(m);
        }
        if (models.isEmpty()) throw r.error("models", "needs at least one model");

        ConfigReader t = r.child("training");
        t.allowOnly(Set.of("epochs", "batch", "lr", "optimizer", "weight_decay", "inner_steps", "val_limit", "balanced", "eps"));
        String optimizer = t.string("optimizer", "sgd");
        if (!optimizer.equals("sgd") && !optimizer.equals("adam")) throw t.error("optimizer", "expected sgd or adam, got " + optimizer);
        Training training = new Training(t.integer("epochs", 10, 1), t.integer("batch", 128, 1),
                t.number("lr", optimizer.equals("adam") ? 1e-3 : 0.05, 1e-12), optimizer,
                t.number("weight_decay", 5e-4, 0), t.integer("inner_steps", 10, 1), t.integer("val_limit", 1000, 0),
                t.bool("balanced", true), t.eps("eps", 8 / 255.0));

        List<DefenseEntry> defenses = new ArrayList<>();
        List<Object> fl = r.list("defenses");
        if (fl.isEmpty()) throw r.error("defenses", "needs at least one defense (nat for natural training)");
        Set<String> seenDefenses = new LinkedHashSet<>();
        for (int i = 0; i < fl.size(); i++) {
            ConfigReader d = r.element("defenses", i, fl.get(i));
            d.allowOnly(Set.of("name", "eps", "inner_steps", "beta"));
            String dn = d.string("name", null).toLowerCase();
            if (!Defenses.NAMES.contains(dn)) {
                throw d.error("name", "unknown defense '" + dn + "'. Valid defenses: " + String.join(", ", Defenses.NAMES));
            }
            if (!seenDefenses.add(dn)) throw d.error("name", "defense '" + dn + "' is listed twice");
            defenses.add(new DefenseEntry(dn, d.eps("eps", training.eps()),
                    d.has("inner_steps") ? d.integer("inner_steps", 0, 1) : null, d.has("beta") ? d.number("beta", 0, 0) : null));
        }

        List<Double> eps = new ArrayList<>();
        List<Object> el = r.list("eps");
        for (int i = 0; i < el.size(); i++) {
            double e = ConfigReader.parseEps(el.get(i), source + ": " + r.path("eps", i));
            if (e <= 0) throw new IllegalArgumentException(source + ": " + r.path("eps", i) + ": eps must be > 0 (clean accuracy is always reported)");
            eps.add(e);
        }
        if (eps.isEmpty()) throw r.error("eps", "needs at least one eps, e.g. [1/255, 2/255, 4/255, 8/255]");

        List<AttackSpec> attacks = new ArrayList<>();
        List<Object> al = r.list("attacks");
        Set<String> labels = new LinkedHashSet<>();
        for (int i = 0; i < al.size(); i++) {
            AttackSpec a = AttackSpec.read(r.element("attacks", i, al.get(i)));
            if (!labels.add(a.label())) throw new IllegalArgumentException(source + ": " + r.path("attacks", i)
                    + ": a second '" + a.label() + "' column; give it a different budget or remove it");
            attacks.add(a);
        }
        if (attacks.isEmpty()) throw r.error("attacks", "needs at least one attack; valid attacks: "
                + String.join(", ", Attacks.names()));

        ConfigReader tr = r.child("transfer");
        tr.allowOnly(Set.of("enabled", "attack", "eps", "samples", "setting"));
        AttackSpec transferAttack = tr.has("attack") ? AttackSpec.read(tr.element("attack", 0, tr.raw("attack")))
                : attacks.stream().filter(a -> a.name().equals("pgd") || a.name().equals("pgd-ce")).findFirst()
                        .orElse(attacks.get(0));
        org.advmia.attack.KnowledgeSetting transferSetting;
        try {
            transferSetting = org.advmia.attack.KnowledgeSetting.parse(tr.string("setting", "semi-white-box"), tr.where("setting"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (!transferSetting.usesSurrogate()) {
            throw tr.error("setting", "the transfer matrix crafts on one model and scores another: semi-white-box or no-box,"
                    + " not " + transferSetting.key());
        }
        if (transferAttack.setting() != org.advmia.attack.KnowledgeSetting.WHITE_BOX) {
            throw tr.error("attack", "the transfer block's setting goes in transfer.setting, not in its attack");
        }
        Transfer transfer = new Transfer(tr.bool("enabled", true), transferAttack, tr.eps("eps", eps.get(eps.size() - 1)),
                tr.integer("samples", 0, 0), transferSetting);

        ConfigReader p = r.child("pictures");
        p.allowOnly(Set.of("rows", "attack", "eps"));
        AttackSpec pictureAttack = p.has("attack") ? AttackSpec.read(p.element("attack", 0, p.raw("attack"))) : transferAttack;
        Pictures pictures = new Pictures(p.integer("rows", 6, 0), pictureAttack, p.eps("eps", eps.get(eps.size() - 1)));

        List<PreprocessingEntry> preprocessing = new ArrayList<>();
        List<Object> pl = r.list("preprocessing");
        Set<String> seenPre = new LinkedHashSet<>();
        for (int i = 0; i < pl.size(); i++) {
            Object item = pl.get(i);
            ConfigReader e = r.element("preprocessing", i, item instanceof Map<?, ?> ? item : Map.of("spec", String.valueOf(item)));
            // "wraps", not "on": YAML 1.1 reads a bare on as the boolean true.
            e.allowOnly(Set.of("spec", "wraps"));
            String spec = e.string("spec", null).toLowerCase().replace(" ", "");
            try {
                for (String part : spec.split(",")) Preprocessors.parse(part, "spec");
            } catch (IllegalArgumentException ex) {
                throw e.error("spec", ex.getMessage());
            }
            String on = e.string("wraps", "nat").toLowerCase();
            if (!seenDefenses.contains(on)) {
                throw e.error("wraps", "preprocessing wraps a model trained in this run, but defense '" + on
                        + "' is not in defenses " + seenDefenses);
            }
            PreprocessingEntry pe = new PreprocessingEntry(spec, on);
            if (!seenPre.add(pe.label())) throw e.error("spec", "'" + pe.label() + "' is listed twice");
            preprocessing.add(pe);
        }

        return new BenchmarkConfig(name, seed, datasets, models, defenses, eps, attacks, training, transfer, pictures,
                preprocessing, source, readDetection(r, source, eps, attacks));
    }

    private static Detection readDetection(ConfigReader r, String source, List<Double> eps, List<AttackSpec> attacks) {
        if (!r.has("detection")) return Detection.NONE;
        ConfigReader d = r.child("detection");
        d.allowOnly(Set.of("detectors", "attacks", "eps", "fit_samples", "test_samples", "adaptive_steps", "lambda"));
        List<String> detectors = new ArrayList<>();
        for (Object o : d.list("detectors")) {
            String n = String.valueOf(o).toLowerCase();
            try {
                Detectors.requireKnown(n);
            } catch (IllegalArgumentException e) {
                throw d.error("detectors", e.getMessage());
            }
            if (detectors.contains(n)) throw d.error("detectors", "detector '" + n + "' is listed twice");
            detectors.add(n);
        }
        if (detectors.isEmpty()) throw d.error("detectors", "needs at least one detector; valid detectors: "
                + String.join(", ", Detectors.NAMES));
        List<AttackSpec> detAttacks = new ArrayList<>();
        List<Object> al = d.list("attacks");
        for (int i = 0; i < al.size(); i++) {
            Object item = al.get(i);
            String n = item instanceof Map<?, ?> m ? String.valueOf(m.get("name")) : String.valueOf(item);
            if (Detectors.isAdaptiveAttack(n)) {
                throw new IllegalArgumentException(source + ": detection.attacks[" + i + "]: " + n + " needs a fitted"
                        + " detector; every detection cell runs it already (set adaptive_steps and lambda instead)");
            }
            detAttacks.add(AttackSpec.read(d.element("attacks", i, item)));
        }
        if (detAttacks.isEmpty()) {
            detAttacks.add(attacks.stream().filter(a -> a.name().equals("pgd")).findFirst()
                    .orElse(new AttackSpec("pgd", null, null, null, null, null, null, KnowledgeSetting.WHITE_BOX, null, null)));
        }
        List<Double> detEps = new ArrayList<>();
        List<Object> el = d.list("eps");
        for (int i = 0; i < el.size(); i++) {
            double e = ConfigReader.parseEps(el.get(i), source + ": " + d.path("eps", i));
            if (e <= 0) throw new IllegalArgumentException(source + ": " + d.path("eps", i) + ": eps must be > 0");
            detEps.add(e);
        }
        if (detEps.isEmpty()) detEps.addAll(eps);
        return new Detection(detectors, detAttacks, detEps, d.integer("fit_samples", 500, 2), d.integer("test_samples", 0, 0),
                d.integer("adaptive_steps", 0, 0), d.number("lambda", 1.0, 0));
    }

    /** The canonical JSON of this config (stored with each run in the results database). */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("seed", seed);
        List<Object> ds = new ArrayList<>();
        for (DatasetEntry d : datasets) ds.add(Map.of("name", d.name(), "spec", d.spec(), "eval_samples", d.evalSamples(), "split", d.split()));
        m.put("datasets", ds);
        m.put("models", new ArrayList<Object>(models));
        List<Object> fs = new ArrayList<>();
        for (DefenseEntry d : defenses) fs.add(defenseIdentity(d));
        m.put("defenses", fs);
        m.put("eps", new ArrayList<Object>(eps));
        List<Object> as = new ArrayList<>();
        for (AttackSpec a : attacks) as.add(a.identity());
        m.put("attacks", as);
        m.put("training", trainingIdentity());
        Map<String, Object> tm = new LinkedHashMap<>(Map.of("enabled", transfer.enabled(), "attack",
                transfer.attack().identity(), "eps", transfer.eps(), "samples", transfer.samples()));
        if (transfer.setting() != org.advmia.attack.KnowledgeSetting.SEMI_WHITE_BOX) tm.put("setting", transfer.setting().key());
        m.put("transfer", tm);
        m.put("pictures", Map.of("rows", pictures.rows(), "attack", pictures.attack().identity(), "eps", pictures.eps()));
        // Only when present, so configs without them keep their canonical JSON.
        if (!preprocessing.isEmpty()) {
            List<Object> ps = new ArrayList<>();
            for (PreprocessingEntry pe : preprocessing) ps.add(Map.of("spec", pe.spec(), "wraps", pe.on()));
            m.put("preprocessing", ps);
        }
        if (detection.enabled()) m.put("detection", detection.identity());
        return Json.write(m);
    }

    Map<String, Object> trainingIdentity() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("epochs", training.epochs());
        m.put("batch", training.batch());
        m.put("lr", training.lr());
        m.put("optimizer", training.optimizer());
        m.put("weight_decay", training.weightDecay());
        m.put("inner_steps", training.innerSteps());
        m.put("val_limit", training.valLimit());
        m.put("balanced", training.balanced());
        return m;
    }

    static Map<String, Object> defenseIdentity(DefenseEntry d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", d.name());
        m.put("eps", d.name().equals("nat") ? 0.0 : d.trainEps());
        if (d.innerSteps() != null) m.put("inner_steps", d.innerSteps());
        if (d.beta() != null) m.put("beta", d.beta());
        return m;
    }
}
