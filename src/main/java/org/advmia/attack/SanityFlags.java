package org.advmia.attack;

import java.util.ArrayList;
import java.util.List;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * AutoAttack-style honesty checks that warn when an evaluation may overstate robustness:
 * randomness in the model, probabilities returned instead of logits, zero input gradients
 * (gradient masking), a softmax so saturated that the cross-entropy gradient underflows (the
 * signature of defensive distillation), a black-box attack beating white-box ones, robust
 * accuracy that does not fall as eps grows. Each check returns a warning sentence or nothing.
 */
public final class SanityFlags {
    private SanityFlags() {}

    /** Logits that change between two identical calls (dropout left on, stochastic defenses). */
    public static List<String> checkModel(Model model, Tensor x) {
        List<String> warnings = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.eval();
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            float[] a = Backends.toFloatArray(model.logits(Variable.constant(x)).value());
            float[] b = Backends.toFloatArray(model.logits(Variable.constant(x)).value());
            double diff = 0;
            for (int i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
            if (diff > 1e-5) {
                warnings.add("the model's outputs change between identical calls (max difference " + diff
                        + "): randomness in the model makes white-box attacks unreliable; use EOT");
            }
            int n = (int) x.dim(0), c = a.length / Math.max(1, n);
            boolean probabilities = c > 1;
            for (int i = 0; i < n && probabilities; i++) {
                double sum = 0;
                for (int k = 0; k < c; k++) {
                    float v = a[i * c + k];
                    if (v < 0 || v > 1) probabilities = false;
                    sum += v;
                }
                if (Math.abs(sum - 1) > 1e-3) probabilities = false;
            }
            if (probabilities) {
                warnings.add("the model seems to return probabilities, not logits: losses on probabilities vanish"
                        + " and understate attacks");
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (wasTraining) model.train();
        }
        return warnings;
    }

    /** Fraction of samples whose input gradient of the CE loss is exactly zero everywhere. */
    public static List<String> checkZeroGradients(Model model, Tensor x, Tensor labels) {
        List<String> warnings = new ArrayList<>();
        boolean wasTraining = model.isTraining();
        model.eval();
        java.util.Map<Variable, Boolean> req = new java.util.HashMap<>();
        for (Variable p : model.parameters()) req.put(p, p.requiresGrad());
        model.setRequiresGrad(false);
        try (MemoryScope s = MemoryScope.open()) {
            Backend b = Backends.of(x);
            Variable in = Variable.leaf(b.duplicate(x), true);
            Variable z = model.logits(in);
            Variable loss = org.advmia.autograd.Ops.sum(org.advmia.autograd.Losses.crossEntropyPerSample(z, labels, null, 0));
            if (loss.requiresGrad()) loss.backward();
            float[] g = in.grad() == null ? new float[(int) x.numel()] : Backends.toFloatArray(in.grad());
            in.releaseGrad();
            int n = (int) x.dim(0), d = g.length / Math.max(1, n), zero = 0;
            for (int i = 0; i < n; i++) {
                boolean allZero = true;
                for (int k = i * d; k < (i + 1) * d && allZero; k++) allZero = g[k] == 0;
                if (allZero) zero++;
            }
            if (zero > 0) {
                warnings.add(zero + " of " + n + " samples have an exactly zero input gradient: gradient masking"
                        + " is likely and gradient-based attacks will overstate robustness");
            }
        } finally {
            for (java.util.Map.Entry<Variable, Boolean> e : req.entrySet()) e.getKey().setRequiresGrad(e.getValue());
            if (wasTraining) model.train();
        }
        return warnings;
    }

    /**
     * The logit margin (top minus runner-up) beyond which exp(-margin) falls below the smallest
     * normal number of the dtype: ln(Float.MIN_NORMAL) = -87.34 in float32 (-708.4 in float64).
     * Past it every non-predicted class has a softmax probability that is denormal or exactly 0,
     * the predicted class has probability exactly 1, and the cross-entropy input gradient
     * (softmax minus one-hot, back through the network) is denormal or zero: the loss is flat to
     * the working precision. An ordinary trained classifier has margins of a few units to a few
     * tens; defensive distillation at T = 100 multiplies them by about T.
     */
    public static double saturationMargin(org.advmia.tensor.DType dtype) {
        return dtype == org.advmia.tensor.DType.FLOAT64 ? -Math.log(Double.MIN_NORMAL) : -Math.log(Float.MIN_NORMAL);
    }

    /**
     * Samples whose softmax is saturated beyond the working precision ({@link #saturationMargin}):
     * cross-entropy attacks get no usable gradient there, which overstates robustness; a
     * scale-invariant loss (CW margin, DLR) is unaffected.
     */
    public static List<String> checkSaturatedSoftmax(Model model, Tensor x) {
        boolean wasTraining = model.isTraining();
        model.eval();
        int saturated = 0, n = (int) x.dim(0);
        double largest = 0;
        double limit;
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor z = model.logits(Variable.constant(x)).value();
            limit = saturationMargin(z.dtype());
            if (z.rank() != 2 || z.dim(1) < 2) return List.of();
            double[] v = Backends.toDoubleArray(z);
            int c = (int) z.dim(1);
            for (int i = 0; i < n; i++) {
                double top = Double.NEGATIVE_INFINITY, second = Double.NEGATIVE_INFINITY;
                for (int k = i * c; k < (i + 1) * c; k++) {
                    if (v[k] > top) {
                        second = top;
                        top = v[k];
                    } else if (v[k] > second) {
                        second = v[k];
                    }
                }
                double margin = top - second;
                largest = Math.max(largest, margin);
                if (margin > limit) saturated++;
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (wasTraining) model.train();
        }
        if (saturated == 0) return List.of();
        return List.of(String.format("%d of %d samples have a saturated softmax (logit margin above %.1f, largest %.1f):"
                + " their cross-entropy input gradient underflows, a sign of gradient masking (e.g. defensive"
                + " distillation); cross-entropy attacks overstate robustness, use a scale-invariant loss (cw, dlr)",
                saturated, n, limit, largest));
    }

    /** A score-based attack that breaks points the gradient-based ones could not. */
    public static List<String> checkBlackBoxBeatsWhiteBox(String blackBox, int extraBroken, int samples) {
        if (extraBroken <= 0) return List.of();
        return List.of(blackBox + " broke " + extraBroken + " of " + samples + " points that the white-box attacks"
                + " left robust: a sign of gradient masking; trust the lower robust accuracy");
    }

    /** Robust accuracy must not rise as eps grows (the sweep's points must be in increasing eps order). */
    public static List<String> checkMonotoneInEps(double[] eps, double[] robustAccuracy) {
        List<String> warnings = new ArrayList<>();
        for (int i = 1; i < eps.length; i++) {
            if (eps[i] > eps[i - 1] && robustAccuracy[i] > robustAccuracy[i - 1] + 1e-12) {
                warnings.add("robust accuracy rises from " + robustAccuracy[i - 1] + " at eps " + eps[i - 1] + " to "
                        + robustAccuracy[i] + " at eps " + eps[i] + ": the attack is not converging");
            }
        }
        return warnings;
    }
}
