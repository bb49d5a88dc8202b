package org.advmia.data;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code ?key=value&...} part of a data spec. Every dataset kind declares the keys it
 * understands; an unknown or malformed key is an error that lists the valid ones.
 */
public final class SpecQuery {
    private final String spec;
    private final Map<String, String> values = new LinkedHashMap<>();

    SpecQuery(String spec, String query, List<String> allowed) {
        this.spec = spec;
        if (query == null || query.isEmpty()) return;
        for (String part : query.split("&")) {
            if (part.isEmpty()) continue;
            int eq = part.indexOf('=');
            if (eq <= 0) throw error("'" + part + "' is not key=value");
            String key = part.substring(0, eq).trim(), value = part.substring(eq + 1).trim();
            if (!allowed.contains(key)) throw error("unknown key '" + key + "'; valid keys: " + String.join(", ", allowed));
            if (values.put(key, value) != null) throw error("key '" + key + "' given twice");
        }
    }

    private IllegalArgumentException error(String msg) {
        return new IllegalArgumentException("data spec '" + spec + "': " + msg);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public String string(String key, String fallback) {
        return values.getOrDefault(key, fallback);
    }

    public int integer(String key, int fallback, int min, int max) {
        String v = values.get(key);
        if (v == null) return fallback;
        int x;
        try {
            x = Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw error(key + "=" + v + " is not an integer");
        }
        if (x < min || x > max) throw error(key + "=" + v + " is outside [" + min + ", " + max + "]");
        return x;
    }

    public long seed(String key, long fallback) {
        String v = values.get(key);
        if (v == null) return fallback;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw error(key + "=" + v + " is not an integer");
        }
    }

    public double fraction(String key, double fallback) {
        String v = values.get(key);
        if (v == null) return fallback;
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw error(key + "=" + v + " is not a number");
        }
        if (!(x >= 0 && x < 1)) throw error(key + "=" + v + " is not a fraction in [0, 1)");
        return x;
    }

    /** A comma-separated list of integers (e.g. values=0,128,255). */
    public int[] integers(String key) {
        String v = values.get(key);
        if (v == null) return null;
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw error(key + "=" + v + ": '" + parts[i] + "' is not an integer");
            }
        }
        return out;
    }
}
