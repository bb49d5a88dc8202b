package org.advmia.attack;

import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * One forward pass at x whose graph is kept, so that the input gradients of several
 * combinations of the logits (one class, or a difference of two) come from one backward pass
 * each, without repeating the forward pass. Gradients with respect to x of sum over samples and
 * classes of seed[i, c] * z[i, c]: with one nonzero per row of seed, row i of the result is the
 * gradient of sample i's chosen combination (samples do not interact in an eval-mode model).
 */
final class LogitGradients {
    private final Variable input, logits;
    private final Backend backend;

    LogitGradients(Model model, Tensor x) {
        input = Variable.leaf(x, true);
        logits = model.logits(input);
        backend = Backends.of(x);
    }

    /** The logits [N, C] (in the caller's scope). */
    Tensor logits() {
        return logits.value();
    }

    /** Writes d(sum of seed * logits)/dx into grad (same shape as x). */
    void gradient(Tensor seed, Tensor grad) {
        input.zeroGrad();
        logits.backward(seed);
        Tensor g = input.grad();
        backend.copyBlock(g, 0, g.numel(), grad, 0, grad.numel(), 1, grad.numel());
    }

    /** Frees the input gradient buffer (it lives outside memory scopes). */
    void release() {
        input.releaseGrad();
    }
}
