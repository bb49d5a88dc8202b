package org.advmia.backend;

import org.advmia.tensor.Tensor;

/**
 * A seeded random stream over the backends' counter-based generator. Each draw consumes a range
 * of counters, so the same seed gives the same numbers on every backend and thread count.
 */
public final class Generator {
    private final long seed;
    private long offset;

    public Generator(long seed) {
        this.seed = seed;
    }

    public long seed() {
        return seed;
    }

    /** Counters consumed so far; together with the seed this is the whole state. */
    public long offset() {
        return offset;
    }

    public void setOffset(long offset) {
        if (offset < 0) throw new IllegalArgumentException("generator offset must be >= 0, got " + offset);
        this.offset = offset;
    }

    public void fill(RandomKind kind, Tensor t, double a, double b) {
        Backends.of(t).random(kind, t, seed, offset, a, b);
        offset += t.numel();
    }

    public void uniform(Tensor t, double lo, double hi) {
        fill(RandomKind.UNIFORM, t, lo, hi);
    }

    public void normal(Tensor t, double mean, double std) {
        fill(RandomKind.NORMAL, t, mean, std);
    }

    public void bernoulli(Tensor t, double p) {
        fill(RandomKind.BERNOULLI, t, p, 0);
    }
}
