package org.advmia.backend;

/** Elementwise unary ops; codes match the native kernels. Parameters a, b as noted. */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, ABS, SIGN, RELU, RELU6,
    /** a = negative slope. */
    LEAKY_RELU,
    SIGMOID, TANH, SQUARE, RECIPROCAL,
    /** a * x + b. */
    AFFINE,
    /** clamp to [a, b]. */
    CLAMP,
    /** x ^ a. */
    POW,
    /** Round half to even (zero gradient). */
    ROUND;

    public int code() {
        return ordinal();
    }
}
