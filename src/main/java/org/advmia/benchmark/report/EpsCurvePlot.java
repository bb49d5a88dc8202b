package org.advmia.benchmark.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Robust accuracy against ε as a hand-written SVG line chart: x in /255 units from 0, y fixed
 * at 0-100 % so plots of different models can be compared by eye, one line per defense, the
 * legend to the right of the plot area so it never hides a line.
 */
final class EpsCurvePlot {
    /** x in /255 units, y in percent; NaN y values break the line. */
    record Series(String label, double[] x, double[] y) {}

    private static final int WIDTH = 640, HEIGHT = 380;
    private static final int LEFT = 62, TOP = 44, BOTTOM = HEIGHT - 54, RIGHT = WIDTH - 170;
    // Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
    private static final String[] COLOURS = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#B8A200"};
    // After the colours run out, the dash pattern keeps lines apart.
    private static final String[] DASHES = {null, "6 3", "2 3", "8 3 2 3"};

    private EpsCurvePlot() {}

    /**
     * standalone: a file of its own (XML declaration and SVG namespace). Otherwise markup for
     * inlining into HTML, where the namespace is implied and would only add an external-looking URL.
     */
    static String svg(String title, String xLabel, String yLabel, List<Series> series, boolean standalone) {
        double xMax = 0;
        for (Series s : series) for (double x : s.x()) if (Double.isFinite(x)) xMax = Math.max(xMax, x);
        double[] xTicks = niceTicks(xMax > 0 ? xMax : 1);
        double xEnd = xTicks[xTicks.length - 1];

        StringBuilder b = new StringBuilder();
        if (standalone) b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        b.append("<svg");
        if (standalone) b.append(" xmlns=\"http://www.w3.org/2000/svg\"");
        b.append(" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT)
                .append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(HEIGHT)
                .append("\" font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\" role=\"img\">\n");
        b.append("<title>").append(xml(title)).append("</title>\n");
        b.append("<rect width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" fill=\"#ffffff\"/>\n");

        int titleSize = 16;
        double titleWidth = title.length() * titleSize * 0.55;
        b.append("<text x=\"").append(WIDTH / 2).append("\" y=\"24\" text-anchor=\"middle\" font-size=\"").append(titleSize)
                .append("\" font-weight=\"600\" fill=\"#1f2328\"");
        // Long titles are squeezed rather than cut off at the edges.
        if (titleWidth > WIDTH - 20) b.append(" textLength=\"").append(WIDTH - 20).append("\" lengthAdjust=\"spacingAndGlyphs\"");
        b.append('>').append(xml(title)).append("</text>\n");

        // Grid and y ticks.
        for (int v = 0; v <= 100; v += 20) {
            double y = yPos(v);
            b.append(line(LEFT, y, RIGHT, y, v == 0 ? "#57606a" : "#e5e7eb", 1, null));
            b.append(text(LEFT - 8, y + 4, "end", 13, "#57606a", Integer.toString(v)));
        }
        for (double t : xTicks) {
            double x = xPos(t, xEnd);
            if (t > 0) b.append(line(x, TOP, x, BOTTOM, "#f0f1f3", 1, null));
            b.append(line(x, BOTTOM, x, BOTTOM + 5, "#57606a", 1, null));
            b.append(text(x, BOTTOM + 20, "middle", 13, "#57606a", Fmt.trim(t)));
        }
        b.append(line(LEFT, TOP, LEFT, BOTTOM, "#57606a", 1, null));
        b.append(text((LEFT + RIGHT) / 2.0, HEIGHT - 12, "middle", 14, "#1f2328", xLabel));
        b.append("<text x=\"16\" y=\"").append(fmt((TOP + BOTTOM) / 2.0)).append("\" text-anchor=\"middle\" font-size=\"14\" fill=\"#1f2328\" transform=\"rotate(-90 16 ")
                .append(fmt((TOP + BOTTOM) / 2.0)).append(")\">").append(xml(yLabel)).append("</text>\n");

        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            String colour = COLOURS[k % COLOURS.length];
            String dash = DASHES[(k / COLOURS.length) % DASHES.length];
            b.append("<g>\n");
            for (List<double[]> run : finiteRuns(s)) {
                if (run.size() < 2) continue;
                b.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\"");
                if (dash != null) b.append(" stroke-dasharray=\"").append(dash).append('"');
                b.append(" points=\"");
                for (int p = 0; p < run.size(); p++) {
                    if (p > 0) b.append(' ');
                    b.append(fmt(xPos(run.get(p)[0], xEnd))).append(',').append(fmt(yPos(run.get(p)[1])));
                }
                b.append("\"/>\n");
            }
            for (List<double[]> run : finiteRuns(s)) {
                for (double[] p : run) {
                    b.append("<circle cx=\"").append(fmt(xPos(p[0], xEnd))).append("\" cy=\"").append(fmt(yPos(p[1])))
                            .append("\" r=\"3.5\" fill=\"").append(colour).append("\" stroke=\"#ffffff\" stroke-width=\"1\"><title>")
                            .append(xml(s.label() + ": ε " + Fmt.trim(p[0]) + "/255, " + String.format(Locale.ROOT, "%.1f %%", p[1])))
                            .append("</title></circle>\n");
                }
            }
            b.append("</g>\n");
        }

        // Legend.
        int legendX = RIGHT + 18;
        b.append(text(legendX, TOP + 4, "start", 13, "#57606a", "Defense"));
        for (int k = 0; k < series.size(); k++) {
            double y = TOP + 24 + k * 20;
            String colour = COLOURS[k % COLOURS.length];
            String dash = DASHES[(k / COLOURS.length) % DASHES.length];
            b.append(line(legendX, y, legendX + 24, y, colour, 2, dash));
            b.append("<circle cx=\"").append(legendX + 12).append("\" cy=\"").append(fmt(y)).append("\" r=\"3.5\" fill=\"").append(colour)
                    .append("\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n");
            String label = series.get(k).label();
            // The legend column is ~140 px wide; the full name stays in the tooltip.
            String shown = label.length() > 16 ? label.substring(0, 15) + "…" : label;
            b.append("<text x=\"").append(legendX + 30).append("\" y=\"").append(fmt(y + 4)).append("\" font-size=\"13\" fill=\"#1f2328\"><title>")
                    .append(xml(label)).append("</title>").append(xml(shown)).append("</text>\n");
        }
        b.append("</svg>\n");
        return b.toString();
    }

    /**
     * Tick values 0, step, 2 step, ... up to the first tick at or past max. The step is 1, 2,
     * 2.5, 4 or 5 times a power of ten, giving 3 to 8 intervals with the least empty room past
     * max (ties: the larger step). 4 is among the steps because ε grids are usually powers of
     * two over 255: 16/255 gets 0, 4, 8, 12, 16 instead of an axis running on to 20.
     */
    static double[] niceTicks(double max) {
        double bestStep = Double.NaN, bestWaste = Double.POSITIVE_INFINITY;
        double magnitude = Math.pow(10, Math.floor(Math.log10(max / 8)));
        for (double scale : new double[] {magnitude, magnitude * 10}) {
            for (double m : new double[] {1, 2, 2.5, 4, 5}) {
                double step = m * scale;
                int intervals = (int) Math.ceil(max / step - 1e-9);
                if (intervals < 3 || intervals > 8) continue;
                double waste = intervals * step - max;
                if (waste < bestWaste - 1e-9 || (Math.abs(waste - bestWaste) <= 1e-9 && step > bestStep)) {
                    bestWaste = waste;
                    bestStep = step;
                }
            }
        }
        if (Double.isNaN(bestStep)) bestStep = max / 4;
        int n = (int) Math.ceil(max / bestStep - 1e-9);
        double[] ticks = new double[n + 1];
        // Multiplying (not accumulating) keeps 0.1 * 3 from drifting to 0.30000000000000004 labels.
        for (int i = 0; i <= n; i++) ticks[i] = Math.round(i * bestStep * 1e9) / 1e9;
        return ticks;
    }

    private static List<List<double[]>> finiteRuns(Series s) {
        List<List<double[]>> runs = new ArrayList<>();
        List<double[]> current = new ArrayList<>();
        for (int i = 0; i < s.x().length; i++) {
            if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
                current.add(new double[] {s.x()[i], Math.max(0, Math.min(100, s.y()[i]))});
            } else if (!current.isEmpty()) {
                runs.add(current);
                current = new ArrayList<>();
            }
        }
        if (!current.isEmpty()) runs.add(current);
        return runs;
    }

    private static double xPos(double v, double xEnd) {
        return LEFT + (RIGHT - LEFT) * v / xEnd;
    }

    private static double yPos(double percent) {
        return BOTTOM - (BOTTOM - TOP) * percent / 100;
    }

    private static String line(double x1, double y1, double x2, double y2, String colour, double width, String dash) {
        return "<line x1=\"" + fmt(x1) + "\" y1=\"" + fmt(y1) + "\" x2=\"" + fmt(x2) + "\" y2=\"" + fmt(y2) + "\" stroke=\"" + colour
                + "\" stroke-width=\"" + fmt(width) + "\"" + (dash == null ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
    }

    private static String text(double x, double y, String anchor, int size, String colour, String content) {
        return "<text x=\"" + fmt(x) + "\" y=\"" + fmt(y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" + size + "\" fill=\"" + colour
                + "\">" + xml(content) + "</text>\n";
    }

    private static String fmt(double v) {
        return Fmt.trim(Math.round(v * 100) / 100.0);
    }

    static String xml(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                // Same reason as HtmlRenderer.esc: the plot is inlined into the report verbatim.
                case '/' -> b.append(i > 0 && s.charAt(i - 1) == ':' ? "&#47;" : "/");
                default -> {
                    // XML 1.0 forbids most control characters even when escaped.
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') b.append('?');
                    else b.append(c);
                }
            }
        }
        return b.toString();
    }
}
