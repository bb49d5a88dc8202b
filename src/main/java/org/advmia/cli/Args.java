package org.advmia.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strict --flag parsing: every flag must be known to the command, values are checked with
 * errors that name the flag and what was expected, and boolean flags may stand alone.
 */
final class Args {
    private final String command;
    private final Map<String, String> values = new LinkedHashMap<>();

    private Args(String command) {
        this.command = command;
    }

    /** valueFlags take a value; switches may stand alone or take true/false. */
    static Args parse(String command, String[] argv, Set<String> valueFlags, Set<String> switches) {
        Args a = new Args(command);
        for (int i = 0; i < argv.length; i++) {
            String f = argv[i];
            String v = null;
            int eq = f.indexOf('=');
            if (f.startsWith("--") && eq > 0) {
                v = f.substring(eq + 1);
                f = f.substring(0, eq);
            }
            if (valueFlags.contains(f)) {
                if (v == null) {
                    if (i + 1 >= argv.length) throw new IllegalArgumentException(f + " needs a value");
                    v = argv[++i];
                }
            } else if (switches.contains(f)) {
                if (v == null && i + 1 < argv.length && (argv[i + 1].equals("true") || argv[i + 1].equals("false"))) {
                    v = argv[++i];
                }
                if (v == null) v = "true";
                if (!v.equals("true") && !v.equals("false")) throw new IllegalArgumentException(f + " takes true or false, got '" + v + "'");
            } else {
                java.util.TreeSet<String> all = new java.util.TreeSet<>(valueFlags);
                all.addAll(switches);
                throw new IllegalArgumentException("unknown option '" + f + "' for " + command + ". Valid options: "
                        + String.join(" ", all));
            }
            if (a.values.containsKey(f)) throw new IllegalArgumentException(f + " given twice");
            a.values.put(f, v);
        }
        return a;
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    String require(String flag) {
        String v = values.get(flag);
        if (v == null) throw new IllegalArgumentException(command + " needs " + flag);
        return v;
    }

    String get(String flag, String dflt) {
        return values.getOrDefault(flag, dflt);
    }

    boolean flag(String flag) {
        return "true".equals(values.get(flag));
    }

    Integer intOrNull(String flag, int min) {
        String v = values.get(flag);
        if (v == null) return null;
        try {
            int x = Integer.parseInt(v.trim());
            if (x < min) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + v + "': expected an integer >= " + min);
        }
    }

    int intValue(String flag, int dflt, int min) {
        Integer v = intOrNull(flag, min);
        return v == null ? dflt : v;
    }

    Long longOrNull(String flag) {
        String v = values.get(flag);
        if (v == null) return null;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + v + "': expected an integer");
        }
    }

    Double doubleOrNull(String flag) {
        String v = values.get(flag);
        if (v == null) return null;
        try {
            int slash = v.indexOf('/');
            double x = slash < 0 ? Double.parseDouble(v) : Double.parseDouble(v.substring(0, slash))
                    / Double.parseDouble(v.substring(slash + 1));
            if (!Double.isFinite(x)) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + v + "': expected a number such as 0.01 or 2/255");
        }
    }

    Boolean boolOrNull(String flag) {
        String v = values.get(flag);
        return v == null ? null : Boolean.valueOf(v);
    }

    static boolean wantsHelp(String[] argv) {
        return List.of(argv).contains("--help") || List.of(argv).contains("-h");
    }
}
