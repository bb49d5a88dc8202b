package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;

/** MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (no parameters). */
public final class Pool2d extends Module {
    public enum Kind { MAX, AVG, ADAPTIVE_AVG }

    public final Kind kind;
    private final int kernel, stride, padding, outH, outW;
    private final boolean ceilMode, countIncludePad;

    private Pool2d(Kind kind, int kernel, int stride, int padding, boolean ceilMode, boolean countIncludePad, int outH,
                   int outW) {
        this.kind = kind;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.ceilMode = ceilMode;
        this.countIncludePad = countIncludePad;
        this.outH = outH;
        this.outW = outW;
    }

    public static Pool2d max(int kernel, int stride, int padding, boolean ceilMode) {
        return new Pool2d(Kind.MAX, kernel, stride, padding, ceilMode, false, 0, 0);
    }

    public static Pool2d max(int kernel) {
        return max(kernel, kernel, 0, false);
    }

    public static Pool2d avg(int kernel, int stride, int padding, boolean ceilMode, boolean countIncludePad) {
        return new Pool2d(Kind.AVG, kernel, stride, padding, ceilMode, countIncludePad, 0, 0);
    }

    public static Pool2d avg(int kernel) {
        return avg(kernel, kernel, 0, false, true);
    }

    public static Pool2d adaptiveAvg(int outH, int outW) {
        return new Pool2d(Kind.ADAPTIVE_AVG, 0, 1, 0, false, true, outH, outW);
    }

    @Override
    public Variable forward(Variable x) {
        return switch (kind) {
            case MAX -> NnOps.maxPool2d(x, kernel, stride, padding, ceilMode);
            case AVG -> NnOps.avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad);
            case ADAPTIVE_AVG -> NnOps.adaptiveAvgPool2d(x, outH, outW);
        };
    }
}
