package org.advmia.optim;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;

/**
 * torch.optim.Adam (weight decay added to the gradient) and, with decoupled = true,
 * torch.optim.AdamW (weight decay applied to the parameter).
 */
public final class Adam extends Optimizer {
    private final double beta1, beta2, eps, weightDecay;
    private final boolean decoupled;
    private final Map<String, Tensor[]> moments = new HashMap<>();

    public Adam(Map<String, Variable> params, double lr, double beta1, double beta2, double eps, double weightDecay,
                boolean decoupled) {
        super(params, lr);
        if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1) {
            throw new IllegalArgumentException("Adam: betas must be in [0, 1), got " + beta1 + ", " + beta2);
        }
        if (!(eps > 0) || weightDecay < 0) throw new IllegalArgumentException("Adam: eps must be > 0, weight decay >= 0");
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
    protected void update(String name, Tensor param, Tensor grad) {
        Tensor[] mv = moments.computeIfAbsent(name, k -> new Tensor[] {zerosLike(param), zerosLike(param)});
        Backends.of(param).adamStep(param, grad, mv[0], mv[1], lr, beta1, beta2, eps, weightDecay, decoupled, step);
    }

    @Override
    public Map<String, Tensor> state() {
        LinkedHashMap<String, Tensor> s = new LinkedHashMap<>();
        for (String p : params.keySet()) {
            Tensor[] mv = moments.get(p);
            if (mv != null) {
                s.put("exp_avg." + p, mv[0]);
                s.put("exp_avg_sq." + p, mv[1]);
            }
        }
        return s;
    }

    @Override
    protected Map<String, Tensor> stateBuffers(Iterable<String> names) {
        Map<String, Tensor> out = new HashMap<>();
        for (String n : names) {
            int slot = n.startsWith("exp_avg_sq.") ? 1 : n.startsWith("exp_avg.") ? 0 : -1;
            if (slot < 0) continue;
            String p = paramName(n, slot == 1 ? "exp_avg_sq." : "exp_avg.");
            if (p == null) continue;
            Tensor param = params.get(p).value();
            out.put(n, moments.computeIfAbsent(p, k -> new Tensor[] {zerosLike(param), zerosLike(param)})[slot]);
        }
        return out;
    }

    @Override
    public void close() {
        for (Tensor[] mv : moments.values()) {
            mv[0].close();
            mv[1].close();
        }
        moments.clear();
    }
}
