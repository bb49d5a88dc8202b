package org.advmia.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.function.Function;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Float64 finite-difference gradient checks. A vector output y is reduced to the scalar
 * sum(y * R) with a fixed random R, so every output element's gradient path is exercised.
 *
 * <p>Tolerance: central differences with h = 1e-6 in float64 have truncation error ~h^2 and
 * round-off ~1e-16 / h = 1e-10, so analytic and numeric gradients of a correct op agree to ~1e-8;
 * we require |a - n| <= 1e-6 * max(1, |n|). A wrong gradient is off by O(1) and fails.
 */
public final class GradCheck {
    private GradCheck() {}

    public static Tensor random(Random r, long... shape) {
        return uniform(r, -1, 1, shape);
    }

    /** Uniform in [lo, hi), float64. */
    public static Tensor uniform(Random r, double lo, double hi, long... shape) {
        double[] d = new double[Math.toIntExact(Shape.of(shape).numel())];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * r.nextDouble();
        return Backends.tensor(DType.FLOAT64, d, shape);
    }

    public static Tensor values(double[] d, long... shape) {
        return Backends.tensor(DType.FLOAT64, d, shape);
    }

    /** Checks the gradient of f with respect to every input. */
    public static void check(String name, Function<Variable[], Variable> f, Tensor... inputs) {
        check(name, 1e-6, f, inputs);
    }

    public static void check(String name, double tolerance, Function<Variable[], Variable> f, Tensor... inputs) {
        try (MemoryScope scope = MemoryScope.open()) {
            Variable[] vars = new Variable[inputs.length];
            for (int i = 0; i < inputs.length; i++) vars[i] = Variable.leaf(inputs[i], true);
            Variable y = f.apply(vars);
            Random r = new Random(12345);
            double[] proj = new double[Math.toIntExact(y.value().numel())];
            for (int i = 0; i < proj.length; i++) proj[i] = r.nextGaussian();
            Tensor projT = Backends.tensor(DType.FLOAT64, proj, y.shape().toArray());
            Ops.sum(Ops.mul(y, Variable.constant(projT))).backward();
            for (int i = 0; i < inputs.length; i++) {
                double[] analytic = vars[i].grad() == null ? new double[Math.toIntExact(inputs[i].numel())]
                        : Backends.toDoubleArray(vars[i].grad());
                double[] x = Backends.toDoubleArray(inputs[i]);
                double h = 1e-6;
                double worst = 0;
                int worstAt = -1;
                double worstA = 0, worstN = 0;
                for (int k = 0; k < x.length; k++) {
                    double orig = x[k];
                    x[k] = orig + h;
                    double fp = evaluate(f, inputs, i, x, projT);
                    x[k] = orig - h;
                    double fm = evaluate(f, inputs, i, x, projT);
                    x[k] = orig;
                    double numeric = (fp - fm) / (2 * h);
                    double err = Math.abs(analytic[k] - numeric) / Math.max(1, Math.abs(numeric));
                    if (err > worst) {
                        worst = err;
                        worstAt = k;
                        worstA = analytic[k];
                        worstN = numeric;
                    }
                }
                Backends.defaultBackend().copyFromHost(x, inputs[i]);
                final double w = worst;
                final String detail = name + ": input " + i + " " + inputs[i].shape() + " element " + worstAt
                        + " analytic " + worstA + " numeric " + worstN;
                assertTrue(w <= tolerance, () -> detail + " (relative error " + w + ")");
                vars[i].releaseGrad();
            }
        }
    }

    private static double evaluate(Function<Variable[], Variable> f, Tensor[] inputs, int which, double[] x,
                                   Tensor proj) {
        Backends.defaultBackend().copyFromHost(x, inputs[which]);
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Variable[] vars = new Variable[inputs.length];
            for (int i = 0; i < inputs.length; i++) vars[i] = Variable.constant(inputs[i]);
            Variable y = f.apply(vars);
            double[] out = Backends.toDoubleArray(y.value());
            double[] p = Backends.toDoubleArray(proj);
            double acc = 0;
            for (int i = 0; i < out.length; i++) acc += out[i] * p[i];
            return acc;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
