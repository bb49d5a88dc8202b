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

    public static void requireSameDtype(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": dtypes differ (" + a.dtype() + " vs " + b.dtype() + ")");
        }
    }
}
