package org.advmia.cli;

import java.io.PrintStream;
import org.advmia.util.Progress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.advmia.attack.Attack;
import org.advmia.attack.AttackLoss;
import org.advmia.attack.Attacks;
import org.advmia.attack.DatasetEvaluation;
import org.advmia.attack.TargetClasses;
import org.advmia.defense.preprocess.Preprocessors;
import org.advmia.attack.KnowledgeSetting;
import org.advmia.attack.ThreatModel;
import org.advmia.attack.UniversalPerturbation;
import org.advmia.data.DataSpec;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Split;
import org.advmia.data.Task;
import org.advmia.defense.detect.Detectors;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;
import org.advmia.nn.SafeTensors;
import org.advmia.util.Json;

/** `advmia attack`: evaluates a trained model under one attack on a dataset split. */
final class AttackCommand implements Main.Command {
    static final String USAGE = """
            usage: ./advmia attack --data SPEC --model NAME --weights FILE.safetensors --attack NAME --eps 8/255
                                   [--steps K] [--step-size A] [--random-start true|false] [--restarts R]
                                   [--loss ce|cw|dlr|bce|dice] [--targeted random|least-likely|next|CLASS]
                                   [--preprocess jpeg[:Q]|median[:K]|bit-depth[:B]|random-resize-pad[:S][,...]] [--eot N]
                                   [--split test] [--limit N] [--batch B] [--seed S] [--json]
                                   [--detector lid|mahalanobis|kd-bu [--fit-samples N] | --detector-file FILE] [--lambda L]
                                   [--setting white-box|semi-white-box|black-box|no-box]
                                   [--surrogate FILE.safetensors] [--surrogate-model NAME] [--fit-limit N]

            Runs the attack on every sample of the split (or the first N) and reports clean and robust
            accuracy, attack success rate, perturbation sizes, gradient evaluations, queries and speed;
            Dice/mIoU for segmentation data and mean AUC for multi-label data. --eps takes 8/255 or 0.031.
            --targeted runs the attack towards a target class per sample (per pixel for segmentation):
            random (another class, seeded by --seed), least-likely (lowest clean logit), next ((y+1) mod K)
            or a fixed class index; attack_success_rate is then the rate of reaching the target.
            --preprocess puts input-purification defenses (chained left to right) in front of the model and
            evaluates them adaptively: BPDA through non-differentiable transforms, EOT over --eot draws
            (default: 10 for random transforms, 1 otherwise); the output says which evaluation was used.
            --json prints exactly one JSON object on stdout. Progress goes to stderr.

            --detector fits an adversarial-example detector on the model's features (the first N training
            inputs, default 500, against the attack's examples on them; with --attack pgd-adaptive-detector,
            against PGD's) and adds its AUROC and TPR at 5% FPR on the evaluated inputs, against the attack
            and against pgd-adaptive-detector, under "detector" and "detection". --attack pgd-adaptive-detector
            (needs --detector or --detector-file) attacks the model and the fitted detector together; --lambda
            weights the detector term (default 1). --detector-file FILE loads a detector saved by
            `advmia train --detector` (for the same model and weights) instead of fitting one, and measures
            and lends it the same way; "detection" then also holds "file".

            Knowledge settings (docs/TAXONOMY.md): white-box (default) attacks the model itself; black-box
            allows only score-based attacks (square, simba), which query its outputs; semi-white-box and
            no-box craft on --surrogate (weights of --surrogate-model, default --model) and only evaluate
            the target: semi-white-box for a surrogate trained on the same data with another architecture
            or seed, no-box for one trained without the target's training data.
            uap / uap-l2 fit one universal perturbation on the first --fit-limit (default 2000) images of the
            train split (the val split under no-box; on the surrogate, if any) and report, besides the usual
            keys, fit_split, fit_samples, its fooling_rate on the evaluated images and the
            random_fooling_rate of random noise of the same norm.
            """;

    @Override
    public String summary() {
        return "evaluate a trained model under an attack (" + String.join(", ", Attacks.names()) + ")";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        if (Args.wantsHelp(argv)) {
            out.print(USAGE);
            out.println("\nattacks: " + String.join(", ", Attacks.names()));
            return Main.OK;
        }
        Args a = Args.parse("attack", argv, Set.of("--data", "--model", "--weights", "--attack", "--eps", "--steps",
                "--step-size", "--restarts", "--loss", "--targeted", "--preprocess", "--eot", "--split", "--limit", "--batch",
                "--seed", "--detector", "--detector-file", "--fit-samples", "--lambda", "--setting", "--surrogate", "--surrogate-model",
                "--fit-limit"),
                Set.of("--random-start", "--json"));
        String attackName = a.require("--attack").toLowerCase();
        boolean adaptive = Detectors.isAdaptiveAttack(attackName);
        if (!adaptive) Attacks.requireKnown(attackName);   // before loading any data
        String detectorName = a.has("--detector") ? a.require("--detector").toLowerCase() : null;
        if (detectorName != null) Detectors.requireKnown(detectorName);
        Path detectorFile = a.has("--detector-file") ? Path.of(a.require("--detector-file")) : null;
        if (detectorName != null && detectorFile != null) {
            throw new IllegalArgumentException("--detector " + detectorName + " fits a detector and --detector-file "
                    + detectorFile + " loads a fitted one; give one of them, not both");
        }
        if (detectorFile != null && a.has("--fit-samples")) {
            throw new IllegalArgumentException("--fit-samples applies to --detector NAME; --detector-file " + detectorFile
                    + " is already fitted");
        }
        if (adaptive && detectorName == null && detectorFile == null) {
            throw new IllegalArgumentException("--attack " + attackName + " attacks a model and a detector together;"
                    + " name the detector with --detector " + String.join("|", Detectors.NAMES)
                    + " or load one with --detector-file FILE");
        }
        double eps = ThreatModel.parseEps(a.require("--eps"), "--eps");
        TargetClasses targets = null;
        if (a.has("--targeted")) {
            Attacks.requireTargetable(attackName, "--targeted");
            Long seed = a.longOrNull("--seed");
            targets = TargetClasses.parse(a.require("--targeted"), "--targeted", seed == null ? 0 : seed);
        }
        KnowledgeSetting setting = KnowledgeSetting.parse(a.get("--setting", "white-box"), "--setting");
        setting.check(attackName, a.has("--surrogate"), "--surrogate");
        if (a.has("--surrogate-model") && !a.has("--surrogate")) {
            throw new IllegalArgumentException("--surrogate-model needs --surrogate FILE.safetensors");
        }
        boolean universal = Attacks.isUniversal(attackName);
        if (a.has("--fit-limit") && !universal) throw new IllegalArgumentException("--fit-limit applies to uap and uap-l2 only");
        Dataset data = DataSpec.open(a.require("--data"));
        DatasetInfo info = data.info();
        Split split = Split.parse(a.get("--split", "test"));
        Model model = Models.forData(a.require("--model"), info, 0);
        SafeTensors.load(model, Path.of(a.require("--weights")));
        Long seedValue = a.longOrNull("--seed");
        if (a.has("--preprocess")) {
            model = Preprocessors.wrap(model, a.require("--preprocess"), "--preprocess", seedValue == null ? 0 : seedValue);
        }
        Model surrogate = null;
        if (a.has("--surrogate")) {
            surrogate = Models.forData(a.get("--surrogate-model", a.require("--model")), info, 0);
            SafeTensors.load(surrogate, Path.of(a.require("--surrogate")));
        }
        Model crafter = surrogate != null ? surrogate : model;
        int eot = a.has("--eot") ? a.intValue("--eot", 1, 1) : Preprocessors.eotSamples(crafter);
        AttackLoss loss = a.has("--loss") ? AttackLoss.parse(a.require("--loss"))
                : info.task() == Task.MULTILABEL ? AttackLoss.BCE : null;
        Attacks.Overrides o = new Attacks.Overrides(a.intOrNull("--steps", 0), a.doubleOrNull("--step-size"),
                a.boolOrNull("--random-start"), a.intOrNull("--restarts", 1), a.longOrNull("--seed"), targets != null ? Boolean.TRUE : null, null, loss);
        int limit = a.intValue("--limit", 0, 0), batch = a.intValue("--batch", 100, 1);
        int samples = limit > 0 ? Math.min(limit, data.size(split)) : data.size(split);
        UniversalPerturbation uap = null;
        int fitLimit = a.intValue("--fit-limit", 2000, 0);
        // A no-box attacker holds none of the target's training images: it fits on the validation split.
        Split fitSplit = setting == KnowledgeSetting.NO_BOX ? Split.VAL : Split.TRAIN;
        if (universal) {
            err.println(attackName + ": fitting one perturbation on " + (fitLimit == 0 ? "all" : "up to " + fitLimit)
                    + " images of the " + fitSplit.key() + " split" + (surrogate != null ? " (on the surrogate)" : ""));
            uap = ((UniversalPerturbation) Attacks.create(attackName, crafter, eps, o)).fit(data, fitSplit, fitLimit);
        }
        UniversalPerturbation fitted = uap;
        Progress progress = new Progress(err, "attack " + attackName, (samples + batch - 1) / batch, false);
        DetectorRun det = detectorFile != null
                ? DetectorRun.load(detectorFile, attackName, model, data, split, eps, o, limit, a.doubleOrNull("--lambda"),
                        a.longOrNull("--seed"), err)
                : detectorName == null ? null : DetectorRun.fit(detectorName, attackName, model, data, split, eps, o,
                        a.intValue("--fit-samples", 500, 2), limit, a.doubleOrNull("--lambda"), a.longOrNull("--seed"), err);
        DatasetEvaluation.Report r = DatasetEvaluation.run(model, data, split, limit, batch,
                m -> {
                    // The target (m) is only evaluated; outside white-box/black-box the attack sees the surrogate.
                    Attack at = adaptive ? det.adaptiveAttack(m, eps, o)
                            : fitted != null ? fitted : Attacks.create(attackName, crafter, eps, o);
                    if (eot > 1) at.withEot(eot);
                    progress.tick();
                    return at;
                }, targets);
        progress.done();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("attack", attackName);
        json.put("eps", eps);
        json.put("norm", adaptive ? "linf" : Attacks.normOf(attackName).name().toLowerCase());
        json.put("model", model.name());
        json.put("data", info.name());
        json.put("split", split.key());
        json.put("targeted", targets == null ? "none" : targets.describe());
        json.put("preprocess", a.has("--preprocess") ? a.require("--preprocess") : "none");
        json.put("adaptive_evaluation", Preprocessors.adaptiveEvaluation(model));
        json.put("eot_samples", eot);
        json.putAll(r.toMap());
        if (det != null) det.addTo(json);
        json.put("setting", setting.key());
        if (surrogate != null) json.put("surrogate", a.require("--surrogate"));
        if (uap != null) {
            json.put("fit_split", fitSplit.key());
            json.put("fit_samples", uap.fitSamples());
            json.put("fooling_rate", UniversalPerturbation.foolingRate(model, data, split, limit, batch, uap.perturbation(),
                    0, 1));
            try (org.advmia.tensor.Tensor noise = uap.randomNoiseOfSameNorm(o.seed() == null ? 0 : o.seed())) {
                json.put("random_fooling_rate", UniversalPerturbation.foolingRate(model, data, split, limit, batch, noise,
                        0, 1));
            }
            uap.release();
        }
        if (a.flag("--json")) {
            out.println(Json.write(json));
        } else {
            out.printf("%s on %s (%s split, %d samples), eps %.5f (%s)%n", attackName, info.name(), split.key(),
                    r.samples(), eps, json.get("norm"));
            if (a.has("--preprocess")) {
                out.printf("  defense: %s; evaluated with %s%n", a.require("--preprocess"),
                        Preprocessors.adaptiveEvaluation(model));
            }
            out.printf("  clean accuracy       %.4f%n  robust accuracy      %.4f%n  attack success rate  %.4f%n",
                    r.cleanAccuracy(), r.robustAccuracy(), r.attackSuccessRate());
            out.printf("  max Linf %.5f   mean L2 %.4f%n", r.maxLinf(), r.meanL2());
            out.printf("  %d gradient evaluations, %d queries, %.2f s, %.1f images/s%n", r.gradientEvaluations(),
                    r.queries(), r.seconds(), r.imagesPerSecond());
            r.taskMetrics().forEach((k, v) -> out.printf("  %-28s %.4f%n", k, v));
            if (uap != null) {
                out.printf("  setting %s; universal perturbation fitted on %d %s images%n", setting.key(),
                        (int) json.get("fit_samples"), fitSplit.key());
                out.printf("  fooling rate         %.4f   (random noise of the same norm: %.4f)%n",
                        (double) json.get("fooling_rate"), (double) json.get("random_fooling_rate"));
            } else if (setting != KnowledgeSetting.WHITE_BOX) {
                out.printf("  setting %s%s%n", setting.key(), surrogate != null ? ", crafted on " + json.get("surrogate") : "");
            }
            for (String w : r.warnings()) out.println("  WARNING: " + w);
            if (det != null) det.print(out);
        }
        if (det != null) det.close();
        model.close();
        if (surrogate != null) surrogate.close();
        return Main.OK;
    }
}
