package org.advmia.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import org.advmia.benchmark.BenchmarkConfig;
import org.advmia.benchmark.BenchmarkResults;
import org.advmia.benchmark.BenchmarkRunner;

/** `advmia benchmark`: the survey's robustness benchmark end to end, resumable. */
final class BenchmarkCommand implements Main.Command {
    static final String USAGE = """
            usage: ./advmia benchmark [--config FILE.yaml|FILE.json] [--out DIR] [--db FILE] [--models DIR]
                                      [--quiet | --verbose] [--plan] [--print-default]

            Trains every dataset x model x defense of the config (or takes it from the model cache),
            evaluates each on clean data and under every attack x eps, fills the transfer matrix
            (every trained model as surrogate and as target), draws example grids, Grad-CAM maps and
            masks, and writes to DIR (default: benchmark-results):
              report.md  report.tex  report.html  results.csv  results.json  plots/  figures/  results.db
            Without --config it runs the embedded default: NAT, PGD-AT, TRADES and MART on SmallCNN
            over synthetic skin lesions, under clean, FGSM, PGD-20, CW-30, AutoAttack and Square at
            eps 1, 2, 4 and 8/255 with the reduced budgets the report names (about 10 minutes on 2 cores).

            Every finished training and cell is stored in the SQLite database (DIR/results.db, or
            --db) the moment it finishes: run the same command again after a crash or Ctrl-C and it
            resumes, recomputing nothing that finished. Two runs may share a database. Trained models
            are cached by the hash of their full configuration in DIR/models (or --models).

              --plan           print the plan (cells, budgets) and exit without running
              --print-default  print the embedded default config (a starting point for --config)
              --quiet          only errors and the final summary; --verbose: a line per cell
            Example configs: benchmarks/configs/ (MedMNIST, the survey's CSV layouts, Fashion-MNIST).
            """;

    @Override
    public String summary() {
        return "run the survey's robustness benchmark (tables, plots, Grad-CAM, resumable results database)";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws Exception {
        if (Args.wantsHelp(argv)) {
            out.print(USAGE);
            return Main.OK;
        }
        Args a = Args.parse("benchmark", argv, Set.of("--config", "--out", "--db", "--models"),
                Set.of("--quiet", "--verbose", "--plan", "--print-default"));
        if (a.flag("--print-default")) {
            out.print(defaultText());
            return Main.OK;
        }
        if (a.flag("--quiet") && a.flag("--verbose")) throw new IllegalArgumentException("--quiet and --verbose exclude each other");
        BenchmarkConfig cfg = a.has("--config") ? BenchmarkConfig.load(Path.of(a.require("--config")))
                : BenchmarkConfig.defaultConfig();
        if (a.flag("--plan")) {
            printPlan(cfg, out);
            return Main.OK;
        }
        Path outDir = Path.of(a.get("--out", "benchmark-results"));
        BenchmarkRunner.Verbosity v = a.flag("--quiet") ? BenchmarkRunner.Verbosity.QUIET
                : a.flag("--verbose") ? BenchmarkRunner.Verbosity.VERBOSE : BenchmarkRunner.Verbosity.NORMAL;
        BenchmarkRunner.Options o = BenchmarkRunner.Options.in(outDir, v, err);
        o = new BenchmarkRunner.Options(outDir, a.has("--db") ? Path.of(a.require("--db")) : o.database(),
                a.has("--models") ? Path.of(a.require("--models")) : o.modelCache(), v, err);
        BenchmarkResults r = BenchmarkRunner.run(cfg, o);
        out.printf("benchmark '%s': %d trained models, %d cells, %d transfer cells in %.1f s (harness overhead %.2f%%)%n",
                r.name(), r.trainings().size(), r.cells().size(), r.transfers().size(), r.wallSeconds(),
                100 * r.harnessOverhead());
        out.println("report: " + outDir.resolve("report.html") + " (also report.md, report.tex, results.csv, results.json)");
        return Main.OK;
    }

    static String defaultText() throws IOException {
        try (InputStream in = BenchmarkConfig.class.getResourceAsStream("default.yaml")) {
            if (in == null) throw new IllegalStateException("the embedded default config is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void printPlan(BenchmarkConfig cfg, PrintStream out) {
        out.println("benchmark '" + cfg.name() + "' from " + cfg.source());
        for (BenchmarkConfig.DatasetEntry d : cfg.datasets()) {
            out.printf("  dataset %s: %s (%s split, %s samples per cell)%n", d.name(), d.spec(), d.split(),
                    d.evalSamples() == 0 ? "all" : Integer.toString(d.evalSamples()));
        }
        out.println("  models: " + String.join(", ", cfg.models()));
        BenchmarkConfig.Training t = cfg.training();
        out.printf("  training: %d epochs, batch %d, %s lr %g, inner PGD-%d%n", t.epochs(), t.batch(), t.optimizer(),
                t.lr(), t.innerSteps());
        StringBuilder defs = new StringBuilder();
        for (BenchmarkConfig.DefenseEntry d : cfg.defenses()) {
            defs.append(defs.length() > 0 ? ", " : "").append(d.name());
            if (!d.name().equals("nat")) defs.append(" @ ").append(Math.round(d.trainEps() * 255 * 100) / 100.0).append("/255");
        }
        out.println("  defenses: " + defs);
        StringBuilder eps = new StringBuilder();
        for (double e : cfg.eps()) eps.append(eps.length() > 0 ? ", " : "").append(Math.round(e * 255 * 100) / 100.0).append("/255");
        out.println("  eps: " + eps);
        for (var at : cfg.attacks()) out.println("  attack " + at.label() + ": " + at.identity());
        for (var pe : cfg.preprocessing()) out.println("  preprocessing " + pe.label() + " (adaptive: BPDA, EOT for random transforms)");
        out.println("  transfer: " + (cfg.transfer().enabled() ? cfg.transfer().attack().label() : "off"));
        out.println("  cells: " + BenchmarkRunner.plannedCells(cfg));
    }
}
