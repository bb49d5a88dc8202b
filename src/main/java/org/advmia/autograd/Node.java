package org.advmia.autograd;

import org.advmia.tensor.Tensor;

/** One recorded op: its inputs and how to turn the output gradient into input gradients. */
final class Node {
    /** Returns one gradient per input, null where the input needs none. */
    interface Backward {
        Tensor[] apply(Tensor gradOut, boolean[] needs);
    }

    final String op;
    final Variable[] inputs;
    final Backward backward;
    Variable output;
    long visitEpoch = -1;

    Node(String op, Variable[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    boolean[] needs() {
        boolean[] n = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) n[i] = inputs[i] != null && inputs[i].requiresGrad();
        return n;
    }
}
