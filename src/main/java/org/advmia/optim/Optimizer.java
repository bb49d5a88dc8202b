package org.advmia.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;

/**
 * Updates named parameters from their accumulated gradients with fused backend kernels. Its
 * state (per-parameter buffers and the step count) is exported by name, for checkpoints that
 * resume exactly. Parameters without a gradient in a step are left untouched, as in PyTorch.
 */
public abstract class Optimizer implements AutoCloseable {
    protected final LinkedHashMap<String, Variable> params;
    protected double lr;
    protected long step;

    protected Optimizer(Map<String, Variable> params, double lr) {
        checkLr(lr);
        this.params = new LinkedHashMap<>(params);
        this.lr = lr;
    }

    public double lr() {
        return lr;
    }

    public void setLr(double lr) {
        checkLr(lr);
        this.lr = lr;
    }

    private static void checkLr(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("learning rate lr must be finite and >= 0, got " + lr);
        }
    }

    /** Sets the momentum (SGD) or first-moment decay (Adam's beta1), for momentum schedules. */
    public abstract void setMomentum(double momentum);

    public long stepCount() {
        return step;
    }

    /** Applies one update to every parameter that has a gradient. */
    public void step() {
        step++;
        for (Map.Entry<String, Variable> e : params.entrySet()) {
            Tensor g = e.getValue().grad();
            if (g != null) update(e.getKey(), e.getValue().value(), g);
        }
    }

    public void zeroGrad() {
        for (Variable v : params.values()) v.zeroGrad();
    }

    protected abstract void update(String name, Tensor param, Tensor grad);

    /** Frees the optimizer's state buffers. */
    @Override
    public abstract void close();

    /** Named state tensors (e.g. "momentum_buffer.layer1.0.conv1.weight"); owned by the optimizer. */
    public abstract Map<String, Tensor> state();

    /**
     * Restores state exported by {@link #state()} and the step count. Every entry is checked
     * (known name, matching shape) before any value is copied, so a mismatched state changes no
     * values; buffers for the named parameters may have been allocated by then.
     */
    public void loadState(Map<String, Tensor> state, long stepCount) {
        if (stepCount < 0) throw new IllegalArgumentException("optimizer stepCount must be >= 0, got " + stepCount);
        Map<String, Tensor> mine = stateBuffers(state.keySet());
        List<String> unknown = new ArrayList<>(), bad = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            Tensor dst = mine.get(e.getKey());
            if (dst == null) unknown.add(e.getKey());
            else if (!dst.shape().equals(e.getValue().shape())) {
                bad.add("optimizer state " + e.getKey() + " has shape " + e.getValue().shape() + ", expected " + dst.shape());
            }
        }
        if (!unknown.isEmpty()) bad.add(0, "unknown optimizer state entries for " + getClass().getSimpleName() + ": " + unknown);
        if (!bad.isEmpty()) throw new IllegalArgumentException(String.join("\n  ", bad));
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            Tensor dst = mine.get(e.getKey());
            Backends.of(dst).cast(e.getValue(), dst);
        }
        this.step = stepCount;
    }

    /** Creates (if needed) and returns the buffers that the given state names refer to. */
    protected abstract Map<String, Tensor> stateBuffers(Iterable<String> names);

    protected static Tensor zerosLike(Tensor t) {
        Backend b = Backends.of(t);
        Tensor z = b.empty(t.dtype(), t.shape()).keep();
        b.fill(z, 0);
        return z;
    }

    protected String paramName(String stateName, String prefix) {
        if (!stateName.startsWith(prefix)) return null;
        String p = stateName.substring(prefix.length());
        return params.containsKey(p) ? p : null;
    }
}
