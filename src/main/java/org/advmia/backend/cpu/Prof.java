package org.advmia.backend.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.TreeMap;

/** TEMPORARY profiling (not committed). */
public final class Prof {
    static final ThreadMXBean TM = ManagementFactory.getThreadMXBean();
    public static volatile boolean on = false;
    static final Map<String, long[]> M = new TreeMap<>();
    static long t() { return on ? TM.getCurrentThreadCpuTime() : 0; }
    static synchronized void r(String k, long t0) {
        if (!on) return;
        long d = TM.getCurrentThreadCpuTime() - t0;
        M.computeIfAbsent(k, kk -> new long[2]);
        long[] a = M.get(k); a[0] += d; a[1]++;
    }
    public static synchronized void reset() { M.clear(); }
    public static synchronized void dump(String title, int iters) {
        System.out.println("== " + title + " (ms per iteration, calls per iteration)");
        double tot = 0;
        for (var e : M.entrySet()) tot += e.getValue()[0];
        final double ftot = tot;
        M.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).forEach(e ->
            System.out.printf("%-50s %8.2f ms %6.1f%n", e.getKey(), e.getValue()[0] / 1e6 / iters, e.getValue()[1] / (double) iters));
        System.out.printf("%-50s %8.2f ms%n", "TOTAL native", ftot / 1e6 / iters);
    }
}
