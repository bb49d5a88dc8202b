package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The device bisection against an exact host reference that scans the sorted breakpoints. */
class LinfHyperplaneProjectionTest {
    /** Exact: sort the coordinates' ranges u, find the segment of h(t) = sum |w| min(t, u) that reaches |c|. */
    static double[] reference(double[] p, double[] w, double c, double lo, double hi) {
        int d = p.length;
        double s = Math.signum(c), need = Math.abs(c);
        double[] u = new double[d], aw = new double[d];
        Integer[] order = new Integer[d];
        for (int i = 0; i < d; i++) {
            double ws = s * w[i];
            aw[i] = Math.abs(ws);
            u[i] = ws > 0 ? hi - p[i] : p[i] - lo;
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(u[a], u[b]));
        double below = 0, rest = 0;  // sum of |w| u over saturated coordinates, sum of |w| over the others
        for (double a : aw) rest += a;
        double t = Double.NaN;
        for (int k = 0; k < d && need > 0; k++) {
            int i = order[k];
            if (below + rest * u[i] >= need) {
                t = (need - below) / rest;
                break;
            }
            below += aw[i] * u[i];
            rest -= aw[i];
        }
        if (need == 0) t = 0;
        if (Double.isNaN(t)) t = u[order[d - 1]];  // out of reach: saturate every coordinate
        double[] out = new double[d];
        for (int i = 0; i < d; i++) out[i] = Math.signum(s * w[i]) * Math.min(t, u[i]);
        return out;
    }

    @Test
    void matchesTheExactSortBasedProjection() {
        Random r = new Random(5);
        int m = 64, d = 50;
        double[] p = new double[m * d], w = new double[m * d], c = new double[m];
        for (int j = 0; j < m; j++) {
            for (int i = 0; i < d; i++) {
                p[j * d + i] = j % 7 == 0 && i % 3 == 0 ? (i % 2) : r.nextDouble();  // some points on the box faces
                w[j * d + i] = j % 5 == 0 && i % 4 == 0 ? 0 : r.nextGaussian();
            }
            c[j] = j % 11 == 0 ? 0 : j % 13 == 0 ? 1e3 : r.nextGaussian() * 2;  // also c = 0 and out of reach
        }
        Backend b = Backends.defaultBackend();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor pt = Backends.tensor(org.advmia.tensor.DType.FLOAT32, p, m, d);
            Tensor wt = Backends.tensor(org.advmia.tensor.DType.FLOAT32, w, m, d);
            Tensor out = b.empty(pt.dtype(), pt.shape());
            LinfHyperplaneProjection.project(b, pt, wt, Backends.tensor(org.advmia.tensor.DType.FLOAT32, c, m, 1), 0, 1, out);
            float[] got = Backends.toFloatArray(out);
            for (int j = 0; j < m; j++) {
                double[] pr = Arrays.copyOfRange(p, j * d, (j + 1) * d), wr = Arrays.copyOfRange(w, j * d, (j + 1) * d);
                double[] want = reference(pr, wr, c[j], 0, 1);
                double dot = 0, reach = 0;
                for (int i = 0; i < d; i++) {
                    assertEquals(want[i], got[j * d + i], 1e-5, "row " + j + " coordinate " + i);
                    double v = pr[i] + got[j * d + i];
                    assertTrue(v >= -1e-6 && v <= 1 + 1e-6, "row " + j + " leaves the box");
                    dot += wr[i] * got[j * d + i];
                    reach += Math.abs(wr[i]) * (wr[i] * Math.signum(c[j]) > 0 ? 1 - pr[i] : pr[i]);
                }
                if (Math.abs(c[j]) <= reach) assertEquals(c[j], dot, 1e-4 * (1 + Math.abs(c[j])), "row " + j + " misses the plane");
            }
        }
    }
}
