package org.advmia.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.advmia.attack.Attacks;
import org.advmia.attack.ThreatModel;
import org.advmia.benchmark.TrainingProgress;
import org.advmia.data.DataSpec;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.defense.Defense;
import org.advmia.defense.DefenseConfig;
import org.advmia.defense.Defenses;
import org.advmia.defense.Trainer;
import org.advmia.defense.detect.Detectors;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;
import org.advmia.nn.SafeTensors;
import org.advmia.util.Json;

/** `advmia train`: trains a model with a defense and writes PyTorch-loadable safetensors weights. */
final class TrainCommand implements Main.Command {
    static final String USAGE = """
            usage: ./advmia train --data SPEC --model NAME --defense NAME --eps 8/255 --epochs N --out FILE.safetensors
                                  [--batch B] [--lr L] [--beta B] [--seed S] [--resume] [--steps K] [--step-size A]
                                  [--optimizer sgd|adam] [--weight-decay W] [--val-limit N] [--helper FILE.safetensors]
                                  [--awp-on pgd-at|trades] [--balanced true|false] [--stop-after K] [--quiet]
                                  [--teacher FILE.safetensors] [--temperature T] [--pairing-weight L]
                                  [--detector lid|mahalanobis|kd-bu [--detector-out FILE] [--fit-samples N] [--lambda L]]
                                  [--json]

            Defenses: nat, pgd-at, trades, mart, hat, fast-at, free-at, awp, distillation, feature-pairing.
            Survey defaults: L-inf PGD-10
            inner attack with step 0.5, 0.5, 1, 2 /255 at eps 1, 2, 4, 8 /255 (eps/4 otherwise), beta 6,
            SGD momentum 0.9 with a one-cycle schedule (Adam for segmentation), class-balanced sampling.
            The checkpoint is selected on the VALIDATION split (PGD-20 robust accuracy, or clean accuracy
            for nat) and written atomically to --out; FILE.ckpt holds the full training state for --resume.
            hat needs a naturally trained helper (--helper); without one it first trains a nat helper.
            --stop-after K returns after K epochs (the schedule still spans --epochs); continue with --resume.
            distillation (Papernot et al. 2016) trains the student on the soft labels softmax(z_teacher / T) of
            a teacher trained at the same --temperature (default 100); without --teacher it first trains that
            teacher (FILE.teacher.safetensors). The student is saved for deployment at T = 1 (raw logits, not
            divided by T), which is where its softmax saturates; no --eps needed, selection on clean accuracy,
            Adam by default (the logits must grow about T-fold). feature-pairing is PGD-AT plus
            --pairing-weight (default 1) x the mean squared distance between the clean and adversarial
            feature maps of the model's last convolutional stage.
            --detector NAME, after training, fits that adversarial-example detector on the selected checkpoint
            (feature statistics of the first --fit-samples training inputs, default 500; logistic regression on
            those clean inputs against their PGD examples at --eps, which it therefore needs), saves it to
            --detector-out (default: FILE.detector-NAME.safetensors, FILE being --out without .safetensors)
            and reports its AUROC and TPR at 5% FPR on the validation split (--val-limit inputs) against PGD
            and against pgd-adaptive-detector (--lambda weights its detector term, default 1). Load it with
            `advmia attack --detector-file`. --json prints exactly one JSON object on stdout (training result
            keys, and "detector" and "detection" as in `advmia attack --json`).
            """;

    @Override
    public String summary() {
        return "train a model with a defense (" + String.join(", ", Defenses.NAMES) + ")";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        if (Args.wantsHelp(argv)) {
            out.print(USAGE);
            return Main.OK;
        }
        Args a = Args.parse("train", argv, Set.of("--data", "--model", "--defense", "--eps", "--epochs", "--out", "--batch",
                "--lr", "--beta", "--seed", "--steps", "--step-size", "--optimizer", "--weight-decay", "--val-limit",
                "--helper", "--awp-on", "--stop-after", "--teacher", "--temperature", "--pairing-weight", "--detector",
                "--detector-out", "--fit-samples", "--lambda"), Set.of("--resume", "--quiet", "--balanced", "--json"));
        String defenseName = a.require("--defense").toLowerCase();
        if (!Defenses.NAMES.contains(defenseName)) {
            throw new IllegalArgumentException("unknown defense '" + defenseName + "'. Valid defenses: "
                    + String.join(", ", Defenses.NAMES));
        }
        double eps = a.has("--eps") ? ThreatModel.parseEps(a.require("--eps"), "--eps") : 0;
        boolean distillation = defenseName.equals("distillation");
        if (!defenseName.equals("nat") && !distillation && !a.has("--eps")) throw new IllegalArgumentException(defenseName + " needs --eps");
        int epochs = a.intOrNull("--epochs", 1) == null ? fail("train needs --epochs") : a.intOrNull("--epochs", 1);
        Path outFile = Path.of(a.require("--out"));
        Dataset data = DataSpec.open(a.require("--data"));
        DatasetInfo info = data.info();
        long seed = a.longOrNull("--seed") == null ? 0 : a.longOrNull("--seed");
        String modelName = a.require("--model");
        boolean segmentation = info.task() == Task.SEGMENTATION;
        String optimizer = a.get("--optimizer", segmentation || distillation ? "adam" : "sgd");
        double lr = a.doubleOrNull("--lr") != null ? a.doubleOrNull("--lr") : optimizer.equals("adam") ? 1e-3 : 0.05;
        DefenseConfig base = DefenseConfig.survey(eps).withSeed(seed);
        DefenseConfig cfg = new DefenseConfig(eps, a.intValue("--steps", base.steps(), 0),
                a.doubleOrNull("--step-size") != null ? a.doubleOrNull("--step-size") : base.stepSize(),
                a.doubleOrNull("--beta") != null ? a.doubleOrNull("--beta") : base.beta(), base.helperScale(),
                base.helperWeight(), base.replays(), base.awpGamma(), seed);
        Trainer.Config tc = new Trainer.Config(epochs, a.intValue("--batch", 128, 1), lr, optimizer, 0.9,
                a.doubleOrNull("--weight-decay") != null ? a.doubleOrNull("--weight-decay") : 5e-4,
                !"false".equals(a.get("--balanced", "true")), seed, a.intValue("--val-limit", 1000, 0),
                !defenseName.equals("nat") && !distillation);
        Defenses.Extra extra = new Defenses.Extra(
                a.doubleOrNull("--temperature") != null ? a.doubleOrNull("--temperature") : Defenses.Extra.defaults().temperature(),
                a.doubleOrNull("--pairing-weight") != null ? a.doubleOrNull("--pairing-weight")
                        : Defenses.Extra.defaults().pairingWeight());
        if (a.has("--teacher") && !distillation) throw new IllegalArgumentException("--teacher applies to --defense distillation only");
        boolean quiet = a.flag("--quiet");
        String detectorName = a.has("--detector") ? a.require("--detector").toLowerCase() : null;
        if (detectorName == null) {
            for (String f : new String[] {"--detector-out", "--fit-samples", "--lambda"}) {
                if (a.has(f)) throw new IllegalArgumentException(f + " applies to --detector NAME only");
            }
        } else {
            Detectors.requireKnown(detectorName);
            if (!a.has("--eps") || !(eps > 0)) {
                throw new IllegalArgumentException("--detector " + detectorName + " needs --eps > 0: the PGD budget of the"
                        + " adversarial inputs it is fitted and measured on");
            }
        }
        Path detectorOut = detectorName == null ? null : a.has("--detector-out") ? Path.of(a.require("--detector-out"))
                : defaultDetectorFile(outFile, detectorName);
        int fitSamples = a.intValue("--fit-samples", 500, 2);
        Double lambda = a.doubleOrNull("--lambda");
        Model helper = null;
        try (Model model = Models.forData(modelName, info, seed)) {
            if (detectorName != null) Detectors.requireSupported(model, "--detector " + detectorName);
            if (defenseName.equals("hat")) helper = hatHelper(a, modelName, data, info, tc, outFile, quiet, err);
            if (distillation) helper = teacher(a, modelName, data, info, tc, outFile, quiet, err, extra.temperature());
            Defense defense = Defenses.create(defenseName, cfg, helper, "trades".equals(a.get("--awp-on", "pgd-at")), extra);
            Map<String, String> md = new LinkedHashMap<>();
            md.put("model", modelName);
            md.put("defense", defenseName);
            md.put("eps", Double.toString(eps));
            md.put("data", info.name());
            md.put("seed", Long.toString(seed));
            if (distillation) {
                md.put("temperature", Double.toString(extra.temperature()));
                md.put("deployed_temperature", "1");
            }
            if (defenseName.equals("feature-pairing")) md.put("pairing_weight", Double.toString(extra.pairingWeight()));
            TrainingProgress listener = new TrainingProgress(err, defenseName, epochs, quiet);
            Trainer.Result r = Trainer.train(model, defense, data, tc, outFile, a.flag("--resume"), md, listener,
                    a.intValue("--stop-after", epochs, 1));
            DetectorRun det = null;
            try {
                if (detectorName != null) {
                    // The selected checkpoint, not the last epoch's weights, is what gets deployed and attacked.
                    SafeTensors.load(model, outFile);
                    det = DetectorRun.fit(detectorName, "pgd", model, data, Split.VAL, eps,
                            new Attacks.Overrides(null, null, null, null, seed, null, null, null), fitSamples, tc.valLimit(),
                            lambda, seed, err);
                    det.save(detectorOut, eps);
                }
                if (a.flag("--json")) {
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("model", modelName);
                    json.put("defense", defenseName);
                    json.put("data", info.name());
                    json.put("eps", eps);
                    json.put("seed", seed);
                    json.put("epochs", r.epochs());
                    json.put("resumed", r.resumed());
                    json.put("metric", r.metric());
                    json.put("best_metric", r.bestMetric());
                    json.put("best_epoch", r.bestEpoch() + 1);
                    json.put("seconds_per_epoch", r.secondsPerEpoch());
                    json.put("weights", outFile.toString());
                    json.put("checkpoint", Trainer.checkpointFile(outFile).toString());
                    if (det != null) det.addTo(json);
                    out.println(Json.write(json));
                } else {
                    out.printf("trained %s with %s to epoch %d%s: best %s on val %.4f at epoch %d; %.1f s per epoch%n",
                            modelName, defenseName, r.epochs(), r.resumed() ? " (resumed)" : "", r.metric(), r.bestMetric(),
                            r.bestEpoch() + 1, r.secondsPerEpoch());
                    out.println("weights: " + outFile + " (PyTorch state_dict names); checkpoint: "
                            + Trainer.checkpointFile(outFile));
                    if (det != null) {
                        out.println("detector: " + detectorOut + " (measured on the " + Split.VAL.key() + " split)");
                        det.print(out);
                    }
                }
            } finally {
                if (det != null) det.close();
            }
        } finally {
            if (helper != null) helper.close();
        }
        return Main.OK;
    }

    /** FILE.safetensors -> FILE.detector-NAME.safetensors, next to the weights. */
    static Path defaultDetectorFile(Path weights, String detector) {
        String base = weights.getFileName().toString();
        if (base.endsWith(".safetensors")) base = base.substring(0, base.length() - ".safetensors".length());
        return weights.resolveSibling(base + ".detector-" + detector + ".safetensors");
    }

    private static int fail(String msg) {
        throw new IllegalArgumentException(msg);
    }

    /**
     * Distillation's teacher: --teacher FILE (its "temperature" metadata, when present, must match),
     * or one trained here at T on the same data and schedule.
     */
    private static Model teacher(Args a, String modelName, Dataset data, DatasetInfo info, Trainer.Config tc,
                                 Path outFile, boolean quiet, PrintStream err, double temperature) throws Exception {
        Model teacher = Models.forData(modelName, info, tc.seed() + 1);
        if (a.has("--teacher")) {
            Path file = Path.of(a.require("--teacher"));
            Map<String, String> md = SafeTensors.load(teacher, file);
            String t = md.get("temperature");
            if (t != null && Math.abs(Double.parseDouble(t) - temperature) > 1e-9 * temperature) {
                teacher.close();
                throw new IllegalArgumentException("--teacher " + file + " was trained at temperature " + t
                        + ", not --temperature " + temperature);
            }
            if (t == null) err.println("distillation: --teacher " + file + " records no temperature; assuming it was"
                    + " trained at T = " + temperature);
            return teacher;
        }
        err.println("distillation: no --teacher given; training a teacher at T = " + temperature + " first");
        Path teacherOut = outFile.resolveSibling(outFile.getFileName() + ".teacher.safetensors");
        Trainer.Config teacherCfg = new Trainer.Config(tc.epochs(), tc.batchSize(), tc.lr(), tc.optimizer(), tc.momentum(),
                tc.weightDecay(), tc.balanced(), tc.seed() + 1, tc.valLimit(), false);
        Map<String, String> md = new LinkedHashMap<>();
        md.put("role", "distillation teacher");
        md.put("model", modelName);
        md.put("temperature", Double.toString(temperature));
        Trainer.train(teacher, org.advmia.defense.DefensiveDistillation.teacherObjective(DefenseConfig.survey(0)
                .withSeed(tc.seed() + 1), temperature), data, teacherCfg, teacherOut, false, md,
                new TrainingProgress(err, "distillation teacher", tc.epochs(), quiet));
        SafeTensors.load(teacher, teacherOut);
        return teacher;
    }

    private static Model hatHelper(Args a, String modelName, Dataset data, DatasetInfo info, Trainer.Config tc,
                                   Path outFile, boolean quiet, PrintStream err) throws Exception {
        Model helper = Models.forData(modelName, info, tc.seed() + 1);
        if (a.has("--helper")) {
            SafeTensors.load(helper, Path.of(a.require("--helper")));
            return helper;
        }
        err.println("hat: no --helper given; training a nat helper first");
        Path helperOut = outFile.resolveSibling(outFile.getFileName() + ".helper.safetensors");
        Trainer.Config natCfg = new Trainer.Config(tc.epochs(), tc.batchSize(), tc.lr(), tc.optimizer(), tc.momentum(),
                tc.weightDecay(), tc.balanced(), tc.seed() + 1, tc.valLimit(), false);
        Trainer.train(helper, Defenses.create("nat", DefenseConfig.survey(0), null, false), data, natCfg, helperOut,
                false, Map.of("role", "hat helper"), new TrainingProgress(err, "nat helper", tc.epochs(), quiet));
        SafeTensors.load(helper, helperOut);
        return helper;
    }
}
