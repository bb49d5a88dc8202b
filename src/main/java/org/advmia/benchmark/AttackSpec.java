package org.advmia.benchmark;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.advmia.attack.Attack;
import org.advmia.attack.AttackLoss;
import org.advmia.attack.Attacks;
import org.advmia.attack.AutoAttack;
import org.advmia.attack.KnowledgeSetting;
import org.advmia.nn.Model;

/**
 * One attack column of the benchmark, with its budget as data. Parameters override the
 * registry's defaults (see {@link Attacks}): steps, step_size (an ε-like value, "0.5/255"),
 * restarts, random_start, loss; score-based attacks take queries; AutoAttack takes apgd_steps,
 * targets, fab_steps and square_queries (the standard budget when none is given). setting is the
 * attacker's knowledge ({@link KnowledgeSetting}; white-box by default), surrogate_model the
 * architecture of the surrogate that semi-white-box and no-box columns craft on (default: the
 * target's), fit_samples the train images a universal perturbation is fitted on.
 */
public record AttackSpec(String name, Integer steps, Double stepSize, Integer restarts, Boolean randomStart,
                         AttackLoss loss, AutoAttack.Budget autoAttackBudget, KnowledgeSetting setting,
                         String surrogateModel, Integer fitSamples) {
    static final Set<String> KEYS = Set.of("name", "steps", "step_size", "restarts", "random_start", "loss", "queries",
            "apgd_steps", "targets", "fab_steps", "square_queries", "setting", "surrogate_model", "fit_samples");
    /** Images a universal perturbation is fitted on when the config does not say (train split, dataset order). */
    public static final int DEFAULT_FIT_SAMPLES = 2000;

    static AttackSpec read(ConfigReader r) {
        r.allowOnly(KEYS);
        String name = r.string("name", null).toLowerCase();
        try {
            Attacks.requireKnown(name);
        } catch (IllegalArgumentException e) {
            throw r.error("name", e.getMessage());
        }
        boolean scoreBased = Attacks.isScoreBased(name), auto = name.equals("autoattack");
        if (r.has("queries") && !scoreBased) throw r.error("queries", name + " is not score-based; use steps");
        if (r.has("steps") && r.has("queries")) throw r.error("queries", "give steps or queries, not both");
        for (String k : new String[] {"apgd_steps", "targets", "fab_steps", "square_queries"}) {
            if (r.has(k) && !auto) throw r.error(k, "only autoattack takes " + k);
        }
        if (auto && (r.has("steps") || r.has("step_size") || r.has("loss"))) {
            throw r.error("steps", "autoattack's budget is apgd_steps, targets, fab_steps and square_queries");
        }
        Integer steps = r.has("steps") ? Integer.valueOf(r.integer("steps", 0, 1))
                : r.has("queries") ? Integer.valueOf(r.integer("queries", 0, 1)) : null;
        Double stepSize = r.has("step_size") ? r.eps("step_size", 0) : null;
        Integer restarts = r.has("restarts") ? r.integer("restarts", 1, 1) : null;
        Boolean randomStart = r.has("random_start") ? r.bool("random_start", true) : null;
        AttackLoss loss;
        try {
            loss = r.has("loss") ? AttackLoss.parse(r.string("loss", null)) : null;
        } catch (IllegalArgumentException e) {
            throw r.error("loss", e.getMessage());
        }
        AutoAttack.Budget budget = null;
        if (auto) {
            AutoAttack.Budget std = AutoAttack.Budget.standard();
            budget = new AutoAttack.Budget(r.integer("apgd_steps", std.apgdSteps(), 1), r.integer("targets",
                    std.targetClasses(), 1), r.integer("fab_steps", std.fabSteps(), 1),
                    r.integer("square_queries", std.squareQueries(), 1));
        }
        KnowledgeSetting setting;
        try {
            setting = KnowledgeSetting.parse(r.string("setting", "white-box"), r.where("setting"));
            setting.check(name, setting.usesSurrogate(), "surrogate");
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith(r.where("setting")) ? e : r.error("setting", e.getMessage());
        }
        String surrogateModel = null;
        if (r.has("surrogate_model")) {
            if (!setting.usesSurrogate()) throw r.error("surrogate_model", "only the semi-white-box and no-box settings"
                    + " train a surrogate, not " + setting.key());
            surrogateModel = r.string("surrogate_model", null).toLowerCase();
            try {
                org.advmia.nn.models.Models.requireKnown(surrogateModel);
            } catch (IllegalArgumentException e) {
                throw r.error("surrogate_model", e.getMessage());
            }
        }
        if (r.has("fit_samples") && !Attacks.isUniversal(name)) throw r.error("fit_samples", "only uap and uap-l2 are fitted");
        Integer fitSamples = r.has("fit_samples") ? r.integer("fit_samples", 0, 0) : null;
        return new AttackSpec(name, steps, stepSize, restarts, randomStart, loss, budget, setting, surrogateModel,
                fitSamples);
    }

    /** Images of the attacker's split a universal perturbation is fitted on (0 = all). */
    public int fitSampleCount() {
        return fitSamples != null ? fitSamples : DEFAULT_FIT_SAMPLES;
    }

    /** defaultLoss (null: the attack's own) applies when the config names no loss: BCE for multi-label data. */
    public Attack create(Model model, double eps, long seed, AttackLoss defaultLoss) {
        if (autoAttackBudget != null) return AutoAttack.withBudget(model, eps, autoAttackBudget, seed);
        return Attacks.create(name, model, eps, new Attacks.Overrides(steps, stepSize, randomStart, restarts, seed,
                null, null, loss != null ? loss : defaultLoss));
    }

    /** Attacks defined for multi-label outputs: the gradient attacks that ascend a configurable loss (BCE). */
    public static final java.util.List<String> MULTILABEL = java.util.List.of("fgsm", "bim", "pgd", "pgd-l2", "mifgsm");

    /** Throws, naming the valid attacks, when this attack does not apply to the task. */
    public void requireApplicable(org.advmia.data.Task task, String dataset) {
        java.util.List<String> valid = switch (task) {
            case SEGMENTATION -> Attacks.namesFor(Model.Task.SEGMENTATION);
            case MULTILABEL -> MULTILABEL;
            case CLASSIFICATION -> Attacks.namesFor(Model.Task.CLASSIFICATION);
        };
        if (!valid.contains(name)) {
            throw new IllegalArgumentException("attack '" + name + "' does not apply to " + dataset + " ("
                    + task.name().toLowerCase() + "). Valid attacks for it: " + String.join(", ", valid));
        }
    }

    /** What the report prints for this column's budget: the options the attack actually ran with. */
    public String budget(Attack attack) {
        if (autoAttackBudget != null) return "AutoAttack (" + autoAttackBudget.describe(attack.model().numClasses()) + ")";
        var o = attack.options();
        StringBuilder b = new StringBuilder(label());
        if (name.equals("fgsm")) return b.append(" (one step of eps)").toString();
        b.append(" (");
        if (Attacks.isUniversal(name)) {
            b.append("one perturbation: ").append(o.steps()).append(" passes over ").append(fitSampleCount() == 0 ? "all"
                    : "up to " + fitSampleCount()).append(" train images, step ").append(fmt255(o.stepSize())).append(", ")
                    .append(o.loss().name().toLowerCase()).append(" loss");
        } else if (Attacks.isScoreBased(name)) {
            b.append(o.steps()).append(" queries");
        } else {
            b.append(o.steps()).append(" steps");
            if (o.stepSize() > 0) b.append(", step ").append(fmt255(o.stepSize()));
            b.append(", ").append(o.loss().name().toLowerCase()).append(" loss");
            if (o.randomStart()) b.append(", random start");
        }
        if (o.restarts() > 1) b.append(", ").append(o.restarts()).append(" restarts");
        return b.append(")").toString();
    }

    /** Column label: "PGD-20", "AutoAttack", "Square-1000"; other settings than white-box say so: "PGD-20 [no-box]". */
    public String label() {
        String base = whiteBoxLabel();
        if (setting == null || setting == KnowledgeSetting.WHITE_BOX) return base;
        return base + " [" + setting.key() + (surrogateModel != null ? " via " + surrogateModel : "") + "]";
    }

    private String whiteBoxLabel() {
        if (autoAttackBudget != null) return "AutoAttack";
        if (name.equals("fgsm")) return "FGSM";
        String base = switch (name) {
            case "square" -> "Square";
            case "simba" -> "SimBA";
            case "segpgd" -> "SegPGD";
            case "mifgsm" -> "MI-FGSM";
            case "deepfool" -> "DeepFool";
            case "deepfool-l2" -> "DeepFool-L2";
            case "uap" -> "UAP";
            case "uap-l2" -> "UAP-L2";
            default -> name.toUpperCase();
        };
        return steps == null ? base : base + "-" + steps;
    }

    /** Canonical identity of this column (for cache keys): the name plus every explicit parameter, sorted. */
    public Map<String, Object> identity() {
        Map<String, Object> m = new TreeMap<>();
        m.put("name", name);
        if (steps != null) m.put("steps", steps);
        if (stepSize != null) m.put("step_size", stepSize);
        if (restarts != null) m.put("restarts", restarts);
        if (randomStart != null) m.put("random_start", randomStart);
        if (loss != null) m.put("loss", loss.name());
        if (autoAttackBudget != null) {
            Map<String, Object> b = new LinkedHashMap<>();
            b.put("apgd_steps", autoAttackBudget.apgdSteps());
            b.put("targets", autoAttackBudget.targetClasses());
            b.put("fab_steps", autoAttackBudget.fabSteps());
            b.put("square_queries", autoAttackBudget.squareQueries());
            m.put("budget", b);
        }
        // White-box columns keep the identity they always had, so cached cells stay valid.
        if (setting != null && setting != KnowledgeSetting.WHITE_BOX) m.put("setting", setting.key());
        if (surrogateModel != null) m.put("surrogate_model", surrogateModel);
        if (fitSamples != null) m.put("fit_samples", fitSamples);
        return m;
    }

    static String fmt255(double v) {
        double k = v * 255;
        if (Math.abs(k - Math.rint(k * 2) / 2) < 1e-9) {
            return (k == Math.rint(k) ? Long.toString(Math.round(k)) : Double.toString(Math.rint(k * 2) / 2)) + "/255";
        }
        return String.format("%.4g", v);
    }
}
