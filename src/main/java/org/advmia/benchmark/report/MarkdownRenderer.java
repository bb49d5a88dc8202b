package org.advmia.benchmark.report;

import java.util.List;

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

/** GitHub-flavoured Markdown: pipe tables, images linked by path relative to the report. */
final class MarkdownRenderer {
    private MarkdownRenderer() {}

    static String render(ReportDocument doc) {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(esc(doc.title())).append("\n\n");
        b.append('*').append(esc(doc.subtitle())).append("*\n\n");
        for (Block block : doc.blocks()) {
            if (block instanceof Heading h) {
                b.append("#".repeat(h.level())).append(' ').append(esc(h.text())).append("\n\n");
            } else if (block instanceof Paragraph p) {
                b.append(esc(p.text())).append("\n\n");
            } else if (block instanceof Bullets l) {
                for (String item : l.items()) b.append("- ").append(esc(item)).append('\n');
                b.append('\n');
            } else if (block instanceof Stats s) {
                for (Stat st : s.items()) b.append("- ").append(esc(st.label())).append(": **").append(esc(st.value())).append("**\n");
                b.append('\n');
            } else if (block instanceof Table t) {
                table(t, b);
            } else if (block instanceof Image i) {
                b.append("![").append(esc(i.title())).append("](").append(link(i.file())).append(")\n\n");
                if (i.caption() != null && !i.caption().isBlank()) b.append('*').append(esc(i.caption())).append("*\n\n");
            } else if (block instanceof Code c) {
                // A fence longer than any backtick run inside cannot be closed by the content.
                String fence = "`".repeat(Math.max(3, longestRun(c.text(), '`') + 1));
                b.append(fence).append('\n').append(c.text()).append('\n').append(fence).append("\n\n");
            }
        }
        return b.toString();
    }

    private static void table(Table t, StringBuilder b) {
        b.append("**").append(esc(t.title())).append("**\n\n");
        StringBuilder align = new StringBuilder("|");
        b.append('|');
        for (Column c : t.columns()) {
            b.append(' ').append(esc(c.flatLabel())).append(" |");
            align.append(c.numeric() ? " ---: |" : " --- |");
        }
        b.append('\n').append(align).append('\n');
        for (List<Cell> row : t.rows()) {
            b.append('|');
            for (Cell c : row) {
                String text = c.text() == null ? "–" : esc(c.text());
                if (c.bold() && c.text() != null) text = "**" + text + "**";
                if (c.flagged()) text += " †";
                b.append(' ').append(text).append(" |");
            }
            b.append('\n');
        }
        b.append('\n');
        if (t.note() != null && !t.note().isBlank()) b.append('*').append(esc(t.note())).append("*\n\n");
    }

    /** Paths as Markdown link targets: spaces and parentheses would end the link early. */
    private static String link(String path) {
        return path.replace("%", "%25").replace(" ", "%20").replace("(", "%28").replace(")", "%29");
    }

    /**
     * Escapes what Markdown would read as markup: a defense called "trades_awp" or a budget with
     * "*" must print as written, and '|' would split a table cell.
     */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ("\\`*_[]<>|#".indexOf(c) >= 0) b.append('\\');
            if (c == '\n' || c == '\r') b.append(' ');
            else b.append(c);
        }
        return b.toString();
    }

    private static int longestRun(String s, char c) {
        int best = 0, run = 0;
        for (int i = 0; i < s.length(); i++) {
            run = s.charAt(i) == c ? run + 1 : 0;
            best = Math.max(best, run);
        }
        return best;
    }
}
