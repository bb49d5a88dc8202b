package org.advmia.attack;

import java.util.ArrayList;
import java.util.List;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * The standard AutoAttack ensemble (Croce and Hein, ICML 2020): APGD-CE, then APGD-T, FAB-T and
 * Square, each run only on the points that are still robust; a point counts as broken as soon as
 * any stage breaks it. Records robust accuracy after each stage and AutoAttack's sanity
 * warnings (including a black-box stage breaking points the white-box stages left robust).
 */
public final class AutoAttack extends Attack {
    /** The stages, in order; a custom cascade can list other registered attacks. */
    private final List<String> stages;
    private final java.util.function.Function<String, Attack> stageFactory;
    private final List<String> warnings = new ArrayList<>();
    private final List<double[]> afterStage = new ArrayList<>();

    public AutoAttack(Model model, ThreatModel threat, AttackOptions options, List<String> stages,
                      Attacks.Overrides stageOverrides) {
        this(model, threat, options, stages, stage -> Attacks.create(stage, model, threat.eps(), stageOverrides));
    }

    /** A cascade whose stages are built by stageFactory (stage name to an attack on this model). */
    public AutoAttack(Model model, ThreatModel threat, AttackOptions options, List<String> stages,
                      java.util.function.Function<String, Attack> stageFactory) {
        super(model, threat, options);
        this.stages = List.copyOf(stages);
        this.stageFactory = stageFactory;
    }

    /**
     * A reduced-budget standard cascade, for benchmarks that cannot afford the full one (APGD 100
     * steps, 9 target classes, Square 5000 queries). A report must name the budget it ran:
     * {@link Budget#describe(int)}.
     */
    public record Budget(int apgdSteps, int targetClasses, int fabSteps, int squareQueries) {
        public Budget {
            if (apgdSteps < 1 || fabSteps < 1 || squareQueries < 1 || targetClasses < 1) {
                throw new IllegalArgumentException("AutoAttack budget: steps, targets and queries must be >= 1, got "
                        + apgdSteps + ", " + targetClasses + ", " + fabSteps + ", " + squareQueries);
            }
        }

        public static Budget standard() {
            return new Budget(100, 9, 100, 5000);
        }

        /** As run on a model with this many classes: at most classes - 1 targets; DLR-T needs 4 classes. */
        public String describe(int classes) {
            int t = Math.min(targetClasses, classes - 1);
            return "APGD-CE " + apgdSteps + " steps, APGD-T " + t + (t == 1 ? " target" : " targets") + " x " + apgdSteps
                    + " steps" + (classes < 4 ? " (CW margin: DLR needs 4 classes)" : "") + ", FAB-T " + t
                    + (t == 1 ? " target" : " targets") + " x " + fabSteps + " steps, Square " + squareQueries + " queries";
        }
    }

    /** The standard cascade (APGD-CE, APGD-T, FAB-T, Square) at the given budget. */
    public static AutoAttack withBudget(Model model, double eps, Budget b, long seed) {
        ThreatModel threat = ThreatModel.linf(eps);
        AttackOptions base = AttackOptions.defaults().withSeed(seed);
        return new AutoAttack(model, threat, base, standardStages(), stage -> switch (stage) {
            case "apgd-ce" -> new AutoProjectedGradientDescent(model, threat,
                    base.withSteps(b.apgdSteps()).withStepSize(0).withLoss(AttackLoss.CE), 0, "apgd-ce");
            case "apgd-t" -> new AutoProjectedGradientDescent(model, threat,
                    base.withSteps(b.apgdSteps()).withStepSize(0).withLoss(AttackLoss.DLR),
                    Math.min(b.targetClasses(), model.numClasses() - 1), "apgd-t");
            case "fab-t" -> new FastAdaptiveBoundary(model, threat, base.withSteps(b.fabSteps()).withStepSize(0)
                    .withRandomStart(false), Math.min(b.targetClasses(), model.numClasses() - 1));
            case "square" -> new SquareAttack(model, threat, base.withSteps(b.squareQueries()).withStepSize(0)
                    .withRandomStart(false), 0.8);
            default -> throw new IllegalArgumentException("AutoAttack: unknown stage " + stage);
        });
    }

    public static List<String> standardStages() {
        return List.of("apgd-ce", "apgd-t", "fab-t", "square");
    }

    @Override
    public String name() {
        return "autoattack";
    }

    /** Warnings raised by the last run. */
    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    /** {stage index, robust accuracy after it} for the last run. */
    public List<double[]> robustAccuracyAfterStages() {
        return List.copyOf(afterStage);
    }

    public List<String> stages() {
        return stages;
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        warnings.clear();
        afterStage.clear();
        warnings.addAll(SanityFlags.checkModel(model, x0));
        warnings.addAll(SanityFlags.checkZeroGradients(model, x0, labels));
        int n = (int) x0.dim(0);
        long row = x0.numel() / Math.max(1, n);
        float[] pred = predictions(x0);
        float[] y = Backends.toFloatArray(labels);
        boolean[] robust = new boolean[n];
        for (int i = 0; i < n; i++) robust[i] = pred[i] == y[i];
        boolean whiteBoxDone = false;
        for (int s = 0; s < stages.size(); s++) {
            String stage = stages.get(s);
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < n; i++) if (robust[i]) idx.add(i);
            if (!idx.isEmpty()) {
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor xs = gatherRows(x0, idx), ys = gatherRows(labels, idx);
                    Attack a = stageFactory.apply(stage);
                    try (AttackResult r = a.run(xs, ys, null)) {
                        boolean[] broken = a.succeeded(r.adversarial(), ys, null);
                        int extra = 0;
                        for (int k = 0; k < idx.size(); k++) {
                            if (!broken[k]) continue;
                            int i = idx.get(k);
                            robust[i] = false;
                            backend.copyBlock(r.adversarial(), k * row, row, xAdv, i * row, row, 1, row);
                            extra++;
                        }
                        if (stage.equals("square") && whiteBoxDone) {
                            warnings.addAll(SanityFlags.checkBlackBoxBeatsWhiteBox(stage, extra, n));
                        }
                        countQueries(r.queries());
                        countGradientEvaluations(r.gradientEvaluations());
                    }
                }
            }
            if (!stage.equals("square")) whiteBoxDone = true;
            int left = 0;
            for (boolean b : robust) if (b) left++;
            afterStage.add(new double[] {s, (double) left / n});
        }
    }

    private Tensor gatherRows(Tensor t, List<Integer> idx) {
        long rowLen = t.numel() / Math.max(1, t.dim(0));
        long[] shape = t.shape().toArray();
        shape[0] = idx.size();
        Tensor out = backend.empty(t.dtype(), Shape.of(shape));
        for (int k = 0; k < idx.size(); k++) backend.copyBlock(t, idx.get(k) * rowLen, rowLen, out, k * rowLen, rowLen, 1, rowLen);
        return out;
    }
}
