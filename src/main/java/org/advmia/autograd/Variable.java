package org.advmia.autograd;

import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * A tensor in the autograd graph. Leaves (inputs, parameters) accumulate their gradient in a
 * buffer they own, which outlives step scopes and is reused (zeroGrad fills it with zeros);
 * intermediate results carry the {@link Node} that made them.
 */
public final class Variable {
    private Tensor value;
    private boolean requiresGrad;
    final Node creator;
    private Tensor grad;
    private boolean gradValid;

    Variable(Tensor value, boolean requiresGrad, Node creator) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.creator = creator;
    }

    /** A leaf; with requiresGrad, backward() accumulates d(loss)/d(this) into grad(). */
    public static Variable leaf(Tensor value, boolean requiresGrad) {
        return new Variable(value, requiresGrad, null);
    }

    /** A leaf that needs no gradient (data, labels). */
    public static Variable constant(Tensor value) {
        return new Variable(value, false, null);
    }

    public Tensor value() {
        return value;
    }

    /** Replaces a leaf's value (e.g. after loading weights); shape and dtype must match. */
    public void setValue(Tensor t) {
        if (creator != null) throw new IllegalStateException("only leaves can be reassigned");
        if (!t.shape().equals(value.shape()) || t.dtype() != value.dtype()) {
            throw new IllegalArgumentException("setValue: expected " + value.shape() + " " + value.dtype() + ", got "
                    + t.shape() + " " + t.dtype());
        }
        value = t;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Turns gradient tracking on or off for a leaf (e.g. freezing weights during an attack). */
    public void setRequiresGrad(boolean on) {
        if (creator != null) throw new IllegalStateException("only leaves can change requiresGrad");
        requiresGrad = on;
    }

    public boolean isLeaf() {
        return creator == null;
    }

    public Shape shape() {
        return value.shape();
    }

    public DType dtype() {
        return value.dtype();
    }

    public Backend backend() {
        return Backends.of(value);
    }

    /** The accumulated gradient, or null if backward never reached this leaf since zeroGrad. */
    public Tensor grad() {
        return gradValid ? grad : null;
    }

    /** Forgets the gradient; the buffer is kept for reuse. */
    public void zeroGrad() {
        gradValid = false;
    }

    /** Frees the gradient buffer. */
    public void releaseGrad() {
        gradValid = false;
        if (grad != null) {
            grad.close();
            grad = null;
        }
    }

    void accumulateLeafGrad(Tensor g) {
        Backend b = Backends.of(g);
        if (grad == null || grad.isClosed()) {
            grad = b.empty(g.dtype(), g.shape()).keep();
        }
        if (!gradValid) {
            b.copyBlock(g, 0, g.numel(), grad, 0, g.numel(), 1, g.numel());
            gradValid = true;
        } else {
            b.axpby(1, grad, 1, g, grad);
        }
    }

    /** Backpropagates from this scalar (one element) with seed gradient 1. */
    public void backward() {
        Autograd.backward(this, null);
    }

    /** Backpropagates from this variable with the given seed gradient of the same shape. */
    public void backward(Tensor seed) {
        Autograd.backward(this, seed);
    }

    @Override
    public String toString() {
        return "Variable" + value.shape() + (requiresGrad ? "(requires grad)" : "");
    }
}
