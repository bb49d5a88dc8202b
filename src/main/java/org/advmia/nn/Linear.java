package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;

/** torch.nn.Linear: `weight` [out, in], optional `bias` [out]. Flattens [N, ...] input. */
public final class Linear extends Module {
    public final int in, out;
    private final Variable weight, bias;

    public Linear(int in, int out, boolean bias, Init init) {
        if (in <= 0 || out <= 0) throw new IllegalArgumentException("Linear(" + in + ", " + out + "): sizes must be positive");
        this.in = in;
        this.out = out;
        double bound = 1 / Math.sqrt(in);
        this.weight = parameter("weight", init.uniform(bound, out, in));
        this.bias = bias ? parameter("bias", init.uniform(bound, out)) : null;
    }

    public Linear(int in, int out, Init init) {
        this(in, out, true, init);
    }

    @Override
    public Variable forward(Variable x) {
        Variable flat = x.shape().rank() == 2 ? x : Ops.flatten(x);
        return NnOps.linear(flat, weight, bias);
    }
}
