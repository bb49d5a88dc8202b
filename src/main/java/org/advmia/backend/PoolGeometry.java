package org.advmia.backend;

/** Pooling shapes: input [n, c, h, w] to output [n, c, outH, outW]. */
public record PoolGeometry(PoolKind kind, long n, long c, long h, long w, long kh, long kw, long strideH, long strideW,
                           long padH, long padW, long outH, long outW, boolean countIncludePad) {

    public PoolGeometry {
        if (n < 0 || c <= 0 || h <= 0 || w <= 0 || outH <= 0 || outW <= 0) {
            throw new IllegalArgumentException(kind + " pool: input [" + n + ", " + c + ", " + h + ", " + w
                    + "] gives an empty output " + outH + "x" + outW);
        }
        if (kind != PoolKind.ADAPTIVE_AVG) {
            if (kh <= 0 || kw <= 0 || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0) {
                throw new IllegalArgumentException(kind + " pool: kernel and stride must be positive, padding >= 0");
            }
            if (2 * padH > kh || 2 * padW > kw) {
                throw new IllegalArgumentException(kind + " pool: padding must be at most half the kernel");
            }
        }
    }

    /** PyTorch's output size for a kernel/stride/padding pool, with or without ceil mode. */
    public static long outSize(long in, long k, long s, long p, boolean ceil) {
        long span = in + 2 * p - k;
        long o = (ceil ? Math.floorDiv(span + s - 1, s) : Math.floorDiv(span, s)) + 1;
        // In ceil mode the last window must start inside the input or its left padding.
        if (ceil && (o - 1) * s >= in + p) o--;
        return o;
    }

    public static PoolGeometry of(PoolKind kind, long[] in, long kh, long kw, long sh, long sw, long ph, long pw,
                                  boolean ceil, boolean countIncludePad) {
        return new PoolGeometry(kind, in[0], in[1], in[2], in[3], kh, kw, sh, sw, ph, pw,
                outSize(in[2], kh, sh, ph, ceil), outSize(in[3], kw, sw, pw, ceil), countIncludePad);
    }

    public static PoolGeometry adaptive(long[] in, long outH, long outW) {
        return new PoolGeometry(PoolKind.ADAPTIVE_AVG, in[0], in[1], in[2], in[3], 0, 0, 1, 1, 0, 0, outH, outW, true);
    }

    public long[] toArray() {
        return new long[] {n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW, countIncludePad ? 1 : 0,
            kind.code()};
    }

    public long[] inputShape() {
        return new long[] {n, c, h, w};
    }

    public long[] outputShape() {
        return new long[] {n, c, outH, outW};
    }
}
