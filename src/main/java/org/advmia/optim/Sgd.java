package org.advmia.optim;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;

/** torch.optim.SGD: momentum, dampening, Nesterov and (coupled) weight decay. */
public final class Sgd extends Optimizer {
    private final double dampening, weightDecay;
    private double momentum;
    private final boolean nesterov;
    private final Map<String, Tensor> buffers = new HashMap<>();

    public Sgd(Map<String, Variable> params, double lr, double momentum, double dampening, double weightDecay,
               boolean nesterov) {
        super(params, lr);
        if (!(momentum >= 0) || Double.isInfinite(momentum)) {
            throw new IllegalArgumentException("SGD: momentum must be finite and >= 0, got " + momentum);
        }
        if (!Double.isFinite(dampening)) throw new IllegalArgumentException("SGD: dampening must be finite, got " + dampening);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("SGD: weight_decay must be finite and >= 0, got " + weightDecay);
        }
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: nesterov needs momentum > 0 and dampening = 0, got momentum "
                    + momentum + ", dampening " + dampening);
        }
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
    }

    public Sgd(Map<String, Variable> params, double lr, double momentum, double weightDecay) {
        this(params, lr, momentum, 0, weightDecay, false);
    }

    public double momentum() {
        return momentum;
    }

    @Override
    public void setMomentum(double m) {
        if (!(m >= 0 && m < 1)) throw new IllegalArgumentException("SGD: momentum must be in [0, 1), got " + m);
        if ((momentum == 0) != (m == 0)) {
            throw new IllegalArgumentException("SGD: cannot switch momentum on or off during training (" + momentum + " -> " + m + ")");
        }
        momentum = m;
    }

    @Override
    protected void update(String name, Tensor param, Tensor grad) {
        Tensor buf = null;
        boolean first = false;
        if (momentum != 0) {
            buf = buffers.get(name);
            if (buf == null) {
                buf = zerosLike(param);
                buffers.put(name, buf);
                first = true;
            }
        }
        Backends.of(param).sgdStep(param, grad, buf, lr, momentum, dampening, weightDecay, nesterov, first);
    }

    @Override
    public Map<String, Tensor> state() {
        LinkedHashMap<String, Tensor> s = new LinkedHashMap<>();
        for (String p : params.keySet()) {
            Tensor b = buffers.get(p);
            if (b != null) s.put("momentum_buffer." + p, b);
        }
        return s;
    }

    @Override
    protected Map<String, Tensor> stateBuffers(Iterable<String> names) {
        Map<String, Tensor> out = new HashMap<>();
        for (String n : names) {
            String p = paramName(n, "momentum_buffer.");
            if (p == null) continue;
            out.put(n, buffers.computeIfAbsent(p, k -> zerosLike(params.get(k).value())));
        }
        return out;
    }

    @Override
    public void close() {
        for (Tensor t : buffers.values()) t.close();
        buffers.clear();
    }
}
