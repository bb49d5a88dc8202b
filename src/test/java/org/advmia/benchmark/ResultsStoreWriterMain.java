package org.advmia.benchmark;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A second process for ResultsStoreTest: a benchmark-like writer that another JVM can run
 * against, or kill in the middle of. Usage: {@code <db> <writer> <count> <shared> [pauseMs]}. It opens the
 * store, begins a run, prints "ready RUNID" and waits for a line on stdin, so that the test
 * controls when both processes start writing. Then it stores cells writer-0 .. writer-(count-1)
 * and, for i < shared, also shared-i, printing "put i" only after putCell returned: a line the
 * test has read is a cell the store has promised to keep. An optional fifth argument pauses that
 * many milliseconds after each cell, as a benchmark computing its next cell would.
 */
public final class ResultsStoreWriterMain {
    private ResultsStoreWriterMain() {}

    public static void main(String[] args) throws Exception {
        Path db = Path.of(args[0]);
        String writer = args[1];
        int count = Integer.parseInt(args[2]), shared = Integer.parseInt(args[3]);
        long pauseMs = args.length > 4 ? Long.parseLong(args[4]) : 0;
        try (ResultsStore store = ResultsStore.open(db)) {
            String run = store.beginRun(writer, "{\"writer\":\"" + writer + "\"}");
            System.out.println("ready " + run);
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            for (int i = 0; i < count; i++) {
                store.putCell(writer + "-" + i, run, sampleCell(writer, i));
                if (i < shared) store.putCell("shared-" + i, run, sampleCell(writer, i));
                System.out.println("put " + i);
                System.out.flush();
                if (pauseMs > 0) Thread.sleep(pauseMs);
            }
            store.finishRun(run, 1.5, 1.25);
        }
        System.out.println("done");
    }

    /**
     * A deterministic cell with awkward doubles (non-terminating binary fractions, subnormals, values
     * near the double range, NaN) and warnings that need JSON escaping. budget names the writer, so a
     * test can tell which of two writers' values a shared key kept.
     */
    static CellResult sampleCell(String writer, int i) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("clean_accuracy", (i % 97) / 97.0);
        m.put("robust_accuracy", 1.0 / (i + 3));
        m.put("macro_f1_adversarial", 0.1 * i + 0.2);
        m.put("dice_adversarial", i % 3 == 0 ? Double.NaN : Double.MIN_VALUE * (i + 1));
        m.put("extreme", i % 2 == 0 ? 1e-300 / (i + 7) : 1.7e308 / (i + 1));
        List<String> warnings = i % 4 == 0
                ? List.of("\"quoted\" by " + writer + "\nsecond line\t\u00e9 \u2713 \ud83e\ude7b \u0001", "plain")
                : List.of();
        boolean clean = i % 5 == 0;
        return new CellResult("ds" + (i % 3), i % 2 == 0 ? "classification" : "segmentation", "smallcnn",
                i % 2 == 0 ? "nat" : "pgd-at", clean ? CellResult.CLEAN : "pgd", "PGD-20 by " + writer,
                clean ? 0 : (i % 5) / 255.0, 100 + i, 0.37 * i + 1e-9, m, warnings);
    }
}
