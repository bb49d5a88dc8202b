package org.advmia.nn;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;

/** torch.nn.Flatten(): [N, ...] to [N, prod(...)]. */
public final class Flatten extends Module {
    @Override
    public Variable forward(Variable x) {
        return Ops.flatten(x);
    }
}
