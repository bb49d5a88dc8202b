package org.advmia.attack;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.data.Batch;
import org.advmia.data.BatchLoader;
import org.advmia.data.Dataset;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Runs an attack (or none: clean evaluation) over a dataset split, batch by batch, and reports
 * the task's metrics. Classification: clean and robust accuracy, attack success rate, per-sample
 * success, macro precision/recall/F1 (clean and adversarial). Segmentation: pixel accuracy, Dice,
 * mIoU. Multi-label: mean AUC, and "accuracy" as exact-match of all label decisions. Always:
 * max L-inf and mean L2 of the perturbations, gradient evaluations, queries, seconds.
 */
public final class DatasetEvaluation {
    private DatasetEvaluation() {}

    /** The report; {@link #toMap} gives the JSON keys of `advmia attack --json`. */
    public record Report(Task task, int samples, double cleanAccuracy, double robustAccuracy, double attackSuccessRate,
                         boolean[] success, double maxLinf, double meanL2, long gradientEvaluations, long queries,
                         double seconds, Map<String, Double> taskMetrics, List<String> warnings) {
        public double imagesPerSecond() {
            return seconds > 0 ? samples / seconds : 0;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("task", task.name().toLowerCase());
            m.put("samples", samples);
            m.put("clean_accuracy", cleanAccuracy);
            m.put("robust_accuracy", robustAccuracy);
            m.put("attack_success_rate", attackSuccessRate);
            m.put("max_linf", maxLinf);
            m.put("mean_l2", meanL2);
            m.put("gradient_evaluations", gradientEvaluations);
            m.put("queries", queries);
            m.put("seconds", seconds);
            m.put("images_per_second", imagesPerSecond());
            m.putAll(taskMetrics);
            List<Object> s = new ArrayList<>();
            for (boolean b : success) s.add(b ? 1 : 0);
            m.put("per_sample_success", s);
            m.put("warnings", new ArrayList<Object>(warnings));
            return m;
        }
    }

    /**
     * attackFor builds the attack for the model (null: clean evaluation only). limit caps the
     * number of samples (0 = the whole split), taken in dataset order.
     */
    public static Report run(Model model, Dataset data, Split split, int limit, int batchSize,
                             Function<Model, Attack> attackFor) {
        return run(model, data, split, limit, batchSize, attackFor, null);
    }

    /**
     * As above; with targetClasses non-null the attack runs targeted, each batch's targets chosen
     * by it, and a sample counts as a success only when the clean prediction was right and the
     * adversarial one is its target (segmentation: at least half of the pixels whose target differs
     * from the label predict the target). attack_success_rate is then the targeted success rate;
     * untargeted_success_rate (any misclassification) is reported as well. Multi-label data has no
     * target classes and is refused.
     */
    public static Report run(Model model, Dataset data, Split split, int limit, int batchSize,
                             Function<Model, Attack> attackFor, TargetClasses targetClasses) {
        Task task = data.info().task();
        if (targetClasses != null) {
            if (task == Task.MULTILABEL) {
                throw new IllegalArgumentException(data.info().name()
                        + ": targeted attacks need class labels; multi-label data has none to target");
            }
            targetClasses.requireApplicable(data.info().classes(), task == Task.SEGMENTATION, "--targeted");
        }
        int classes = data.info().classes();
        int total = data.size(split);
        int n = limit > 0 ? Math.min(limit, total) : total;
        if (n == 0) throw new IllegalArgumentException(data.info().name() + ": the " + split.key() + " split is empty");
        Attack attack = attackFor == null ? null : attackFor.apply(model);
        BatchLoader loader = BatchLoader.builder(firstSamples(data, split, n), split).batchSize(batchSize).build();
        List<Boolean> success = new ArrayList<>();
        int correct = 0, robust = 0, fooled = 0, misclassified = 0, batchIndex = 0;
        long[][] cmClean = new long[classes][classes], cmAdv = new long[classes][classes];
        List<float[]> scoresClean = new ArrayList<>(), scoresAdv = new ArrayList<>(), targets = new ArrayList<>();
        double maxLinf = 0, sumL2 = 0, seconds = 0;
        long grads = 0, queries = 0;
        List<String> warnings = new ArrayList<>();
        boolean first = true;
        Backend b = Backends.defaultBackend();
        try (BatchLoader.Epoch epoch = loader.epoch(0)) {
            for (Batch batch : epoch) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = batch.images(), y = batch.labels();
                    if (first && attack != null && task == Task.CLASSIFICATION) {
                        warnings.addAll(SanityFlags.checkModel(model, x));
                        warnings.addAll(SanityFlags.checkZeroGradients(model, x, y));
                        warnings.addAll(SanityFlags.checkSaturatedSoftmax(model, x));
                    }
                    first = false;
                    Tensor adv = x;
                    float[] tv = null;
                    Tensor targetTensor = null;
                    if (attack != null && targetClasses != null) {
                        int pixels = (int) (y.numel() / batch.size());
                        float[] z = targetClasses.mode() == TargetClasses.Mode.LEAST_LIKELY ? logits(model, x) : null;
                        tv = targetClasses.choose(Backends.toFloatArray(y), z, classes, pixels, batchIndex);
                        targetTensor = b.empty(y.dtype(), y.shape());
                        b.copyFromHost(tv, targetTensor);
                    }
                    batchIndex++;
                    if (attack != null) {
                        AttackResult r = attack.run(x, y, targetTensor);
                        adv = b.duplicate(r.adversarial());
                        grads += r.gradientEvaluations();
                        queries += r.queries();
                        seconds += r.seconds();
                        r.close();
                    }
                    float[] xa = Backends.toFloatArray(x), xb = Backends.toFloatArray(adv);
                    int bs = batch.size(), d = xa.length / bs;
                    for (int i = 0; i < bs; i++) {
                        double sq = 0;
                        for (int k = i * d; k < (i + 1) * d; k++) {
                            double diff = (double) xb[k] - xa[k];
                            maxLinf = Math.max(maxLinf, Math.abs(diff));
                            sq += diff * diff;
                        }
                        sumL2 += Math.sqrt(sq);
                    }
                    float[] yv = Backends.toFloatArray(y);
                    switch (task) {
                        case CLASSIFICATION -> {
                            float[] pc = argmaxRows(model, x), pa = argmaxRows(model, adv);
                            for (int i = 0; i < bs; i++) {
                                int yi = (int) yv[i];
                                boolean cc = pc[i] == yi, ac = cc && pa[i] == yi;
                                boolean hit = tv == null ? cc && !ac : cc && tv[i] != yi && pa[i] == tv[i];
                                if (cc) correct++;
                                if (ac) robust++;
                                if (cc && !ac) misclassified++;
                                if (hit) fooled++;
                                success.add(hit);
                                cmClean[yi][(int) pc[i]]++;
                                cmAdv[yi][(int) pa[i]]++;
                            }
                        }
                        case SEGMENTATION -> {
                            float[] pc = pixelArgmax(model, x), pa = pixelArgmax(model, adv);
                            SegmentationMetrics.accumulate(cmClean, pc, yv);
                            SegmentationMetrics.accumulate(cmAdv, pa, yv);
                            int hw = yv.length / bs;
                            for (int i = 0; i < bs; i++) {
                                int keptClean = 0, keptAdv = 0, targetable = 0, onTarget = 0;
                                for (int p = i * hw; p < (i + 1) * hw; p++) {
                                    if (pc[p] == yv[p]) keptClean++;
                                    if (pa[p] == yv[p]) keptAdv++;
                                    if (tv != null && tv[p] != yv[p]) {
                                        targetable++;
                                        if (pa[p] == tv[p]) onTarget++;
                                    }
                                }
                                // A sample "survives" while at least half its pixels keep their class.
                                boolean cc = 2 * keptClean >= hw, ac = 2 * keptAdv >= hw;
                                boolean hit = tv == null ? cc && !ac : cc && targetable > 0 && 2 * onTarget >= targetable;
                                if (cc) correct++;
                                if (ac && cc) robust++;
                                if (cc && !ac) misclassified++;
                                if (hit) fooled++;
                                success.add(hit);
                            }
                        }
                        case MULTILABEL -> {
                            float[] zc = logits(model, x), za = logits(model, adv);
                            int l = classes;
                            for (int i = 0; i < bs; i++) {
                                boolean cc = true, ac = true;
                                for (int k = 0; k < l; k++) {
                                    boolean t = yv[i * l + k] > 0.5f;
                                    cc &= (zc[i * l + k] > 0) == t;
                                    ac &= (za[i * l + k] > 0) == t;
                                }
                                if (cc) correct++;
                                if (cc && ac) robust++;
                                if (cc && !ac) {
                                    fooled++;
                                    misclassified++;
                                }
                                success.add(cc && !ac);
                            }
                            scoresClean.add(zc);
                            scoresAdv.add(za);
                            targets.add(yv);
                        }
                    }
                }
            }
        }
        Map<String, Double> extra = new LinkedHashMap<>();
        if (task == Task.CLASSIFICATION) {
            putMacro(extra, "clean", cmClean);
            putMacro(extra, "adversarial", cmAdv);
        } else if (task == Task.SEGMENTATION) {
            SegmentationMetrics c = SegmentationMetrics.fromConfusion(cmClean), a = SegmentationMetrics.fromConfusion(cmAdv);
            extra.put("dice_clean", c.dice());
            extra.put("dice_adversarial", a.dice());
            extra.put("miou_clean", c.meanIou());
            extra.put("miou_adversarial", a.meanIou());
            extra.put("pixel_accuracy_clean", c.pixelAccuracy());
            extra.put("pixel_accuracy_adversarial", a.pixelAccuracy());
        } else {
            extra.put("mean_auc_clean", MultiLabelMetrics.of(concat(scoresClean), concat(targets), classes).meanAuc());
            extra.put("mean_auc_adversarial", MultiLabelMetrics.of(concat(scoresAdv), concat(targets), classes).meanAuc());
        }
        if (targetClasses != null) extra.put("untargeted_success_rate", correct == 0 ? 0 : (double) misclassified / correct);
        boolean[] succ = new boolean[success.size()];
        for (int i = 0; i < succ.length; i++) succ[i] = success.get(i);
        int samples = succ.length;
        return new Report(task, samples, (double) correct / samples, (double) robust / samples,
                correct == 0 ? 0 : (double) fooled / correct, succ, maxLinf, sumL2 / samples, grads, queries, seconds,
                extra, warnings);
    }

    /** A view of the first n samples of one split (dataset order), for --limit. */
    static Dataset firstSamples(Dataset data, Split split, int n) {
        if (n >= data.size(split)) return data;
        return new Dataset() {
            @Override
            public org.advmia.data.DatasetInfo info() {
                return data.info();
            }

            @Override
            public int size(Split s) {
                return s == split ? n : data.size(s);
            }

            @Override
            public org.advmia.data.Sample get(Split s, int index) {
                if (s == split) checkIndex(s, index);
                return data.get(s, index);
            }

            @Override
            public float[] label(Split s, int index) {
                if (s == split) checkIndex(s, index);
                return data.label(s, index);
            }
        };
    }

    /** Macro precision, recall and F1 over classes from a confusion matrix (rows: true class). */
    static void putMacro(Map<String, Double> out, String tag, long[][] cm) {
        int k = cm.length;
        double p = 0, r = 0, f = 0;
        for (int c = 0; c < k; c++) {
            long tp = cm[c][c], fn = 0, fp = 0;
            for (int j = 0; j < k; j++) {
                if (j != c) {
                    fn += cm[c][j];
                    fp += cm[j][c];
                }
            }
            double pc = tp + fp == 0 ? 0 : (double) tp / (tp + fp), rc = tp + fn == 0 ? 0 : (double) tp / (tp + fn);
            p += pc;
            r += rc;
            f += pc + rc == 0 ? 0 : 2 * pc * rc / (pc + rc);
        }
        out.put("macro_precision_" + tag, p / k);
        out.put("macro_recall_" + tag, r / k);
        out.put("macro_f1_" + tag, f / k);
    }

    private static float[] concat(List<float[]> parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    static float[] logits(Model model, Tensor x) {
        boolean training = model.isTraining();
        model.eval();
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            return Backends.toFloatArray(model.logits(Variable.constant(x)).value());
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (training) model.train();
        }
    }

    static float[] argmaxRows(Model model, Tensor x) {
        boolean training = model.isTraining();
        model.eval();
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor z = model.logits(Variable.constant(x)).value();
            Tensor am = Backends.of(z).empty(z.dtype(), Shape.of(z.dim(0)));
            Backends.of(z).argmax(z, am);
            return Backends.toFloatArray(am);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (training) model.train();
        }
    }

    static float[] pixelArgmax(Model model, Tensor x) {
        boolean training = model.isTraining();
        model.eval();
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Variable rows = Losses.pixelsAsRows(model.logits(Variable.constant(x)));
            Tensor am = Backends.of(rows.value()).empty(rows.dtype(), Shape.of(rows.shape().dim(0)));
            Backends.of(rows.value()).argmax(rows.value(), am);
            return Backends.toFloatArray(am);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (training) model.train();
        }
    }
}
