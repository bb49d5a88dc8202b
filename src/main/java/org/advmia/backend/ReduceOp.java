package org.advmia.backend;

/** Reductions along one axis; codes match the native kernels. */
public enum ReduceOp {
    SUM, MEAN, MAX, MIN, SUM_SQUARES, ABS_SUM, ABS_MAX;

    public int code() {
        return ordinal();
    }
}
