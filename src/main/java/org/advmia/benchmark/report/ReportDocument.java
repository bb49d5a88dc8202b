package org.advmia.benchmark.report;

import java.util.List;

/**
 * The report's content, independent of output format. The Markdown, LaTeX and HTML renderers
 * walk the same blocks, so the three files cannot disagree on a number or a table.
 */
record ReportDocument(String title, String subtitle, List<Block> blocks) {
    ReportDocument {
        blocks = List.copyOf(blocks);
    }

    sealed interface Block permits Heading, Paragraph, Bullets, Stats, Table, Image, Code {}

    /** level 2 starts a top-level section; anchor is unique within the document. */
    record Heading(int level, String text, String anchor) implements Block {}

    record Paragraph(String text) implements Block {}

    /** warning: the items are problems the reader should look at (rendered highlighted). */
    record Bullets(List<String> items, boolean warning) implements Block {
        Bullets {
            items = List.copyOf(items);
        }
    }

    /** Headline numbers: cards in HTML, a list elsewhere. */
    record Stats(List<Stat> items) implements Block {
        Stats {
            items = List.copyOf(items);
        }
    }

    record Stat(String label, String value) {}

    /**
     * file is relative to the results folder with '/' separators. inlineSvg is the plot's markup
     * without an XML namespace declaration (HTML's parser supplies it), or null for a figure the
     * benchmark wrote, which the HTML renderer reads from disk and inlines as a data URI.
     */
    record Image(String kind, String title, String caption, String file, String inlineSvg) implements Block {}

    record Code(String text) implements Block {}

    /**
     * A table. A cell with null text is a missing value. bold marks the best defense in its
     * column; flagged marks a cell whose evaluation raised warnings (listed in the Warnings
     * section). note explains the table, under it.
     */
    record Table(String anchor, String title, String note, List<Column> columns, List<List<Cell>> rows) implements Block {
        Table {
            columns = List.copyOf(columns);
            rows = rows.stream().map(List::copyOf).toList();
            for (List<Cell> row : rows) {
                if (row.size() != columns.size()) {
                    throw new IllegalArgumentException(title + ": a row has " + row.size() + " cells for " + columns.size() + " columns");
                }
            }
        }

        boolean grouped() {
            return columns.stream().anyMatch(c -> c.group() != null);
        }
    }

    /**
     * group is the upper header line shared by adjacent columns ("PGD" over "2/255", "8/255"),
     * or null. numeric columns are right-aligned.
     */
    record Column(String group, String label, boolean numeric) {
        String flatLabel() {
            return group == null ? label : group + " " + label;
        }
    }

    record Cell(String text, boolean bold, boolean flagged) {
        static Cell of(String text) {
            return new Cell(text, false, false);
        }
    }
}
