package org.advmia.backend;

/** The perturbation norms that the fused attack step projects onto. */
public enum Norm {
    LINF, L2;

    public int code() {
        return ordinal();
    }
}
