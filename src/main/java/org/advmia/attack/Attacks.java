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
    private static final Set<String> SCORE_BASED = Set.of("square", "simba");

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
        FACTORIES.put("apgd-ce", (m, eps, o) -> apgd(m, eps, o, AttackLoss.CE, 0, "apgd-ce"));
        FACTORIES.put("apgd-dlr", (m, eps, o) -> apgd(m, eps, o, AttackLoss.DLR, 0, "apgd-dlr"));
        FACTORIES.put("apgd-t", (m, eps, o) -> apgd(m, eps, o, AttackLoss.DLR, 9, "apgd-t"));
        // Score-based: steps is the query budget (square) or the number of DCT directions (simba).
        FACTORIES.put("square", (m, eps, o) -> new SquareAttack(m, ThreatModel.linf(eps),
                apply(base(5000, 0, false), o), 0.8));
        FACTORIES.put("simba", (m, eps, o) -> new SimpleBlackBoxAttack(m, ThreatModel.linf(eps),
                apply(base(1000, 0, false), o), 0, o.stepSize() == null));
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

    public static Iterable<String> names() {
        return FACTORIES.keySet();
    }

    public static Attack create(String name, Model model, double eps, Overrides overrides) {
        Factory f = FACTORIES.get(name.toLowerCase());
        if (f == null) {
            throw new IllegalArgumentException("unknown attack '" + name + "'. Valid attacks: "
                    + String.join(", ", FACTORIES.keySet()));
        }
        return f.create(model, eps, overrides == null ? Overrides.none() : overrides);
    }

    /** Whether an attack is score-based: it only queries the model's outputs and never takes a gradient. */
    public static boolean isScoreBased(String name) {
        return SCORE_BASED.contains(name.toLowerCase());
    }

    /** The norm an attack name works in. */
    public static Norm normOf(String name) {
        return name.toLowerCase().endsWith("-l2") ? Norm.L2 : Norm.LINF;
    }
}
