package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;
import org.advmia.backend.Generator;

/** torch.nn.Dropout; its mask stream is seeded, so training runs are reproducible. */
public final class Dropout extends Module {
    public final double p;
    private Generator generator;

    public Dropout(double p, Init init) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("Dropout: p must be in [0, 1), got " + p);
        this.p = p;
        this.generator = new Generator(init.childSeed());
    }

    /** The mask stream's state (seed and position), for checkpoints. */
    public Generator generator() {
        return generator;
    }

    public void setGenerator(Generator g) {
        this.generator = g;
    }

    @Override
    public Variable forward(Variable x) {
        return NnOps.dropout(x, p, isTraining(), generator);
    }
}
