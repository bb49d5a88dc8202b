package org.advmia.optim;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * torch.optim.Adam (weight decay added to the gradient) and, with decoupled = true,
 * torch.optim.AdamW (weight decay applied to the parameter).
 *
 * <p>As in PyTorch, each parameter counts its own steps for the bias corrections: a parameter
 * that gets no gradient in some step (frozen for a while, or unused by that batch) is skipped
 * and its count does not advance, so it is not corrected as if it had seen those steps. The
 * counts are exported as "step.NAME" state entries next to "exp_avg.NAME" and "exp_avg_sq.NAME".
 */
public final class Adam extends Optimizer {
    private final double beta2, eps, weightDecay;
    private double beta1;
    private final boolean decoupled;
    private final Map<String, Tensor[]> moments = new HashMap<>();
    /** Steps taken by each parameter that has moments. */
    private final Map<String, Long> paramSteps = new HashMap<>();
    /** One-element float64 mirrors of paramSteps, created for state() and loadState(). */
    private final Map<String, Tensor> stepTensors = new HashMap<>();

    public Adam(Map<String, Variable> params, double lr, double beta1, double beta2, double eps, double weightDecay,
                boolean decoupled) {
        super(params, lr);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("Adam: beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("Adam: beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("Adam: eps must be finite and > 0, got " + eps);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("Adam: weight_decay must be finite and >= 0, got " + weightDecay);
        }
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decoupled = decoupled;
    }

    public static Adam adam(Map<String, Variable> params, double lr) {
        return new Adam(params, lr, 0.9, 0.999, 1e-8, 0, false);
    }

    public static Adam adamW(Map<String, Variable> params, double lr, double weightDecay) {
        return new Adam(params, lr, 0.9, 0.999, 1e-8, weightDecay, true);
    }

    @Override
    public void setMomentum(double b1) {
        if (!(b1 >= 0 && b1 < 1)) throw new IllegalArgumentException("Adam: beta1 must be in [0, 1), got " + b1);
        beta1 = b1;
    }

    @Override
    protected void update(String name, Tensor param, Tensor grad) {
        Tensor[] mv = moments.computeIfAbsent(name, k -> new Tensor[] {zerosLike(param), zerosLike(param)});
        long t = paramSteps.merge(name, 1L, Long::sum);
        Backends.of(param).adamStep(param, grad, mv[0], mv[1], lr, beta1, beta2, eps, weightDecay, decoupled, t);
    }

    @Override
    public Map<String, Tensor> state() {
        LinkedHashMap<String, Tensor> s = new LinkedHashMap<>();
        for (String p : params.keySet()) {
            Tensor[] mv = moments.get(p);
            if (mv != null) {
                s.put("exp_avg." + p, mv[0]);
                s.put("exp_avg_sq." + p, mv[1]);
                Tensor st = stepTensor(p);
                Backends.of(st).fill(st, paramSteps.getOrDefault(p, 0L));
                s.put("step." + p, st);
            }
        }
        return s;
    }

    private Tensor stepTensor(String p) {
        return stepTensors.computeIfAbsent(p, k -> {
            Backend b = Backends.of(params.get(k).value());
            return b.empty(DType.FLOAT64, Shape.of(1)).keep();
        });
    }

    @Override
    protected Map<String, Tensor> stateBuffers(Iterable<String> names) {
        Map<String, Tensor> out = new HashMap<>();
        for (String n : names) {
            String prefix = n.startsWith("exp_avg_sq.") ? "exp_avg_sq." : n.startsWith("exp_avg.") ? "exp_avg."
                    : n.startsWith("step.") ? "step." : null;
            String p = prefix == null ? null : paramName(n, prefix);
            if (p == null) continue;
            if (prefix.equals("step.")) {
                out.put(n, stepTensor(p));
                continue;
            }
            Tensor param = params.get(p).value();
            Tensor[] mv = moments.computeIfAbsent(p, k -> new Tensor[] {zerosLike(param), zerosLike(param)});
            out.put(n, prefix.equals("exp_avg_sq.") ? mv[1] : mv[0]);
        }
        return out;
    }

    /**
     * Also restores the per-parameter step counts; a state without "step.NAME" entries (written
     * before they existed) gives every parameter with moments the global step count.
     */
    @Override
    public void loadState(Map<String, Tensor> state, long stepCount) {
        super.loadState(state, stepCount);
        for (String p : params.keySet()) {
            boolean hasMoments = state.containsKey("exp_avg." + p) || state.containsKey("exp_avg_sq." + p);
            Tensor st = state.containsKey("step." + p) ? stepTensors.get(p) : null;
            if (st != null) {
                double v = Backends.toDoubleArray(st)[0];
                if (!(v >= 0) || v != Math.rint(v)) {
                    throw new IllegalArgumentException("optimizer state step." + p + " must be a whole number >= 0, got " + v);
                }
                paramSteps.put(p, (long) v);
            } else if (hasMoments) {
                paramSteps.put(p, stepCount);
            }
        }
    }

    @Override
    public void close() {
        for (Tensor[] mv : moments.values()) {
            mv[0].close();
            mv[1].close();
        }
        for (Tensor t : stepTensors.values()) t.close();
        moments.clear();
        stepTensors.clear();
        paramSteps.clear();
    }
}
