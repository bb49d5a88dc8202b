package org.advmia.benchmark.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

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
 * One self-contained HTML file: inline CSS, plots as inline SVG, the benchmark's figures as data
 * URIs. Nothing refers to another file or to the network, so the report can be mailed or
 * archived alone and opens offline.
 */
final class HtmlRenderer {
    private HtmlRenderer() {}

    private static final String CSS = """
            :root { --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --head: #f3f5f7; --best: #dff3e4; --accent: #0f3d66; }
            * { box-sizing: border-box; }
            body { margin: 0; background: #eef1f4; color: var(--fg);
                   font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
            header { background: var(--accent); color: #fff; padding: 28px 48px 22px; }
            header h1 { margin: 0 0 4px; font-size: 28px; font-weight: 650; letter-spacing: .2px; }
            header p { margin: 0; opacity: .85; }
            .page { max-width: 1240px; margin: 0 auto; padding: 0 24px 64px; }
            nav { background: #fff; margin: 20px 0; padding: 14px 24px; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
            nav > ul { margin: 0; padding: 0; list-style: none; columns: 3 260px; }
            nav li { margin: 2px 0; break-inside: avoid; }
            nav ul ul { margin: 0; padding: 0 0 0 16px; list-style: none; }
            nav li.sub { font-size: 13px; }
            nav a, a { color: #0b5cad; text-decoration: none; }
            nav a:hover { text-decoration: underline; }
            main { background: #fff; padding: 8px 40px 40px; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
            h2 { font-size: 22px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
            h3 { font-size: 17px; margin: 28px 0 10px; color: var(--accent); }
            .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; margin: 12px 0; }
            .stat { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fafbfc; }
            .stat .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
            .stat .value { font-size: 18px; font-weight: 600; }
            .table { margin: 14px 0 22px; }
            .table .title { font-weight: 600; margin-bottom: 6px; }
            .scroll { overflow-x: auto; }
            table { border-collapse: collapse; font-size: 14px; font-variant-numeric: tabular-nums; }
            th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); white-space: nowrap; }
            thead th { background: var(--head); font-weight: 600; text-align: left; }
            thead th.num { text-align: right; }
            thead th.group { text-align: center; border-bottom: 1px solid #9aa4ae; }
            thead tr:last-child th { border-bottom: 2px solid #9aa4ae; }
            td.num { text-align: right; }
            td.na { color: #9aa4ae; }
            td.best { background: var(--best); font-weight: 700; }
            tbody tr:nth-child(even) td:not(.best) { background: #fafbfc; }
            tbody tr:hover td { background: #eef5fc; }
            td.text-wrap { white-space: normal; min-width: 240px; }
            .flag { color: #b35900; font-weight: 700; margin-left: 2px; }
            .note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
            .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(500px, 1fr)); gap: 18px; margin: 14px 0 8px; }
            figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px; background: #fff; }
            figure svg, figure img { display: block; width: 100%; height: auto; }
            /* Enlarged images keep hard pixel edges: smoothing would hide the perturbation being shown. */
            figure img { image-rendering: pixelated; }
            figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; }
            figcaption b { color: var(--fg); }
            ul.warnings { padding-left: 0; list-style: none; }
            ul.warnings li { background: #fff8e6; border-left: 4px solid #e0a100; padding: 6px 10px; margin: 6px 0; border-radius: 4px; }
            .missing { color: #b00020; }
            pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto; font-size: 13px; }
            footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 18px; }
            @media print { body { background: #fff; } nav { display: none; } main { box-shadow: none; padding: 0; } .figures { display: block; } figure { break-inside: avoid; margin-bottom: 12px; } }
            """;

    static String render(ReportDocument doc, Path outDir) throws IOException {
        StringBuilder b = new StringBuilder(1 << 16);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        b.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        b.append("<title>").append(esc(doc.title())).append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        b.append("<header>\n<h1>").append(esc(doc.title())).append("</h1>\n<p>").append(esc(doc.subtitle())).append("</p>\n</header>\n");
        b.append("<div class=\"page\">\n");
        toc(doc, b);
        b.append("<main>\n");
        List<Image> pendingImages = new ArrayList<>();
        for (Block block : doc.blocks()) {
            if (block instanceof Image i) {
                pendingImages.add(i);
                continue;
            }
            flushImages(pendingImages, outDir, b);
            if (block instanceof Heading h) {
                int level = Math.max(2, Math.min(6, h.level()));
                b.append("<h").append(level).append(" id=\"").append(esc(h.anchor())).append("\">").append(esc(h.text()))
                        .append("</h").append(level).append(">\n");
            } else if (block instanceof Paragraph p) {
                b.append("<p>").append(esc(p.text())).append("</p>\n");
            } else if (block instanceof Bullets l) {
                b.append(l.warning() ? "<ul class=\"warnings\">\n" : "<ul>\n");
                for (String item : l.items()) b.append("<li>").append(esc(item)).append("</li>\n");
                b.append("</ul>\n");
            } else if (block instanceof Stats s) {
                b.append("<div class=\"stats\">\n");
                for (Stat st : s.items()) {
                    b.append("<div class=\"stat\"><div class=\"label\">").append(esc(st.label())).append("</div><div class=\"value\">")
                            .append(esc(st.value())).append("</div></div>\n");
                }
                b.append("</div>\n");
            } else if (block instanceof Table t) {
                table(t, b);
            } else if (block instanceof Code c) {
                b.append("<pre><code>").append(esc(c.text())).append("</code></pre>\n");
            }
        }
        flushImages(pendingImages, outDir, b);
        b.append("</main>\n<footer>Written by advmia's benchmark report; this file is self-contained and opens offline.</footer>\n");
        b.append("</div>\n</body>\n</html>\n");
        return b.toString();
    }

    /** Sections with their subsections nested, so a column break never separates them. */
    private static void toc(ReportDocument doc, StringBuilder b) {
        b.append("<nav>\n<ul>\n");
        boolean inSection = false, inSub = false;
        for (Block block : doc.blocks()) {
            if (!(block instanceof Heading h) || h.level() > 3) continue;
            String link = "<a href=\"#" + esc(h.anchor()) + "\">" + esc(h.text()) + "</a>";
            if (h.level() <= 2 || !inSection) {
                if (inSub) b.append("</ul>");
                if (inSection) b.append("</li>\n");
                b.append("<li>").append(link);
                inSection = true;
                inSub = false;
            } else {
                if (!inSub) b.append("\n<ul>\n");
                b.append("<li class=\"sub\">").append(link).append("</li>\n");
                inSub = true;
            }
        }
        if (inSub) b.append("</ul>");
        if (inSection) b.append("</li>\n");
        b.append("</ul>\n</nav>\n");
    }

    private static void table(Table t, StringBuilder b) {
        b.append("<div class=\"table\" id=\"").append(esc(t.anchor())).append("\">\n<div class=\"title\">").append(esc(t.title()))
                .append("</div>\n<div class=\"scroll\">\n<table>\n<thead>\n");
        List<Column> cols = t.columns();
        if (t.grouped()) {
            // Upper line: groups span their columns; ungrouped headers span both lines.
            b.append("<tr>");
            for (int k = 0; k < cols.size(); ) {
                Column c = cols.get(k);
                int end = k;
                while (end + 1 < cols.size() && c.group() != null && c.group().equals(cols.get(end + 1).group())) end++;
                if (c.group() == null) {
                    b.append("<th rowspan=\"2\"").append(c.numeric() ? " class=\"num\"" : "").append('>').append(esc(c.label())).append("</th>");
                } else {
                    b.append("<th class=\"group\" colspan=\"").append(end - k + 1).append("\">").append(esc(c.group())).append("</th>");
                }
                k = end + 1;
            }
            b.append("</tr>\n<tr>");
            for (Column c : cols) {
                if (c.group() != null) b.append("<th class=\"num\">").append(esc(c.label())).append("</th>");
            }
            b.append("</tr>\n");
        } else {
            b.append("<tr>");
            for (Column c : cols) b.append("<th").append(c.numeric() ? " class=\"num\"" : "").append('>').append(esc(c.label())).append("</th>");
            b.append("</tr>\n");
        }
        b.append("</thead>\n<tbody>\n");
        for (List<Cell> row : t.rows()) {
            b.append("<tr>");
            for (int k = 0; k < row.size(); k++) {
                Cell c = row.get(k);
                boolean numeric = cols.get(k).numeric();
                if (c.text() == null) {
                    b.append(numeric ? "<td class=\"num na\">–" : "<td class=\"na\">–");
                } else {
                    List<String> classes = new ArrayList<>();
                    if (numeric) classes.add("num");
                    if (c.bold()) classes.add("best");
                    // Long free text (budgets, environment values) wraps instead of widening the page.
                    if (!numeric && c.text().length() > 60) classes.add("text-wrap");
                    b.append("<td").append(classes.isEmpty() ? "" : " class=\"" + String.join(" ", classes) + "\"").append('>');
                    b.append(esc(c.text()));
                }
                if (c.flagged()) b.append("<span class=\"flag\" title=\"this evaluation raised warnings\">†</span>");
                b.append("</td>");
            }
            b.append("</tr>\n");
        }
        b.append("</tbody>\n</table>\n</div>\n");
        if (t.note() != null && !t.note().isBlank()) b.append("<p class=\"note\">").append(esc(t.note())).append("</p>\n");
        b.append("</div>\n");
    }

    private static void flushImages(List<Image> images, Path outDir, StringBuilder b) throws IOException {
        if (images.isEmpty()) return;
        b.append("<div class=\"figures\">\n");
        for (Image i : images) {
            b.append("<figure>\n");
            if (i.inlineSvg() != null) {
                b.append(i.inlineSvg());
            } else {
                Path file = outDir.resolve(i.file());
                String mime = mimeType(i.file());
                if (!Files.isRegularFile(file)) {
                    b.append("<p class=\"missing\">Missing figure file: ").append(esc(i.file())).append("</p>\n");
                } else if (mime == null) {
                    b.append("<p class=\"missing\">Not embeddable (unknown image type): ").append(esc(i.file())).append("</p>\n");
                } else {
                    b.append("<img alt=\"").append(esc(i.title())).append("\" src=\"data:").append(mime).append(";base64,")
                            .append(Base64.getEncoder().encodeToString(Files.readAllBytes(file))).append("\">\n");
                }
            }
            b.append("<figcaption><b>").append(esc(i.title())).append("</b>");
            if (i.caption() != null && !i.caption().isBlank()) b.append(" ").append(esc(i.caption()));
            b.append(" <span class=\"file\">(").append(esc(i.file())).append(")</span></figcaption>\n</figure>\n");
        }
        b.append("</div>\n");
        images.clear();
    }

    // A foreign SVG goes in as a data URI, not inline: as an image it cannot run script or fetch anything.
    private static String mimeType(String file) {
        String f = file.toLowerCase(Locale.ROOT);
        if (f.endsWith(".png")) return "image/png";
        if (f.endsWith(".jpg") || f.endsWith(".jpeg")) return "image/jpeg";
        if (f.endsWith(".gif")) return "image/gif";
        if (f.endsWith(".webp")) return "image/webp";
        if (f.endsWith(".svg")) return "image/svg+xml";
        return null;
    }

    /**
     * HTML-escapes text. "://" is written with an entity for '/', which displays the same: a URL
     * quoted in the results (an environment value, say) is shown, never fetched, and a plain
     * search for "http://" in the file stays a reliable check that nothing external is referenced.
     */
    static String esc(String s) {
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                case '/' -> b.append(i > 0 && s.charAt(i - 1) == ':' ? "&#47;" : "/");
                default -> b.append(c);
            }
        }
        return b.toString();
    }
}
