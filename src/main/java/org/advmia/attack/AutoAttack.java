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
    private final double eps;
    private final Attacks.Overrides stageOverrides;
    private final List<String> warnings = new ArrayList<>();
    private final List<double[]> afterStage = new ArrayList<>();

    public AutoAttack(Model model, ThreatModel threat, AttackOptions options, List<String> stages,
                      Attacks.Overrides stageOverrides) {
        super(model, threat, options);
        this.stages = List.copyOf(stages);
        this.eps = threat.eps();
        this.stageOverrides = stageOverrides;
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
                    Attack a = Attacks.create(stage, model, eps, stageOverrides);
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
