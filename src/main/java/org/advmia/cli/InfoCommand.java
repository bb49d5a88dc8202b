package org.advmia.cli;

import java.io.PrintStream;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.backend.Backends;
import org.advmia.backend.cuda.CudaBackend;
import org.bytedeco.javacpp.Loader;

/** `advmia info`: backend, device, threads and versions. */
final class InfoCommand implements Main.Command {
    @Override
    public String summary() {
        return "print the backend, device, thread count and versions";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws java.io.IOException {
        if (args.length > 0) {
            if (args[0].equals("--help") || args[0].equals("-h")) {
                out.println("usage: ./advmia info\n\nPrints the compute backend, device, threads and library versions.");
                return Main.OK;
            }
            throw new IllegalArgumentException("info takes no options, got '" + args[0] + "'");
        }
        CpuBackend cpu = CpuBackend.get();
        out.println("advmia      " + Main.class.getPackage().getImplementationVersion());
        out.println("java        " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        out.println("os          " + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        out.println("javacpp     " + Loader.getVersion());
        out.println("cpu backend threads=" + cpu.threads() + " (set -Dadvmia.threads or ADVMIA_THREADS), GEMM=OpenBLAS");
        String why = CudaBackend.unavailableReason();
        out.println("cuda        " + (why == null ? CudaBackend.get().description() : "unavailable: " + why));
        out.println("device      " + Backends.defaultDevice() + " (default; --device or -Dadvmia.device overrides)");
        return Main.OK;
    }
}
