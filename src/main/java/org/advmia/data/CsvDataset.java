package org.advmia.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * Image files listed in a CSV with a header row. Columns: the image path (a column named image,
 * path, file, filename or image_path, else the first), relative to root= (default: the CSV's
 * folder); an optional split column (train / val / test); then either one label column (label,
 * class or target: integer class indices, or class names, which are numbered in sorted order)
 * or, for multi-label data, one 0/1 column per class (named in the header, e.g. ChestX-ray14's
 * 14 findings). Without a split column, rows are split by {@link Splits} (val=0.1, test=0.2,
 * seed=0). Images are decoded by OpenCV, the shorter side resized to resize= (default size=,
 * default 224), and the centre size x size cropped; channels=1 reads grey, 3 (default) RGB.
 */
public final class CsvDataset implements Dataset {
    static final List<String> KEYS = List.of("root", "size", "resize", "channels", "classes", "val", "test", "seed");
    private static final List<String> IMAGE_COLS = List.of("image", "path", "file", "filename", "image_path");
    private static final List<String> LABEL_COLS = List.of("label", "class", "target");

    private record Row(Path image, int line, float[] label) {}

    private final Path csv;
    private final DatasetInfo info;
    private final int resize;
    private final Map<Split, List<Row>> rows;

    public static CsvDataset open(Path csv, SpecQuery q) {
        return new CsvDataset(csv, q);
    }

    private CsvDataset(Path csv, SpecQuery q) {
        this.csv = csv;
        double valFraction = q.fraction("val", 0.1), testFraction = q.fraction("test", 0.2);
        long splitSeed = q.seed("seed", 0);
        int size = q.integer("size", 224, 8, 4096);
        this.resize = q.integer("resize", size, size, 8192);
        int channels = q.integer("channels", 3, 1, 3);
        if (channels == 2) throw new IllegalArgumentException(csv + ": channels must be 1 or 3");
        int fixedClasses = q.has("classes") ? q.integer("classes", 0, 2, 1 << 20) : -1;
        if (!Files.isRegularFile(csv)) throw new IllegalArgumentException(csv + ": no such CSV file");
        Path root = q.has("root") ? Path.of(q.string("root", ".")) : csv.toAbsolutePath().getParent();
        if (!Files.isDirectory(root)) throw new IllegalArgumentException(csv + ": image root " + root + " is not a directory");
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(csv + ": " + e.getMessage(), e);
        }
        if (lines.isEmpty()) throw new IllegalArgumentException(csv + ": empty file (expected a header row)");
        String[] header = parseLine(lines.get(0).replace("\uFEFF", ""), 1);
        int imageCol = 0, splitCol = -1, labelCol = -1;
        for (int c = 0; c < header.length; c++) {
            String h = header[c].trim().toLowerCase(Locale.ROOT);
            if (IMAGE_COLS.contains(h)) imageCol = c;
            else if (h.equals("split")) splitCol = c;
            else if (LABEL_COLS.contains(h) && labelCol < 0) labelCol = c;
        }
        List<Integer> targetCols = new ArrayList<>();
        if (labelCol >= 0) {
            targetCols.add(labelCol);
        } else {
            for (int c = 0; c < header.length; c++) if (c != imageCol && c != splitCol) targetCols.add(c);
            if (targetCols.size() < 2) {
                throw new IllegalArgumentException(csv + " line 1: no label column (name one label, class or target) "
                        + "and fewer than 2 multi-label columns in header " + Arrays.toString(header));
            }
        }
        boolean multi = labelCol < 0;
        List<String[]> fields = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) throw new IllegalArgumentException(csv + " line " + (i + 1) + ": empty row");
            String[] f = parseLine(line, i + 1);
            if (f.length != header.length) {
                throw new IllegalArgumentException(csv + " line " + (i + 1) + ": " + f.length + " fields, the header has "
                        + header.length);
            }
            if (f[imageCol].isBlank()) throw new IllegalArgumentException(csv + " line " + (i + 1) + ": empty image path");
            fields.add(f);
        }
        if (fields.isEmpty()) throw new IllegalArgumentException(csv + ": no data rows after the header");

        // Labels: 0/1 columns, integer indices, or names numbered in sorted order.
        List<String> names;
        boolean byName = false;
        if (multi) {
            names = new ArrayList<>();
            for (int c : targetCols) names.add(header[c].trim());
        } else {
            TreeSet<String> distinct = new TreeSet<>();
            for (String[] f : fields) {
                String v = f[labelCol].trim();
                if (!v.matches("-?\\d+")) byName = true;
                distinct.add(v);
            }
            if (byName) {
                names = new ArrayList<>(distinct);
            } else {
                int max = 0;
                for (String[] f : fields) max = Math.max(max, Integer.parseInt(f[labelCol].trim()));
                names = DatasetInfo.numberedClasses(fixedClasses > 0 ? fixedClasses : Math.max(2, max + 1));
            }
        }
        if (fixedClasses > 0 && (multi || byName) && fixedClasses != names.size()) {
            throw new IllegalArgumentException(csv + ": classes=" + fixedClasses + " but the labels name " + names.size()
                    + " classes " + names);
        }
        Split[] assigned = new Split[fields.size()];
        if (splitCol < 0) {
            assigned = Splits.assign(fields.size(), valFraction, testFraction, splitSeed);
        }
        List<Row> all = new ArrayList<>();
        for (int r = 0; r < fields.size(); r++) {
            String[] f = fields.get(r);
            int line = r + 2;
            String where = csv + " line " + line;
            if (splitCol >= 0) {
                try {
                    assigned[r] = Split.parse(f[splitCol]);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + ": " + e.getMessage());
                }
            }
            float[] label = new float[multi ? targetCols.size() : 1];
            if (multi) {
                for (int k = 0; k < label.length; k++) {
                    String v = f[targetCols.get(k)].trim();
                    if (v.equals("1") || v.equals("1.0")) label[k] = 1;
                    else if (!v.equals("0") && !v.equals("0.0")) {
                        throw new IllegalArgumentException(where + ": column '" + header[targetCols.get(k)] + "' is '" + v
                                + "', expected 0 or 1");
                    }
                }
            } else if (byName) {
                label[0] = names.indexOf(f[labelCol].trim());
            } else {
                int v = Integer.parseInt(f[labelCol].trim());
                if (v < 0 || v >= names.size()) {
                    throw new IllegalArgumentException(where + ": label " + v + " is out of range [0, " + names.size() + ")");
                }
                label[0] = v;
            }
            Path image = root.resolve(f[imageCol].trim());
            if (!Files.isRegularFile(image)) throw new IllegalArgumentException(where + ": image " + image + " does not exist");
            all.add(new Row(image, line, label));
        }
        rows = new java.util.EnumMap<>(Split.class);
        Splits.group(assigned).forEach((s, idx) -> rows.put(s, idx.stream().map(all::get).toList()));
        String name = csv.getFileName().toString().replaceFirst("\\.csv$", "");
        info = new DatasetInfo(name, multi ? Task.MULTILABEL : Task.CLASSIFICATION, channels, size, size, names.size(), names);
    }

    /** Splits one CSV line; double quotes may enclose fields ("" inside is a quote). */
    private String[] parseLine(String line, int lineNo) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    cur.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(cur.toString());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        if (quoted) throw new IllegalArgumentException(csv + " line " + lineNo + ": unterminated quoted field");
        out.add(cur.toString());
        return out.toArray(new String[0]);
    }

    @Override
    public DatasetInfo info() {
        return info;
    }

    @Override
    public int size(Split split) {
        return rows.get(split).size();
    }

    @Override
    public Sample get(Split split, int index) {
        checkIndex(split, index);
        Row r = rows.get(split).get(index);
        String context = " (" + csv + " line " + r.line + ")";
        try (Mat m = ImageCodec.decode(r.image, info.channels() == 1 ? ImageCodec.GREY : ImageCodec.COLOR, context);
             Mat out = ImageCodec.resizeCrop(m, resize, info.height(), false)) {
            return new Sample(ImageCodec.toChw(out), r.label.clone());
        }
    }

    @Override
    public float[] label(Split split, int index) {
        checkIndex(split, index);
        return rows.get(split).get(index).label.clone();
    }
}
