package org.advmia.backend;

/** Broadcasting binary ops; codes match the native kernels. Comparisons yield 1 or 0. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, MAX, MIN, GT, GE, EQ;

    public int code() {
        return ordinal();
    }
}
