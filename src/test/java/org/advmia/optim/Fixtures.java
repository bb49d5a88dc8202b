package org.advmia.optim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.advmia.util.Json;

/** Reads src/test/resources/fixtures/optim.json, made by scripts/make_optim_fixtures.py from torch 1.13. */
final class Fixtures {
    static final Path FILE = Path.of("src/test/resources/fixtures/optim.json");

    private Fixtures() {}

    @SuppressWarnings("unchecked")
    static Map<String, Object> load() throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(FILE), FILE.toString());
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        return (List<Map<String, Object>>) m.get(key);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    static double num(Map<String, Object> m, String key, double fallback) {
        Object v = m.get(key);
        return v == null ? fallback : ((Number) v).doubleValue();
    }

    static double num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        if (!(v instanceof Number n)) throw new IllegalArgumentException(FILE + ": missing number '" + key + "' in " + m);
        return n.doubleValue();
    }

    static double[] doubles(Object list) {
        List<?> l = (List<?>) list;
        double[] out = new double[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).doubleValue();
        return out;
    }

    /**
     * max|actual - expected| / max|expected|: scale-aware, so values that pass through zero (a
     * rate annealed to 0, a parameter crossing 0) are judged against the vector's magnitude.
     */
    static double relativeError(double[] expected, double[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length " + actual.length + ", expected " + expected.length);
        }
        double maxRef = 0, maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
        }
        return maxErr / Math.max(maxRef, Double.MIN_NORMAL);
    }
}
