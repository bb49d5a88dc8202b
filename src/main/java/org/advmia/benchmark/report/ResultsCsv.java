package org.advmia.benchmark.report;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import org.advmia.benchmark.CellResult;

/**
 * results.csv: one row per evaluation cell, RFC 4180 (CRLF line ends, fields quoted when they
 * hold a comma, quote or line break). Missing metrics are empty fields, so every task shares
 * one header.
 */
final class ResultsCsv {
    private ResultsCsv() {}

    static final List<String> FIXED_COLUMNS = List.of("dataset", "task", "model", "defense", "attack", "budget", "eps", "eps_255",
            "samples", "seconds");

    static String write(List<CellResult> cells) {
        TreeSet<String> metricKeys = new TreeSet<>();
        for (CellResult c : cells) metricKeys.addAll(c.metrics().keySet());
        List<String> header = new ArrayList<>(FIXED_COLUMNS);
        header.addAll(metricKeys);
        StringBuilder b = new StringBuilder();
        row(header, b);
        for (CellResult c : cells) {
            List<String> fields = new ArrayList<>(List.of(c.dataset(), c.task(), c.model(), c.defense(), c.attack(),
                    c.budget() == null ? "" : c.budget(), Fmt.csvNumber(c.eps()), Fmt.csvNumber(Fmt.eps255(c.eps())),
                    Integer.toString(c.samples()), Fmt.csvNumber(c.seconds())));
            for (String k : metricKeys) fields.add(Fmt.csvNumber(c.metric(k)));
            row(fields, b);
        }
        return b.toString();
    }

    private static void row(List<String> fields, StringBuilder b) {
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) b.append(',');
            b.append(field(fields.get(i)));
        }
        b.append("\r\n");
    }

    static String field(String s) {
        boolean quote = s.indexOf(',') >= 0 || s.indexOf('"') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
        return quote ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }
}
