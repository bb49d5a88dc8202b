package org.advmia.backend;

/**
 * Everything a 2-D convolution kernel needs to know about its shapes, validated on creation.
 * Input [n, c, h, w], weight [cout, c / groups, kh, kw], output [n, cout, oh, ow].
 */
public record ConvGeometry(long n, long c, long h, long w, long cout, long kh, long kw, long strideH, long strideW,
                           long padH, long padW, long dilationH, long dilationW, long groups) {

    public ConvGeometry {
        if (n < 0 || c <= 0 || h <= 0 || w <= 0 || cout <= 0 || kh <= 0 || kw <= 0) {
            throw new IllegalArgumentException("conv2d: sizes must be positive: input [" + n + ", " + c + ", " + h + ", "
                    + w + "], " + cout + " filters of " + kh + "x" + kw);
        }
        if (strideH <= 0 || strideW <= 0 || dilationH <= 0 || dilationW <= 0 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("conv2d: stride and dilation must be positive, padding >= 0");
        }
        if (groups <= 0 || c % groups != 0 || cout % groups != 0) {
            throw new IllegalArgumentException("conv2d: groups=" + groups + " must divide in_channels=" + c
                    + " and out_channels=" + cout);
        }
        if (outH(h, kh, strideH, padH, dilationH) <= 0 || outH(w, kw, strideW, padW, dilationW) <= 0) {
            throw new IllegalArgumentException("conv2d: a " + kh + "x" + kw + " kernel (dilation " + dilationH
                    + ") does not fit a " + h + "x" + w + " input with padding " + padH);
        }
    }

    private static long outH(long in, long k, long s, long p, long d) {
        return (in + 2 * p - d * (k - 1) - 1) / s + 1;
    }

    public long outH() {
        return outH(h, kh, strideH, padH, dilationH);
    }

    public long outW() {
        return outH(w, kw, strideW, padW, dilationW);
    }

    public long[] toArray() {
        return new long[] {n, c, h, w, cout, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH(),
            outW()};
    }

    public long[] inputShape() {
        return new long[] {n, c, h, w};
    }

    public long[] weightShape() {
        return new long[] {cout, c / groups, kh, kw};
    }

    public long[] outputShape() {
        return new long[] {n, cout, outH(), outW()};
    }

    /** 2*MACs of the forward pass. */
    public double flops() {
        return 2.0 * n * cout * outH() * outW() * (c / groups) * kh * kw;
    }
}
