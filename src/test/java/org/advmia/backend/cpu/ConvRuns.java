package org.advmia.backend.cpu;

import org.advmia.backend.ConvGeometry;
import org.advmia.backend.cpu.CpuBackend.ConvAlgorithm;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Runs one convolution direction on the CPU backend from host arrays and returns the result as a
 * host array, for the convolution tests. Every output buffer is filled with NaN first, so an
 * output the kernel does not write fails the tests' bounds checks (NaN is never within a bound).
 */
final class ConvRuns {
    private ConvRuns() {}

    private static CpuBackend cpu() {
        return CpuBackend.get();
    }

    static double[] forward(ConvGeometry g, DType dt, double[] x, double[] w, double[] b, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor xt = tensor(dt, x, g.inputShape());
            Tensor wt = tensor(dt, w, g.weightShape());
            Tensor bt = b == null ? null : tensor(dt, b, new long[] {g.cout()});
            Tensor y = nan(dt, g.outputShape());
            cpu().conv2d(g, xt, wt, bt, y, algo);
            return host(y);
        }
    }

    static double[] backwardData(ConvGeometry g, DType dt, double[] gy, double[] w, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor gyt = tensor(dt, gy, g.outputShape());
            Tensor wt = tensor(dt, w, g.weightShape());
            Tensor gx = nan(dt, g.inputShape());
            cpu().conv2dBackwardData(g, gyt, wt, gx, algo);
            return host(gx);
        }
    }

    static double[] backwardFilter(ConvGeometry g, DType dt, double[] x, double[] gy, ConvAlgorithm algo) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor xt = tensor(dt, x, g.inputShape());
            Tensor gyt = tensor(dt, gy, g.outputShape());
            Tensor gw = nan(dt, g.weightShape());
            cpu().conv2dBackwardFilter(g, xt, gyt, gw, null, algo);
            return host(gw);
        }
    }

    /** A new tensor (in the current MemoryScope) holding v. */
    static Tensor tensor(DType dt, double[] v, long[] shape) {
        Tensor t = cpu().empty(dt, Shape.of(shape));
        cpu().copyFromHost(v, t);
        return t;
    }

    /** A new tensor (in the current MemoryScope) filled with NaN. */
    static Tensor nan(DType dt, long[] shape) {
        Tensor t = cpu().empty(dt, Shape.of(shape));
        cpu().fill(t, Double.NaN);
        return t;
    }

    static double[] host(Tensor t) {
        double[] out = new double[Math.toIntExact(t.numel())];
        cpu().copyToHost(t, out);
        return out;
    }
}
