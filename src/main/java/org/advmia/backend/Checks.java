package org.advmia.backend;

import java.util.Arrays;
import org.advmia.tensor.Tensor;

/** Argument checks shared by backends; messages name the op and the operand. */
public final class Checks {
    private Checks() {}

    public static long addr(Tensor t) {
        return t == null ? 0 : t.address();
    }

    public static long len(Tensor t) {
        return t == null ? 0 : t.numel();
    }

    public static void requireShape(String op, String name, Tensor t, long[] expected) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is missing");
        if (!Arrays.equals(t.shape().toArray(), expected)) {
            throw new IllegalArgumentException(op + ": " + name + " has shape " + t.shape() + ", expected "
                    + Arrays.toString(expected));
        }
    }

    public static void requireNumel(String op, String name, Tensor t, long expected) {
        if (t == null) throw new IllegalArgumentException(op + ": " + name + " is missing");
        if (t.numel() != expected) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.shape() + " has " + t.numel()
                    + " elements, expected " + expected);
        }
    }

    /**
     * Every non-null tensor must have the first one's dtype. Native kernels read all buffers with
     * one element type, so a mismatch would be a wrong-sized read: this check is memory safety.
     */
    public static void requireDtypes(String op, Tensor... ts) {
        Tensor first = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (first == null) first = t;
            else if (t.dtype() != first.dtype()) {
                throw new IllegalArgumentException(op + ": operand " + t.shape() + " is " + t.dtype() + " but "
                        + first.shape() + " is " + first.dtype() + "; all operands must share one dtype");
            }
        }
    }

    public static void requireSameDtype(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ (" + a.dtype() + " vs " + b.dtype() + ")");
        }
    }
}
