package org.advmia.attack;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.advmia.backend.Norm;
import org.advmia.nn.Model;

/**
 * The attack registry: command-line names, and each attack's published defaults. Explicit
 * settings (steps, step size, random start, ...) override the defaults; null means "default".
 */
public final class Attacks {
    private Attacks() {}

    /** Settings a user may override; null fields keep the attack's default. */
    public record Overrides(Integer steps, Double stepSize, Boolean randomStart, Integer restarts, Long seed,
                            Boolean targeted, Boolean earlyStop, AttackLoss loss) {
        public static Overrides none() {
            return new Overrides(null, null, null, null, null, null, null, null);
        }
    }

    interface Factory {
        Attack create(Model model, double eps, Overrides o);
    }

    private static final Map<String, Factory> FACTORIES = new LinkedHashMap<>();
    /** Attacks that only make sense on segmentation models. */
    private static final java.util.Set<String> SEGMENTATION = new java.util.LinkedHashSet<>();
    private static final Set<String> SCORE_BASED = Set.of("square", "square-l2", "simba");
    private static final Set<String> UNIVERSAL = Set.of("uap", "uap-l2");
    /**
     * Attacks that accept caller-chosen targets. The others are untargeted by construction
     * (DeepFool) or pick their own targets (APGD-T, FAB-T, AutoAttack, SegPGD's untargeted loss).
     */
    private static final Set<String> TARGETABLE = new java.util.LinkedHashSet<>(java.util.List.of("fgsm", "bim", "pgd",
            "pgd-l2", "mifgsm", "cw", "cw-l2", "apgd-ce", "apgd-dlr", "square", "square-l2", "simba", "pgd-ce",
            "pgd-dice", "dag", "asma"));

    static {
        FACTORIES.put("fgsm", (m, eps, o) -> new FastGradientSignMethod(m, ThreatModel.linf(eps),
                apply(base(0, 0, false), o)));
        FACTORIES.put("bim", (m, eps, o) -> new ProjectedGradientDescent(m, ThreatModel.linf(eps),
                apply(base(bimSteps(eps), 1 / 255.0, false), o)) {
            @Override
            public String name() {
                return "bim";
            }
        });
        FACTORIES.put("pgd", (m, eps, o) -> new ProjectedGradientDescent(m, ThreatModel.linf(eps),
                apply(base(10, surveyStepSize(eps), true), o)));
        FACTORIES.put("pgd-l2", (m, eps, o) -> new ProjectedGradientDescent(m, ThreatModel.l2(eps),
                apply(base(10, eps / 5, true), o)));
        FACTORIES.put("mifgsm", (m, eps, o) -> {
            AttackOptions opt = apply(base(10, 0, false), o);
            if (o.stepSize() == null) opt = opt.withStepSize(eps / Math.max(1, opt.steps()));
            return new MomentumIterativeFgsm(m, ThreatModel.linf(eps), opt, 1.0);
        });
        FACTORIES.put("cw", (m, eps, o) -> new ProjectedGradientDescent(m, ThreatModel.linf(eps),
                apply(base(30, eps <= 2 / 255.0 + 1e-12 ? 0.0015 : 0.003, true).withLoss(AttackLoss.CW).withKappa(50), o)) {
            @Override
            public String name() {
                return "cw";
            }
        });
        segmentation("pgd-ce", (m, eps, o) -> named(new ProjectedGradientDescent(m, ThreatModel.linf(eps),
                apply(base(10, surveyStepSize(eps), true).withLoss(AttackLoss.CE), o)), "pgd-ce"));
        segmentation("pgd-dice", (m, eps, o) -> named(new ProjectedGradientDescent(m, ThreatModel.linf(eps),
                apply(base(10, surveyStepSize(eps), true).withLoss(AttackLoss.DICE), o)), "pgd-dice"));
        segmentation("segpgd", (m, eps, o) -> new SegPgd(m, ThreatModel.linf(eps), apply(base(20, surveyStepSize(eps), true), o)));
        segmentation("dag", (m, eps, o) -> new DenseAdversaryGeneration(m, ThreatModel.linf(eps),
                apply(base(200, 0.5 / 255, false), o)));
        segmentation("asma", (m, eps, o) -> new AdaptiveMaskAttack(m, ThreatModel.linf(eps),
                apply(base(50, surveyStepSize(eps), false), o)));
        FACTORIES.put("apgd-ce", (m, eps, o) -> apgd(m, eps, o, AttackLoss.CE, 0, "apgd-ce"));
        FACTORIES.put("apgd-dlr", (m, eps, o) -> apgd(m, eps, o, AttackLoss.DLR, 0, "apgd-dlr"));
        FACTORIES.put("apgd-t", (m, eps, o) -> apgd(m, eps, o, AttackLoss.DLR, 9, "apgd-t"));
        // Minimum-norm attacks: what they find is projected onto the eps-ball (see MinimumNormAttack).
        // As everywhere here (normOf), an unsuffixed name is L-inf: "deepfool" is the paper's
        // L-inf variant (Sec. 3.3), "deepfool-l2" its main L2 algorithm.
        FACTORIES.put("deepfool", (m, eps, o) -> new DeepFool(m, ThreatModel.linf(eps), apply(base(50, 0, false), o),
                DeepFool.DEFAULT_CANDIDATES, DeepFool.DEFAULT_OVERSHOOT));
        FACTORIES.put("deepfool-l2", (m, eps, o) -> new DeepFool(m, ThreatModel.l2(eps), apply(base(50, 0, false), o),
                DeepFool.DEFAULT_CANDIDATES, DeepFool.DEFAULT_OVERSHOOT));
        FACTORIES.put("cw-l2", (m, eps, o) -> new CarliniWagnerL2(m, ThreatModel.l2(eps),
                apply(base(100, CarliniWagnerL2.DEFAULT_LR, false).withKappa(0), o), CarliniWagnerL2.DEFAULT_SEARCH_STEPS,
                CarliniWagnerL2.DEFAULT_INITIAL_CONST));
        FACTORIES.put("fab-t", (m, eps, o) -> new FastAdaptiveBoundary(m, ThreatModel.linf(eps),
                apply(base(100, 0, false), o), 9));
        // Score-based: steps is the query budget (square) or the number of DCT directions (simba).
        FACTORIES.put("square", (m, eps, o) -> new SquareAttack(m, ThreatModel.linf(eps),
                apply(base(5000, 0, false), o), 0.8));
        FACTORIES.put("square-l2", (m, eps, o) -> new SquareAttackL2(m, ThreatModel.l2(eps),
                apply(base(5000, 0, false), o), 0.8));
        FACTORIES.put("simba", (m, eps, o) -> new SimpleBlackBoxAttack(m, ThreatModel.linf(eps),
                apply(base(1000, 0, false), o), 0, o.stepSize() == null));
        // Universal: steps is the number of passes over the fitting set (see UniversalPerturbation).
        FACTORIES.put("uap", (m, eps, o) -> new UniversalPerturbation(m, ThreatModel.linf(eps),
                apply(base(10, eps / 10, false), o), UniversalPerturbation.DEFAULT_BATCH));
        FACTORIES.put("uap-l2", (m, eps, o) -> new UniversalPerturbation(m, ThreatModel.l2(eps),
                apply(base(10, eps / 10, false), o), UniversalPerturbation.DEFAULT_BATCH));
        FACTORIES.put("autoattack", (m, eps, o) -> new AutoAttack(m, ThreatModel.linf(eps), apply(base(0, 0, false), o),
                AutoAttack.standardStages(), o));
    }

    private static Attack apgd(Model m, double eps, Overrides o, AttackLoss loss, int targets, String name) {
        AttackOptions opt = apply(base(100, 0, true).withLoss(loss), o);
        return new AutoProjectedGradientDescent(m, ThreatModel.linf(eps), opt, targets, name);
    }

    /** The survey's PGD step sizes: 0.5, 0.5, 1 and 2 /255 at eps 1, 2, 4 and 8 /255; eps/4 elsewhere. */
    public static double surveyStepSize(double eps) {
        double[][] table = {{1, 0.5}, {2, 0.5}, {4, 1}, {8, 2}};
        for (double[] row : table) if (Math.abs(eps * 255 - row[0]) < 1e-6) return row[1] / 255;
        return eps / 4;
    }

    /** Kurakin et al.'s iteration count: min(eps*255 + 4, 1.25 eps*255). */
    static int bimSteps(double eps) {
        return (int) Math.max(1, Math.min(eps * 255 + 4, 1.25 * eps * 255));
    }

    private static AttackOptions base(int steps, double stepSize, boolean randomStart) {
        return AttackOptions.defaults().withSteps(steps).withStepSize(stepSize).withRandomStart(randomStart);
    }

    private static AttackOptions apply(AttackOptions a, Overrides o) {
        if (o.steps() != null) a = a.withSteps(o.steps());
        if (o.stepSize() != null) a = a.withStepSize(o.stepSize());
        if (o.randomStart() != null) a = a.withRandomStart(o.randomStart());
        if (o.restarts() != null) a = a.withRestarts(o.restarts());
        if (o.seed() != null) a = a.withSeed(o.seed());
        if (o.targeted() != null) a = a.withTargeted(o.targeted());
        if (o.earlyStop() != null) a = a.withEarlyStop(o.earlyStop());
        if (o.loss() != null) a = a.withLoss(o.loss());
        return a;
    }

    private static void segmentation(String name, Factory f) {
        FACTORIES.put(name, f);
        SEGMENTATION.add(name);
    }

    /** Gives a configured PGD its command-line name. */
    private static Attack named(ProjectedGradientDescent a, String name) {
        return new ProjectedGradientDescent(a.model, a.threat, a.options) {
            @Override
            public String name() {
                return name;
            }
        };
    }

    /** Throws the "unknown attack ... Valid attacks: ..." error for names that are not registered. */
    public static void requireKnown(String name) {
        if (!FACTORIES.containsKey(name.toLowerCase())) {
            throw new IllegalArgumentException("unknown attack '" + name + "'. Valid attacks: "
                    + String.join(", ", FACTORIES.keySet()));
        }
    }

    /** Every registered name. */
    public static Iterable<String> names() {
        return FACTORIES.keySet();
    }

    /** The attacks that apply to a task: segmentation attacks for segmentation models, the rest otherwise. */
    public static java.util.List<String> namesFor(Model.Task task) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (String n : FACTORIES.keySet()) {
            if (SEGMENTATION.contains(n) == (task == Model.Task.SEGMENTATION)) out.add(n);
        }
        return out;
    }

    public static Attack create(String name, Model model, double eps, Overrides overrides) {
        Factory f = FACTORIES.get(name.toLowerCase());
        if (f == null) {
            throw new IllegalArgumentException("unknown attack '" + name + "'. Valid attacks: "
                    + String.join(", ", FACTORIES.keySet()));
        }
        return f.create(model, eps, overrides == null ? Overrides.none() : overrides);
    }

    /** Whether an attack accepts caller-chosen target classes (a targeted run). */
    public static boolean acceptsTargets(String name) {
        return TARGETABLE.contains(name.toLowerCase());
    }

    /** Throws an error naming the attacks that do accept targets when this one does not. */
    public static void requireTargetable(String name, String flag) {
        requireKnown(name);
        if (!acceptsTargets(name)) {
            throw new IllegalArgumentException(flag + ": attack '" + name + "' does not take target classes (it is "
                    + "untargeted or picks its own targets). Targeted attacks: " + String.join(", ", TARGETABLE));
        }
    }

    /** Whether an attack is score-based: it only queries the model's outputs and never takes a gradient. */
    public static boolean isScoreBased(String name) {
        return SCORE_BASED.contains(name.toLowerCase());
    }

    /** Whether an attack crafts one image-agnostic perturbation (fit on a training split, applied to held-out images). */
    public static boolean isUniversal(String name) {
        return UNIVERSAL.contains(name.toLowerCase());
    }

    /** The norm an attack name works in. */
    public static Norm normOf(String name) {
        return name.toLowerCase().endsWith("-l2") ? Norm.L2 : Norm.LINF;
    }
}
