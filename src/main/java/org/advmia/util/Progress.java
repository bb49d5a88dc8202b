package org.advmia.util;

import java.io.PrintStream;

/**
 * A one-line progress bar with ETA on stderr. On a terminal it redraws in place; otherwise (logs,
 * CI) it prints a line at most every few seconds so logs stay short.
 */
public final class Progress {
    private final PrintStream err;
    private final String label;
    private final int total;
    private final boolean quiet;
    private final long start = System.nanoTime();
    private final boolean tty = System.console() != null;
    private int done;
    private long lastPrint;
    private String status = "";

    public Progress(PrintStream err, String label, int total, boolean quiet) {
        this.err = err;
        this.label = label;
        this.total = total;
        this.quiet = quiet;
    }

    public void status(String s) {
        status = s;
    }

    public void tick() {
        done++;
        long now = System.nanoTime();
        if (quiet || (!tty && now - lastPrint < 5_000_000_000L && done < total)) return;
        lastPrint = now;
        double elapsed = (now - start) / 1e9;
        String eta = done > 0 && total > 0 ? fmt(elapsed / done * (total - done)) : "?";
        int width = 24, filled = total > 0 ? Math.min(width, done * width / total) : 0;
        String bar = "#".repeat(filled) + ".".repeat(width - filled);
        String line = String.format("%s [%s] %d/%s %s elapsed %s ETA %s", label, bar, done,
                total > 0 ? String.valueOf(total) : "?", status, fmt(elapsed), eta);
        err.print(tty ? "\r" + line : line + "\n");
        err.flush();
    }

    public void done() {
        if (!quiet && tty) err.println();
    }

    public static String fmt(double seconds) {
        long s = Math.round(seconds);
        return String.format("%d:%02d", s / 60, s % 60);
    }
}
