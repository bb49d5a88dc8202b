package org.advmia.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * A layer or model: named parameters, named buffers and named children, like torch.nn.Module.
 * State-dict names and their order follow PyTorch (own parameters, own buffers, then each child
 * with its name as prefix), so weights move between the two with load_state_dict(strict=True).
 * Parameters and buffers live outside any MemoryScope and are freed by {@link #close()}.
 */
public abstract class Module implements AutoCloseable {
    private final LinkedHashMap<String, Variable> params = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Runs the layer. Implementations build the graph through autograd ops. */
    public abstract Variable forward(Variable x);

    protected <M extends Module> M register(String name, M child) {
        if (children.containsKey(name) || params.containsKey(name)) {
            throw new IllegalArgumentException("duplicate submodule name '" + name + "'");
        }
        children.put(name, child);
        return child;
    }

    /** Registers a trainable parameter; the module owns the tensor. */
    protected Variable parameter(String name, Tensor value) {
        Variable v = Variable.leaf(value.keep(), true);
        params.put(name, v);
        return v;
    }

    /** Registers a non-trainable state tensor (running statistics); the module owns it. */
    protected Tensor buffer(String name, Tensor value) {
        buffers.put(name, value.keep());
        return value;
    }

    protected Tensor buffer(String name) {
        return buffers.get(name);
    }

    protected static Tensor zeros(DType dtype, long... shape) {
        Backend b = Backends.defaultBackend();
        Tensor t = b.empty(dtype, Shape.of(shape));
        b.fill(t, 0);
        return t;
    }

    protected static Tensor full(DType dtype, double value, long... shape) {
        Backend b = Backends.defaultBackend();
        Tensor t = b.empty(dtype, Shape.of(shape));
        b.fill(t, value);
        return t;
    }

    public Map<String, Module> namedChildren() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /** This module and every descendant, by dotted name ("" for this one), depth-first. */
    public LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        walk("", out);
        return out;
    }

    private void walk(String name, Map<String, Module> out) {
        out.put(name, this);
        for (Map.Entry<String, Module> e : children.entrySet()) {
            String child = e.getKey().isEmpty() ? name + "[inner]" : name.isEmpty() ? e.getKey() : name + "." + e.getKey();
            e.getValue().walk(child, out);
        }
    }

    /** Every parameter, with dotted PyTorch names, in state-dict order. */
    public LinkedHashMap<String, Variable> namedParameters() {
        LinkedHashMap<String, Variable> out = new LinkedHashMap<>();
        collect("", out, null);
        return out;
    }

    public List<Variable> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Parameters and buffers by PyTorch state-dict name and order. The tensors stay owned by the module. */
    public LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collect("", null, out);
        return out;
    }

    private void collect(String prefix, Map<String, Variable> ps, Map<String, Tensor> state) {
        for (Map.Entry<String, Variable> e : params.entrySet()) {
            if (ps != null) ps.put(prefix + e.getKey(), e.getValue());
            if (state != null) state.put(prefix + e.getKey(), e.getValue().value());
        }
        if (state != null) {
            for (Map.Entry<String, Tensor> e : buffers.entrySet()) state.put(prefix + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            // A child registered under "" is transparent: its names keep this module's prefix.
            e.getValue().collect(e.getKey().isEmpty() ? prefix : prefix + e.getKey() + ".", ps, state);
        }
    }

    /**
     * Copies values into this module's parameters and buffers. Every name must be known and
     * every parameter present (strict), shapes must match, and values must be finite; otherwise
     * the error names the offending entries and nothing is changed.
     */
    public void loadStateDict(Map<String, Tensor> state, String source) {
        LinkedHashMap<String, Tensor> mine = stateDict();
        List<String> unknown = new ArrayList<>(), missing = new ArrayList<>(), bad = new ArrayList<>();
        for (String k : state.keySet()) if (!mine.containsKey(k)) unknown.add(k);
        for (String k : mine.keySet()) if (!state.containsKey(k)) missing.add(k);
        for (Map.Entry<String, Tensor> e : mine.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) continue;
            if (!src.shape().equals(e.getValue().shape())) {
                bad.add(e.getKey() + " has shape " + src.shape() + ", expected " + e.getValue().shape());
            } else if (Backends.of(src).countNonFinite(src) > 0) {
                bad.add(e.getKey() + " contains NaN or Inf");
            }
        }
        if (!unknown.isEmpty() || !missing.isEmpty() || !bad.isEmpty()) {
            StringBuilder m = new StringBuilder("cannot load " + source + " into " + getClass().getSimpleName() + ":");
            if (!unknown.isEmpty()) m.append("\n  unknown names: ").append(abbreviate(unknown));
            if (!missing.isEmpty()) m.append("\n  missing names: ").append(abbreviate(missing));
            for (String b : bad) m.append("\n  ").append(b);
            throw new IllegalArgumentException(m.toString());
        }
        for (Map.Entry<String, Tensor> e : mine.entrySet()) {
            Tensor src = state.get(e.getKey()), dst = e.getValue();
            Backend b = Backends.of(dst);
            if (src.dtype() == dst.dtype()) b.copyBlock(src, 0, src.numel(), dst, 0, dst.numel(), 1, dst.numel());
            else b.cast(src, dst);
        }
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 12 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 12)) + ", ... (" + names.size() + " in all)";
    }

    public boolean isTraining() {
        return training;
    }

    /** Training mode (batch statistics in BatchNorm, active Dropout), recursively. */
    public Module train() {
        setTraining(true);
        return this;
    }

    /** Evaluation mode, recursively. */
    public Module eval() {
        setTraining(false);
        return this;
    }

    private void setTraining(boolean on) {
        training = on;
        for (Module c : children.values()) c.setTraining(on);
    }

    /** Turns gradient tracking of every parameter on or off (attacks need only input gradients). */
    public void setRequiresGrad(boolean on) {
        for (Variable v : namedParameters().values()) v.setRequiresGrad(on);
    }

    public void zeroGrad() {
        for (Variable v : namedParameters().values()) v.zeroGrad();
    }

    public long parameterCount() {
        long n = 0;
        for (Variable v : namedParameters().values()) n += v.value().numel();
        return n;
    }

    /** Frees every parameter, gradient buffer and buffer of this module and its children. */
    @Override
    public void close() {
        for (Variable v : params.values()) {
            v.releaseGrad();
            v.value().close();
        }
        for (Tensor t : buffers.values()) t.close();
        for (Module c : children.values()) c.close();
    }
}
