package org.advmia.benchmark.report;

import java.util.Locale;

/** Number formatting shared by every output, in Locale.ROOT so a German locale never writes "45,7". */
final class Fmt {
    private Fmt() {}

    /** A fraction in [0, 1] as a percentage with one decimal ("45.7"), or null when missing. */
    static String percent(double fraction) {
        if (!Double.isFinite(fraction)) return null;
        // + 0.0 turns -0.0 into 0.0, which would otherwise print as "-0.0".
        return String.format(Locale.ROOT, "%.1f", fraction * 100 + 0.0);
    }

    /** ε in /255 units, the survey's convention; exact multiples print without decimals. */
    static double eps255(double eps) {
        // Rounded to 1e-4: an ε that passed through a float (8f/255 is 8.00000047/255) is still 8.
        return Math.round(eps * 255 * 1e4) / 1e4;
    }

    static String eps(double eps) {
        if (!Double.isFinite(eps)) return "?";
        if (eps == 0) return "0";
        return trim(eps255(eps)) + "/255";
    }

    /** A number without trailing zeros: 8 -> "8", 0.5 -> "0.5", 7.65 -> "7.65". */
    static String trim(double v) {
        if (!Double.isFinite(v)) return "?";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        String s = String.format(Locale.ROOT, "%.4f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    static String fixed(double v, int decimals) {
        if (!Double.isFinite(v)) return null;
        return String.format(Locale.ROOT, "%." + decimals + "f", v + 0.0);
    }

    /** Seconds with a clock reading for long runs: "3723.0 s (1:02:03)". */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "unknown";
        String s = String.format(Locale.ROOT, "%.1f s", seconds);
        if (seconds < 60) return s;
        long total = Math.round(seconds);
        return s + String.format(Locale.ROOT, " (%d:%02d:%02d)", total / 3600, total / 60 % 60, total % 60);
    }

    /** Short enough for a headline: "12.3 s" under a minute, else a clock reading "1:02:03". */
    static String clock(double seconds) {
        if (!Double.isFinite(seconds)) return "unknown";
        if (seconds < 60) return String.format(Locale.ROOT, "%.1f s", seconds);
        long total = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60);
    }

    /** A number as written to CSV: exact enough to read back the same double, empty when missing. */
    static String csvNumber(double v) {
        if (!Double.isFinite(v)) return "";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
