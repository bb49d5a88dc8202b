package org.advmia.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.advmia.backend.Backends;
import org.advmia.tensor.Device;

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
        // --device applies to every command: it sets the default device (-Dadvmia.device) for this run.
        String device = null;
        List<String> rest = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--device") || args[i].startsWith("--device=")) {
                if (!args[i].startsWith("--device=") && i + 1 >= args.length) {
                    err.println("advmia: --device needs a value: cpu, cuda, cuda:N or auto");
                    return USAGE;
                }
                device = args[i].startsWith("--device=") ? args[i].substring(9) : args[++i];
            } else {
                rest.add(args[i]);
            }
        }
        if (device == null) return runCommand(rest.toArray(new String[0]), out, err);
        if (!device.trim().equalsIgnoreCase("auto")) {
            try {
                Backends.of(Device.parse(device));
            } catch (IllegalArgumentException e) {
                err.println("advmia: --device " + device + ": " + e.getMessage());
                return USAGE;
            }
        }
        String previous = System.getProperty("advmia.device");
        System.setProperty("advmia.device", device);
        try {
            return runCommand(rest.toArray(new String[0]), out, err);
        } finally {
            if (previous == null) System.clearProperty("advmia.device");
            else System.setProperty("advmia.device", previous);
        }
    }

    private static int runCommand(String[] args, PrintStream out, PrintStream err) {
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
        out.println("usage: ./advmia [--device cpu|cuda|cuda:N|auto] COMMAND [options]    (./advmia COMMAND --help for a command's options)");
        out.println("       --device: where tensors live; default auto = CUDA when a GPU is visible, else the CPU");
        out.println();
        out.println("commands:");
        for (Map.Entry<String, Command> e : cmds.entrySet()) {
            out.printf("  %-10s %s%n", e.getKey(), e.getValue().summary());
        }
    }
}
