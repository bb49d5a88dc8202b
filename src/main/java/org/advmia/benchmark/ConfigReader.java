package org.advmia.benchmark;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.advmia.attack.ThreatModel;

/**
 * Strict access to a parsed YAML/JSON tree. Every error names the config source and the path
 * inside it ("bench.yaml: attacks[2].steps: expected an integer >= 1, got 'x'"), and unknown keys
 * are errors: a typo must not silently fall back to a default.
 */
final class ConfigReader {
    private final String source;
    private final String path;
    private final Map<String, Object> map;

    private ConfigReader(String source, String path, Map<String, Object> map) {
        this.source = source;
        this.path = path;
        this.map = map;
    }

    static ConfigReader root(String source, Object tree) {
        if (!(tree instanceof Map<?, ?>)) {
            throw new IllegalArgumentException(source + ": the config must be a mapping (YAML) or object (JSON) at the top level");
        }
        return new ConfigReader(source, "", asStringMap(source, "", tree));
    }

    private static Map<String, Object> asStringMap(String source, String path, Object tree) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) tree).entrySet()) m.put(String.valueOf(e.getKey()), e.getValue());
        return m;
    }

    String where(String key) {
        return source + ": " + (path.isEmpty() ? key : path + "." + key);
    }

    IllegalArgumentException error(String key, String msg) {
        return new IllegalArgumentException(where(key) + ": " + msg);
    }

    /** Rejects keys outside allowed, listing the valid ones. */
    void allowOnly(Set<String> allowed) {
        for (String k : map.keySet()) {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException(where(k) + ": unknown key; valid keys here: "
                        + String.join(", ", new java.util.TreeSet<>(allowed)));
            }
        }
    }

    boolean has(String key) {
        return map.containsKey(key) && map.get(key) != null;
    }

    Object raw(String key) {
        return map.get(key);
    }

    String string(String key, String dflt) {
        if (!has(key)) {
            if (dflt == null) throw error(key, "is required");
            return dflt;
        }
        Object v = map.get(key);
        if (v instanceof Map || v instanceof List) throw error(key, "expected a text value, got " + v);
        return String.valueOf(v);
    }

    int integer(String key, int dflt, int min) {
        if (!has(key)) return dflt;
        Object v = map.get(key);
        long n;
        if (v instanceof Number num && num.doubleValue() == Math.rint(num.doubleValue())) {
            n = num.longValue();
        } else {
            try {
                n = Long.parseLong(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                throw error(key, "expected an integer >= " + min + ", got '" + v + "'");
            }
        }
        if (n < min || n > Integer.MAX_VALUE) throw error(key, "expected an integer >= " + min + ", got " + n);
        return (int) n;
    }

    double number(String key, double dflt, double min) {
        if (!has(key)) return dflt;
        Object v = map.get(key);
        double d;
        if (v instanceof Number num) {
            d = num.doubleValue();
        } else {
            try {
                d = Double.parseDouble(String.valueOf(v).trim());
            } catch (NumberFormatException e) {
                throw error(key, "expected a number >= " + min + ", got '" + v + "'");
            }
        }
        if (!(d >= min) || Double.isInfinite(d)) throw error(key, "expected a finite number >= " + min + ", got " + d);
        return d;
    }

    /** An ε: a number or "8/255". */
    double eps(String key, double dflt) {
        if (!has(key)) return dflt;
        return parseEps(map.get(key), where(key));
    }

    static double parseEps(Object v, String where) {
        if (v instanceof Number n) {
            double d = n.doubleValue();
            if (!(d >= 0) || Double.isInfinite(d)) throw new IllegalArgumentException(where + ": eps must be >= 0, got " + d);
            return d;
        }
        return ThreatModel.parseEps(String.valueOf(v), where);
    }

    boolean bool(String key, boolean dflt) {
        if (!has(key)) return dflt;
        Object v = map.get(key);
        if (v instanceof Boolean b) return b;
        String s = String.valueOf(v).trim().toLowerCase();
        if (s.equals("true") || s.equals("yes")) return true;
        if (s.equals("false") || s.equals("no")) return false;
        throw error(key, "expected true or false, got '" + v + "'");
    }

    /** A list; a single scalar or mapping counts as a list of one. */
    List<Object> list(String key) {
        if (!has(key)) return List.of();
        Object v = map.get(key);
        if (v instanceof List<?> l) return new ArrayList<>(l);
        return List.of(v);
    }

    String path(String key, int index) {
        return (path.isEmpty() ? key : path + "." + key) + "[" + index + "]";
    }

    /** A list element that may be a bare name or a mapping with a "name" key. */
    ConfigReader element(String key, int index, Object item) {
        String p = path(key, index);
        if (item instanceof Map<?, ?>) return new ConfigReader(source, p, asStringMap(source, p, item));
        if (item instanceof List<?> || item == null) {
            throw new IllegalArgumentException(source + ": " + p + ": expected a name or a mapping with 'name', got " + item);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", String.valueOf(item));
        return new ConfigReader(source, p, m);
    }

    ConfigReader child(String key) {
        if (!has(key)) return new ConfigReader(source, path.isEmpty() ? key : path + "." + key, new LinkedHashMap<>());
        Object v = map.get(key);
        if (!(v instanceof Map<?, ?>)) throw error(key, "expected a mapping, got " + v);
        String p = path.isEmpty() ? key : path + "." + key;
        return new ConfigReader(source, p, asStringMap(source, p, v));
    }

    /** The values that are not the name, in key order: what identifies a configured entry. */
    Map<String, Object> parameters() {
        Map<String, Object> m = new LinkedHashMap<>(map);
        m.remove("name");
        return m;
    }
}
