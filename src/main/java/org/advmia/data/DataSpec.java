package org.advmia.data;

import java.nio.file.Path;
import java.util.List;

/**
 * Opens a dataset from a spec string; every command that takes data accepts these:
 * <pre>
 *   synthetic:NAME[?key=value&amp;...]   procedural lesions, no download (NAME = lesions | lesion-seg)
 *   medmnist:PATH.npz                   MedMNIST v2 / MedMNIST+ archive (or one exported by advmia)
 *   csv:PATH.csv?root=DIR&amp;size=N       image files listed with their labels
 *   seg:DIR                             ISIC-style image and mask folders
 *   idx:DIR                             MNIST / Fashion-MNIST IDX files (gzipped or not)
 * </pre>
 * docs/DATA.md describes each kind's keys and rules.
 */
public final class DataSpec {
    private DataSpec() {}

    public static final List<String> KINDS = List.of("synthetic", "medmnist", "csv", "seg", "idx");

    public static Dataset open(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty data spec; " + usage());
        int colon = spec.indexOf(':');
        if (colon <= 0) throw new IllegalArgumentException("data spec '" + spec + "' has no kind; " + usage());
        String kind = spec.substring(0, colon).trim();
        String rest = spec.substring(colon + 1);
        int q = rest.indexOf('?');
        String target = q < 0 ? rest : rest.substring(0, q);
        String query = q < 0 ? "" : rest.substring(q + 1);
        if (target.isBlank()) throw new IllegalArgumentException("data spec '" + spec + "' names no " + what(kind));
        return switch (kind) {
            case "synthetic" -> SyntheticLesions.open(spec, target, new SpecQuery(spec, query, SyntheticLesions.KEYS));
            case "medmnist" -> MedMnistDataset.open(Path.of(target), new SpecQuery(spec, query, MedMnistDataset.KEYS));
            case "csv" -> CsvDataset.open(Path.of(target), new SpecQuery(spec, query, CsvDataset.KEYS));
            case "seg" -> SegmentationDataset.open(Path.of(target), new SpecQuery(spec, query, SegmentationDataset.KEYS));
            case "idx" -> IdxDataset.open(Path.of(target), new SpecQuery(spec, query, IdxDataset.KEYS));
            default -> throw new IllegalArgumentException("data spec '" + spec + "': unknown kind '" + kind + "'; " + usage());
        };
    }

    private static String what(String kind) {
        return switch (kind) {
            case "synthetic" -> "generator";
            case "seg", "idx" -> "directory";
            default -> "file";
        };
    }

    public static String usage() {
        return "valid kinds: synthetic:NAME[?key=value&...] (NAME = " + String.join(" | ", SyntheticLesions.NAMES)
                + "), medmnist:PATH.npz, csv:PATH.csv?root=DIR&size=N, seg:DIR, idx:DIR";
    }
}
