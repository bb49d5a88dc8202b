package org.advmia.backend;

/** Distributions for {@link Backend#random}: uniform in [a, b), normal(mean a, std b), bernoulli(p = a). */
public enum RandomKind {
    UNIFORM, NORMAL, BERNOULLI;

    public int code() {
        return ordinal();
    }
}
