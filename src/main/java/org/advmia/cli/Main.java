package org.advmia.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/** The `advmia` command line. Exit codes: 0 success, 1 runtime failure, 2 usage error. */
public final class Main {
    public static final int OK = 0;
    public static final int FAILURE = 1;
    public static final int USAGE = 2;

    interface Command {
        String summary();

        int run(String[] args, PrintStream out, PrintStream err) throws Exception;
    }

    static Map<String, Command> commands() {
        Map<String, Command> m = new LinkedHashMap<>();
        m.put("benchmark", new BenchmarkCommand());
        m.put("attack", new AttackCommand());
        m.put("train", new TrainCommand());
        m.put("info", new InfoCommand());
        return m;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        Map<String, Command> cmds = commands();
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            printHelp(cmds, args.length == 0 ? err : out);
            return args.length == 0 ? USAGE : OK;
        }
        Command c = cmds.get(args[0]);
        if (c == null) {
            err.println("advmia: unknown command '" + args[0] + "'. Valid commands: " + String.join(", ", cmds.keySet()));
            return USAGE;
        }
        try {
            return c.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        } catch (IllegalArgumentException e) {
            err.println("advmia " + args[0] + ": " + e.getMessage());
            return USAGE;
        } catch (Exception e) {
            err.println("advmia " + args[0] + ": " + e);
            return FAILURE;
        }
    }

    private static void printHelp(Map<String, Command> cmds, PrintStream out) {
        out.println("advmia: adversarial attacks and defenses for medical image analysis models");
        out.println();
        out.println("usage: ./advmia COMMAND [options]    (./advmia COMMAND --help for a command's options)");
        out.println();
        out.println("commands:");
        for (Map.Entry<String, Command> e : cmds.entrySet()) {
            out.printf("  %-10s %s%n", e.getKey(), e.getValue().summary());
        }
    }
}
