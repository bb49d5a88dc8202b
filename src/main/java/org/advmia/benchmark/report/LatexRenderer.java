package org.advmia.benchmark.report;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.advmia.benchmark.report.ReportDocument.Block;
import org.advmia.benchmark.report.ReportDocument.Bullets;
import org.advmia.benchmark.report.ReportDocument.Cell;
import org.advmia.benchmark.report.ReportDocument.Code;
import org.advmia.benchmark.report.ReportDocument.Column;
import org.advmia.benchmark.report.ReportDocument.Heading;
import org.advmia.benchmark.report.ReportDocument.Image;
import org.advmia.benchmark.report.ReportDocument.Paragraph;
import org.advmia.benchmark.report.ReportDocument.Stat;
import org.advmia.benchmark.report.ReportDocument.Stats;
import org.advmia.benchmark.report.ReportDocument.Table;

/**
 * A complete pdflatex document whose tables are booktabs tabulars that can be pasted into a
 * paper as they are. Only packages from a basic TeX Live install are used.
 */
final class LatexRenderer {
    private LatexRenderer() {}

    // Past this many rows a float cannot fit on one page, so the table becomes a longtable.
    private static final int LONG_TABLE_ROWS = 30;
    // A text column with a cell longer than this becomes a wrapping paragraph column.
    private static final int WRAP_CHARS = 40;
    // Paths that \includegraphics reads without further quoting.
    private static final Pattern PLAIN_PATH = Pattern.compile("[A-Za-z0-9._/-]+");

    private static final Map<Character, String> UNICODE = Map.ofEntries(
            Map.entry('ε', "$\\varepsilon$"), Map.entry('α', "$\\alpha$"), Map.entry('β', "$\\beta$"), Map.entry('γ', "$\\gamma$"),
            Map.entry('δ', "$\\delta$"), Map.entry('λ', "$\\lambda$"), Map.entry('μ', "$\\mu$"), Map.entry('µ', "$\\mu$"),
            Map.entry('σ', "$\\sigma$"), Map.entry('×', "$\\times$"), Map.entry('±', "$\\pm$"), Map.entry('≤', "$\\leq$"),
            Map.entry('≥', "$\\geq$"), Map.entry('→', "$\\rightarrow$"), Map.entry('·', "$\\cdot$"), Map.entry('–', "--"),
            Map.entry('—', "---"), Map.entry('…', "\\ldots{}"), Map.entry('†', "\\dag{}"), Map.entry('°', "\\textdegree{}"),
            Map.entry('‘', "`"), Map.entry('’', "'"), Map.entry('“', "``"), Map.entry('”', "''"), Map.entry('\u00a0', "~"));

    /** outDir: where report.tex lives, so figure paths resolve and missing files are left out. */
    static String render(ReportDocument doc, Path outDir) {
        StringBuilder b = new StringBuilder();
        b.append("% Written by advmia's benchmark report. To paste a table into a paper: it needs \\usepackage{booktabs}\n");
        b.append("% (and graphicx for \\resizebox); change [H] to [htbp] unless the paper loads the float package.\n");
        b.append("\\documentclass[10pt]{article}\n");
        b.append("\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n\\usepackage[a4paper,margin=2cm]{geometry}\n");
        // T1 without Latin Modern falls back to bitmap fonts; use the outline fonts where installed.
        b.append("\\IfFileExists{lmodern.sty}{\\usepackage{lmodern}}{}\n");
        b.append("\\usepackage{booktabs}\n\\usepackage{longtable}\n\\usepackage{array}\n\\usepackage{graphicx}\n\\usepackage{textcomp}\n");
        // [H] (package float) keeps each table under its section: a report is mostly tables, and
        // as ordinary floats they drift pages away from their headings.
        b.append("\\usepackage{float}\n");
        b.append("\\title{").append(esc(doc.title())).append("}\n\\author{}\n\\date{").append(esc(doc.subtitle())).append("}\n");
        b.append("\\begin{document}\n\\maketitle\n\n");
        for (Block block : doc.blocks()) {
            if (block instanceof Heading h) {
                String command = switch (h.level()) {
                    case 1, 2 -> "section";
                    case 3 -> "subsection";
                    default -> "subsubsection";
                };
                b.append('\\').append(command).append('{').append(esc(h.text())).append("}\\label{sec:").append(h.anchor()).append("}\n\n");
            } else if (block instanceof Paragraph p) {
                b.append(esc(p.text())).append("\n\n");
            } else if (block instanceof Bullets l) {
                b.append("\\begin{itemize}\n");
                for (String item : l.items()) b.append("  \\item ").append(esc(item)).append('\n');
                b.append("\\end{itemize}\n\n");
            } else if (block instanceof Stats s) {
                b.append("\\begin{itemize}\n");
                for (Stat st : s.items()) b.append("  \\item ").append(esc(st.label())).append(": \\textbf{").append(esc(st.value())).append("}\n");
                b.append("\\end{itemize}\n\n");
            } else if (block instanceof Table t) {
                table(t, b);
            } else if (block instanceof Image i) {
                image(i, outDir, b);
            } else if (block instanceof Code c) {
                String text = ascii(c.text()).replace("\\end{verbatim}", "\\end {verbatim}");
                b.append("{\\footnotesize\n\\begin{verbatim}\n").append(text).append("\n\\end{verbatim}\n}\n\n");
            }
        }
        b.append("\\end{document}\n");
        return b.toString();
    }

    private static void table(Table t, StringBuilder b) {
        boolean longTable = t.rows().size() > LONG_TABLE_ROWS;
        StringBuilder spec = new StringBuilder();
        boolean[] wraps = new boolean[t.columns().size()];
        int wrapping = 0;
        for (int k = 0; k < wraps.length; k++) {
            if (t.columns().get(k).numeric()) continue;
            int longest = 0;
            for (List<Cell> row : t.rows()) if (row.get(k).text() != null) longest = Math.max(longest, row.get(k).text().length());
            wraps[k] = longest > WRAP_CHARS;
            if (wraps[k]) wrapping++;
        }
        // Long free text (budgets, environment) wraps in a paragraph column instead of shrinking the whole table.
        String width = String.format(java.util.Locale.ROOT, "%.2f", Math.min(0.45, 0.75 / Math.max(1, wrapping)));
        for (int k = 0; k < wraps.length; k++) {
            if (wraps[k]) spec.append(">{\\raggedright\\arraybackslash}p{").append(width).append("\\linewidth}");
            else spec.append(t.columns().get(k).numeric() ? 'r' : 'l');
        }
        StringBuilder head = new StringBuilder();
        head.append("\\toprule\n");
        if (t.grouped()) {
            StringBuilder rules = new StringBuilder();
            List<Column> cols = t.columns();
            for (int k = 0; k < cols.size(); ) {
                int end = k;
                while (end + 1 < cols.size() && cols.get(k).group() != null && cols.get(k).group().equals(cols.get(end + 1).group())) end++;
                if (k > 0) head.append(" & ");
                // An ungrouped column leaves the upper line empty; its label sits on the lower one.
                if (cols.get(k).group() != null) {
                    head.append("\\multicolumn{").append(end - k + 1).append("}{c}{").append(esc(cols.get(k).group())).append('}');
                    rules.append("\\cmidrule(lr){").append(k + 1).append('-').append(end + 1).append('}');
                }
                k = end + 1;
            }
            head.append(" \\\\\n").append(rules).append('\n');
            for (int k = 0; k < cols.size(); k++) {
                if (k > 0) head.append(" & ");
                head.append(esc(cols.get(k).label()));
            }
        } else {
            for (int k = 0; k < t.columns().size(); k++) {
                if (k > 0) head.append(" & ");
                head.append(esc(t.columns().get(k).label()));
            }
        }
        head.append(" \\\\\n\\midrule\n");

        StringBuilder body = new StringBuilder();
        for (List<Cell> row : t.rows()) {
            for (int k = 0; k < row.size(); k++) {
                if (k > 0) body.append(" & ");
                Cell c = row.get(k);
                String text = c.text() == null ? "--" : esc(c.text());
                if (c.bold() && c.text() != null) text = "\\textbf{" + text + "}";
                if (c.flagged()) text += "\\textsuperscript{\\dag}";
                body.append(text);
            }
            body.append(" \\\\\n");
        }
        body.append("\\bottomrule\n");

        String note = t.note() == null || t.note().isBlank() ? null : esc(t.note());
        if (longTable) {
            // A longtable cannot be scaled down like the floats below, so it is set smaller and tighter.
            b.append("{\\footnotesize\\setlength{\\tabcolsep}{4pt}\n\\begin{longtable}{").append(spec).append("}\n");
            b.append("\\caption{").append(esc(t.title())).append("}\\label{tab:").append(t.anchor()).append("}\\\\\n");
            b.append(head).append("\\endfirsthead\n").append(head).append("\\endhead\n");
            b.append(body);
            b.append("\\end{longtable}\n}\n");
            if (note != null) b.append("{\\footnotesize ").append(note).append("}\n");
            b.append('\n');
        } else {
            b.append("\\begin{table}[H]\n\\centering\n");
            b.append("\\caption{").append(esc(t.title())).append("}\\label{tab:").append(t.anchor()).append("}\n");
            // Shrinks a table only when it is wider than the text; narrow tables keep their size.
            b.append("\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n");
            b.append("\\begin{tabular}{").append(spec).append("}\n").append(head).append(body).append("\\end{tabular}%\n}\n");
            if (note != null) b.append("\\par\\smallskip{\\footnotesize ").append(note).append("}\n");
            b.append("\\end{table}\n\n");
        }
    }

    /**
     * PNG and JPEG figures are included when present; pdflatex cannot include SVG, so plots are
     * named by path instead of breaking the build.
     */
    private static void image(Image i, Path outDir, StringBuilder b) {
        String lower = i.file().toLowerCase();
        boolean raster = lower.endsWith(".png") || lower.endsWith(".jpg") || lower.endsWith(".jpeg");
        if (raster && PLAIN_PATH.matcher(i.file()).matches() && Files.isRegularFile(outDir.resolve(i.file()))) {
            b.append("\\begin{figure}[H]\n\\centering\n\\includegraphics[width=0.8\\linewidth,keepaspectratio]{")
                    .append(i.file()).append("}\n\\caption{").append(esc(i.title()));
            if (i.caption() != null && !i.caption().isBlank()) b.append(". ").append(esc(i.caption()));
            b.append("}\n\\end{figure}\n\n");
        } else {
            // Break points after '/' and '_': a long path in \texttt would otherwise run into the margin.
            String path = esc(i.file()).replace("/", "/\\allowbreak{}").replace("\\_", "\\_\\allowbreak{}");
            b.append("{\\sloppy\\noindent\\textbf{").append(esc(i.title())).append("} (\\texttt{").append(path).append("})");
            if (i.caption() != null && !i.caption().isBlank()) b.append(": ").append(esc(i.caption()));
            b.append("\\par}\n\n");
        }
    }

    /** Escapes text for LaTeX: specials become commands, Unicode pdflatex lacks becomes '?'. */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\textbackslash{}");
                case '{', '}', '_', '%', '&', '#', '$' -> b.append('\\').append(c);
                case '^' -> b.append("\\textasciicircum{}");
                case '~' -> b.append("\\textasciitilde{}");
                case '<' -> b.append("\\textless{}");
                case '>' -> b.append("\\textgreater{}");
                case '|' -> b.append("\\textbar{}");
                // T1 would typeset a plain " as a closing curly quote.
                case '"' -> b.append("\\textquotedbl{}");
                case '\n', '\r', '\t' -> b.append(' ');
                default -> {
                    String mapped = UNICODE.get(c);
                    if (mapped != null) b.append(mapped);
                    else b.append(printable(c));
                }
            }
        }
        return b.toString();
    }

    /** For verbatim text, where specials are literal but undefined Unicode still stops pdflatex. */
    private static String ascii(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(c == '\n' || c == '\t' ? String.valueOf(c) : printable(c));
        }
        return b.toString();
    }

    // utf8 + T1 covers ASCII and Latin-1 letters; anything else would be an "undefined character" error.
    private static String printable(char c) {
        if (c < 0x20) return " ";
        if (c < 0x7f) return String.valueOf(c);
        if (c >= 0xc0 && c <= 0xff && c != 0xd7 && c != 0xf7) return String.valueOf(c);
        return "?";
    }
}
