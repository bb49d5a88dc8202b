package org.advmia.defense;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.attack.Attacks;
import org.advmia.attack.DatasetEvaluation;
import org.advmia.data.Batch;
import org.advmia.data.BatchLoader;
import org.advmia.data.Dataset;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.optim.Adam;
import org.advmia.optim.Checkpoint;
import org.advmia.optim.LrSchedule;
import org.advmia.optim.OneCycle;
import org.advmia.optim.Optimizer;
import org.advmia.optim.Sgd;
import org.advmia.tensor.MemoryScope;

/**
 * Trains a model with a defense objective. Model selection uses the VALIDATION split only
 * (never test): robust accuracy under PGD-20 at the training eps for adversarial defenses, clean
 * accuracy for NAT (Dice for segmentation, mean AUC for multi-label). The best weights are
 * written atomically to the output file whenever they improve; a full training checkpoint
 * (model, optimizer, schedule position, dropout streams, best-so-far) is written atomically
 * after every epoch, so {@code resume} continues a killed run and reaches exactly the weights an
 * uninterrupted run would (data order, defense randomness and schedule are functions of the seed
 * and the step).
 */
public final class Trainer {
    private Trainer() {}

    /**
     * @param optimizer "sgd" (momentum, weight decay) or "adam"
     * @param balanced class-balanced sampling (the survey's weighted random sampler)
     * @param valLimit validation samples used for model selection (0 = all)
     * @param selectOnRobust select on robust (PGD-20) rather than clean validation metrics
     */
    public record Config(int epochs, int batchSize, double lr, String optimizer, double momentum, double weightDecay,
                         boolean balanced, long seed, int valLimit, boolean selectOnRobust) {
        public Config {
            if (epochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batchSize);
            if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
            if (!optimizer.equals("sgd") && !optimizer.equals("adam")) {
                throw new IllegalArgumentException("--optimizer must be sgd or adam, got " + optimizer);
            }
        }
    }

    /** Receives progress: per batch and per epoch. */
    public interface Listener {
        void batch(int epoch, int index, int batches, double loss, double lr);

        void epoch(int epoch, double valMetric, boolean improved, double seconds);
    }

    public record Result(int bestEpoch, double bestMetric, String metric, int epochs, double secondsPerEpoch,
                         boolean resumed) {}

    public static Path checkpointFile(Path out) {
        return out.resolveSibling(out.getFileName() + ".ckpt");
    }

    public static Result train(Model model, Defense defense, Dataset data, Config cfg, Path out, boolean resume,
                               Map<String, String> metadata, Listener listener) throws IOException {
        return train(model, defense, data, cfg, out, resume, metadata, listener, cfg.epochs());
    }

    /**
     * As above, but returns after at most {@code stopAfter} epochs (counted from epoch 1) while the
     * schedule still spans all epochs: train in slices and continue with {@code resume}.
     */
    public static Result train(Model model, Defense defense, Dataset data, Config cfg, Path out, boolean resume,
                               Map<String, String> metadata, Listener listener, int stopAfter) throws IOException {
        Task task = data.info().task();
        BatchLoader loader = BatchLoader.builder(data, Split.TRAIN).batchSize(cfg.batchSize()).shuffle(cfg.seed())
                .balanced(cfg.balanced() && task == Task.CLASSIFICATION).build();
        int batches = loader.batchesPerEpoch();
        if (batches == 0) throw new IllegalArgumentException(data.info().name() + ": the train split is empty");
        Optimizer opt = cfg.optimizer().equals("adam")
                ? new Adam(model.namedParameters(), cfg.lr(), 0.9, 0.999, 1e-8, cfg.weightDecay(), false)
                : new Sgd(model.namedParameters(), cfg.lr(), cfg.momentum(), 0, cfg.weightDecay(), false);
        LrSchedule schedule = new OneCycle(cfg.lr(), (long) cfg.epochs() * batches);
        Path ckpt = checkpointFile(out);
        int startEpoch = 0, bestEpoch = -1;
        double best = Double.NEGATIVE_INFINITY;
        boolean resumed = false;
        try (opt) {
            if (resume) {
                if (!Files.exists(ckpt)) {
                    throw new IllegalArgumentException("--resume: no checkpoint " + ckpt + " to resume from");
                }
                Checkpoint c = Checkpoint.restore(ckpt, model, opt);
                startEpoch = (int) c.epoch() + 1;
                best = Double.parseDouble(c.metadata().getOrDefault("best.metric", "-Infinity"));
                bestEpoch = Integer.parseInt(c.metadata().getOrDefault("best.epoch", "-1"));
                resumed = true;
            }
            double totalSeconds = 0;
            String metric = metricName(task, cfg.selectOnRobust());
            int lastEpoch = Math.min(cfg.epochs(), Math.max(1, stopAfter));
            for (int epoch = startEpoch; epoch < lastEpoch; epoch++) {
                long t0 = System.nanoTime();
                defense.beginEpoch(epoch);
                int index = 0;
                try (BatchLoader.Epoch ep = loader.epoch(epoch)) {
                    for (Batch b : ep) {
                        long step = (long) epoch * batches + index;
                        double lr = schedule.apply(opt, step);
                        defense.beginStep(step);
                        double loss;
                        try (MemoryScope s = MemoryScope.open()) {
                            loss = defense.step(model, opt, b.images(), b.labels(), epoch);
                        }
                        if (!Double.isFinite(loss)) {
                            throw new IllegalStateException("training diverged: loss " + loss + " at epoch " + (epoch + 1)
                                    + ", batch " + (index + 1) + " (lower --lr)");
                        }
                        index++;
                        if (listener != null) listener.batch(epoch, index, batches, loss, lr);
                    }
                }
                double val = validate(model, data, cfg, defense.config.eps(), task);
                boolean improved = val > best;
                if (improved) {
                    best = val;
                    bestEpoch = epoch;
                    Map<String, String> md = new LinkedHashMap<>(metadata);
                    md.put("epoch", Integer.toString(epoch + 1));
                    md.put("selection", metric + " on the validation split");
                    md.put("val." + metric, Double.toString(val));
                    SafeTensors.save(model, out, md);
                }
                Map<String, String> state = new LinkedHashMap<>(metadata);
                state.put("best.metric", Double.toString(best));
                state.put("best.epoch", Integer.toString(bestEpoch));
                new Checkpoint(epoch, (long) (epoch + 1) * batches, cfg.seed(), epoch + 1, state).save(ckpt, model, opt);
                double secs = (System.nanoTime() - t0) / 1e9;
                totalSeconds += secs;
                if (listener != null) listener.epoch(epoch, val, improved, secs);
            }
            int run = lastEpoch - startEpoch;
            return new Result(bestEpoch, best, metric, lastEpoch, run <= 0 ? 0 : totalSeconds / run, resumed);
        }
    }

    static String metricName(Task task, boolean robust) {
        String base = switch (task) {
            case CLASSIFICATION -> "accuracy";
            case SEGMENTATION -> "dice";
            case MULTILABEL -> "mean_auc";
        };
        return (robust ? "robust_" : "clean_") + base;
    }

    /** The selection metric on the validation split. */
    static double validate(Model model, Dataset data, Config cfg, double eps, Task task) {
        boolean robust = cfg.selectOnRobust() && eps > 0;
        String attack = task == Task.SEGMENTATION ? "pgd-ce" : "pgd";
        Attacks.Overrides pgd20 = new Attacks.Overrides(20, Attacks.surveyStepSize(eps), true, 1, cfg.seed(), null, null,
                task == Task.MULTILABEL ? org.advmia.attack.AttackLoss.BCE : null);
        DatasetEvaluation.Report r = DatasetEvaluation.run(model, data, Split.VAL, cfg.valLimit(),
                Math.max(1, Math.min(cfg.batchSize(), 200)), robust ? m -> Attacks.create(attack, m, eps, pgd20) : null);
        return switch (task) {
            case CLASSIFICATION -> robust ? r.robustAccuracy() : r.cleanAccuracy();
            case SEGMENTATION -> r.taskMetrics().get(robust ? "dice_adversarial" : "dice_clean");
            case MULTILABEL -> r.taskMetrics().get(robust ? "mean_auc_adversarial" : "mean_auc_clean");
        };
    }
}
