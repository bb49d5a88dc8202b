package org.advmia.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.advmia.attack.ThreatModel;
import org.advmia.benchmark.TrainingProgress;
import org.advmia.data.DataSpec;
import org.advmia.data.Dataset;
import org.advmia.data.DatasetInfo;
import org.advmia.data.Task;
import org.advmia.defense.Defense;
import org.advmia.defense.DefenseConfig;
import org.advmia.defense.Defenses;
import org.advmia.defense.Trainer;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;
import org.advmia.nn.SafeTensors;

/** `advmia train`: trains a model with a defense and writes PyTorch-loadable safetensors weights. */
final class TrainCommand implements Main.Command {
    static final String USAGE = """
            usage: ./advmia train --data SPEC --model NAME --defense NAME --eps 8/255 --epochs N --out FILE.safetensors
                                  [--batch B] [--lr L] [--beta B] [--seed S] [--resume] [--steps K] [--step-size A]
                                  [--optimizer sgd|adam] [--weight-decay W] [--val-limit N] [--helper FILE.safetensors]
                                  [--awp-on pgd-at|trades] [--balanced true|false] [--stop-after K] [--quiet]

            Defenses: nat, pgd-at, trades, mart, hat, fast-at, free-at, awp. Survey defaults: L-inf PGD-10
            inner attack with step 0.5, 0.5, 1, 2 /255 at eps 1, 2, 4, 8 /255 (eps/4 otherwise), beta 6,
            SGD momentum 0.9 with a one-cycle schedule (Adam for segmentation), class-balanced sampling.
            The checkpoint is selected on the VALIDATION split (PGD-20 robust accuracy, or clean accuracy
            for nat) and written atomically to --out; FILE.ckpt holds the full training state for --resume.
            hat needs a naturally trained helper (--helper); without one it first trains a nat helper.
            --stop-after K returns after K epochs (the schedule still spans --epochs); continue with --resume.
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
                "--helper", "--awp-on", "--stop-after"), Set.of("--resume", "--quiet", "--balanced"));
        String defenseName = a.require("--defense").toLowerCase();
        if (!Defenses.NAMES.contains(defenseName)) {
            throw new IllegalArgumentException("unknown defense '" + defenseName + "'. Valid defenses: "
                    + String.join(", ", Defenses.NAMES));
        }
        double eps = a.has("--eps") ? ThreatModel.parseEps(a.require("--eps"), "--eps") : 0;
        if (!defenseName.equals("nat") && !a.has("--eps")) throw new IllegalArgumentException(defenseName + " needs --eps");
        int epochs = a.intOrNull("--epochs", 1) == null ? fail("train needs --epochs") : a.intOrNull("--epochs", 1);
        Path outFile = Path.of(a.require("--out"));
        Dataset data = DataSpec.open(a.require("--data"));
        DatasetInfo info = data.info();
        long seed = a.longOrNull("--seed") == null ? 0 : a.longOrNull("--seed");
        String modelName = a.require("--model");
        boolean segmentation = info.task() == Task.SEGMENTATION;
        String optimizer = a.get("--optimizer", segmentation ? "adam" : "sgd");
        double lr = a.doubleOrNull("--lr") != null ? a.doubleOrNull("--lr") : optimizer.equals("adam") ? 1e-3 : 0.05;
        DefenseConfig base = DefenseConfig.survey(eps).withSeed(seed);
        DefenseConfig cfg = new DefenseConfig(eps, a.intValue("--steps", base.steps(), 0),
                a.doubleOrNull("--step-size") != null ? a.doubleOrNull("--step-size") : base.stepSize(),
                a.doubleOrNull("--beta") != null ? a.doubleOrNull("--beta") : base.beta(), base.helperScale(),
                base.helperWeight(), base.replays(), base.awpGamma(), seed);
        Trainer.Config tc = new Trainer.Config(epochs, a.intValue("--batch", 128, 1), lr, optimizer, 0.9,
                a.doubleOrNull("--weight-decay") != null ? a.doubleOrNull("--weight-decay") : 5e-4,
                !"false".equals(a.get("--balanced", "true")), seed, a.intValue("--val-limit", 1000, 0),
                !defenseName.equals("nat"));
        boolean quiet = a.flag("--quiet");
        Model helper = null;
        try (Model model = Models.forData(modelName, info, seed)) {
            if (defenseName.equals("hat")) helper = hatHelper(a, modelName, data, info, tc, outFile, quiet, err);
            Defense defense = Defenses.create(defenseName, cfg, helper, "trades".equals(a.get("--awp-on", "pgd-at")));
            Map<String, String> md = new LinkedHashMap<>();
            md.put("model", modelName);
            md.put("defense", defenseName);
            md.put("eps", Double.toString(eps));
            md.put("data", info.name());
            md.put("seed", Long.toString(seed));
            TrainingProgress listener = new TrainingProgress(err, defenseName, epochs, quiet);
            Trainer.Result r = Trainer.train(model, defense, data, tc, outFile, a.flag("--resume"), md, listener,
                    a.intValue("--stop-after", epochs, 1));
            out.printf("trained %s with %s to epoch %d%s: best %s on val %.4f at epoch %d; %.1f s per epoch%n",
                    modelName, defenseName, r.epochs(), r.resumed() ? " (resumed)" : "", r.metric(), r.bestMetric(),
                    r.bestEpoch() + 1, r.secondsPerEpoch());
            out.println("weights: " + outFile + " (PyTorch state_dict names); checkpoint: " + Trainer.checkpointFile(outFile));
        } finally {
            if (helper != null) helper.close();
        }
        return Main.OK;
    }

    private static int fail(String msg) {
        throw new IllegalArgumentException(msg);
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
