package org.advmia.backend.cpu;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.CriticalRegion;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of the CPU kernels in src/main/cpp (built by build-native.sh through JavaCPP).
 * Addresses travel as longs with an element count beside each buffer; every function checks
 * its arguments natively and returns 0, or -1 with a message in {@link #adv_last_error()}.
 * Use {@link CpuBackend}, which validates shapes first and turns errors into exceptions.
 */
@Platform(include = "advmia_cpu.h")
@NoException
public final class CpuNative {
    static {
        Loader.load();
    }

    private CpuNative() {}

    public static native String adv_last_error();

    public static native void adv_set_threads(int n);

    public static native int adv_get_threads();

    /** Test hook: the Winograd tile size (2, 4) AUTO uses where it takes Winograd; 0 = measured choice. */
    public static native int adv_set_wino_tile(int tile);

    /** Test hook: the Winograd kernels' instruction set, 256 (AVX2), 512 (AVX-512) or 0 (the CPU's best); returns the one in use or -1. */
    public static native int adv_set_wino_isa(int bits);

    /** 1 where the CPU can run the AVX-512 copy of the Winograd kernels. */
    public static native int adv_cpu_has_avx512();

    public static native long adv_alloc(long bytes);

    public static native void adv_free(long address);

    public static native int adv_init_blas(String libraryPath);

    @CriticalRegion
    public static native int adv_copy_in_f32(float[] src, long n, int dt, long dst, long dstn);

    @CriticalRegion
    public static native int adv_copy_in_f64(double[] src, long n, int dt, long dst, long dstn);

    @CriticalRegion
    public static native int adv_copy_out_f32(int dt, long src, long srcn, float[] dst, long n);

    @CriticalRegion
    public static native int adv_copy_out_f64(int dt, long src, long srcn, double[] dst, long n);

    public static native int adv_fill(int dt, long y, long yn, long n, double v);

    public static native int adv_copy_block(int dt, long src, long sn, long soff, long sstride, long dst, long dn,
                                            long doff, long dstride, long rows, long cols);

    public static native int adv_cast(int sdt, long src, long sn, int ddt, long dst, long dn, long n);

    public static native int adv_unary(int dt, int op, long x, long xn, long y, long yn, long n, double a, double b);

    public static native int adv_unary_bwd(int dt, int op, long x, long xn, long y, long yn, long gy, long gyn, long gx,
                                           long gxn, long n, double a, double b);

    public static native int adv_binary(int dt, int op, long a, long an, long b, long bn, long y, long yn, int ndim,
                                        long[] shape, long[] as, long[] bs);

    public static native int adv_axpby(int dt, long x, long xn, long y, long yn, long out, long outn, long n, double a,
                                       double b);

    public static native int adv_transpose(int dt, long b, long r, long c, long x, long xn, long y, long yn);

    public static native int adv_reduce(int dt, int op, long x, long xn, long y, long yn, long outer, long n,
                                        long inner);

    public static native int adv_argmax(int dt, long x, long xn, long y, long yn, long rows, long cols);

    public static native long adv_count_nonfinite(int dt, long x, long xn, long n);

    public static native int adv_gemm(int dt, int ta, int tb, long m, long n, long k, double alpha, long a, long an,
                                      long lda, long b, long bn, long ldb, double beta, long c, long cn, long ldc);

    /**
     * {@code algo}: 0 picks by shape, 1 im2col + GEMM, 2 Winograd F(2x2,3x3), 3 Winograd F(4x4,3x3)
     * (see advmia_conv.h).
     */
    public static native int adv_conv2d_fwd(int dt, int algo, long[] geom, long x, long xn, long w, long wn, long b,
                                            long bn, long y, long yn);

    /** {@code algo} as for {@link #adv_conv2d_fwd}. */
    public static native int adv_conv2d_bwd_data(int dt, int algo, long[] geom, long gy, long gyn, long w, long wn,
                                                 long gx, long gxn);

    /** {@code algo} as for {@link #adv_conv2d_fwd}. */
    public static native int adv_conv2d_bwd_filter(int dt, int algo, long[] geom, long x, long xn, long gy, long gyn,
                                                   long gw, long gwn, long gb, long gbn);

    /** y = conv(relu(x)) + b: a ReLU fused into the convolution that consumes it; {@code algo} as above. */
    public static native int adv_conv2d_relu_fwd(int dt, int algo, long[] geom, long x, long xn, long w, long wn,
                                                 long b, long bn, long y, long yn);

    /** The input gradient of {@link #adv_conv2d_relu_fwd}: the convolution's, zeroed where x <= 0. */
    public static native int adv_conv2d_relu_bwd_data(int dt, int algo, long[] geom, long gy, long gyn, long w,
                                                      long wn, long x, long xn, long gx, long gxn);

    /** The weight and bias gradients of {@link #adv_conv2d_relu_fwd} (gw or gb may be 0). */
    public static native int adv_conv2d_relu_bwd_filter(int dt, int algo, long[] geom, long x, long xn, long gy,
                                                        long gyn, long gw, long gwn, long gb, long gbn);

    /**
     * Max-pool 2x2 / stride 2 of the convolution (of relu(x) where reluIn != 0), into y [N, Cout,
     * OH/2, OW/2] and its argmax indices idx (as {@link #adv_pool2d_fwd} writes them); OH, OW even.
     */
    public static native int adv_conv2d_pool_fwd(int dt, int algo, int reluIn, long[] geom, long x, long xn, long w,
                                                 long wn, long b, long bn, long y, long yn, long idx, long idxn);

    /**
     * The backward of {@link #adv_conv2d_pool_fwd} from the pooled gradient gy and the pool's
     * indices: gx (zero where x <= 0 when reluIn), gw, gb; each may be 0 to skip it.
     */
    public static native int adv_conv2d_pool_bwd(int dt, int algo, int reluIn, long[] geom, long x, long xn, long w,
                                                 long wn, long gy, long gyn, long idx, long idxn, long gx, long gxn,
                                                 long gw, long gwn, long gb, long gbn);

    public static native int adv_pool2d_fwd(int dt, long[] geom, long x, long xn, long y, long yn, long idx,
                                            long idxn);

    public static native int adv_pool2d_bwd(int dt, long[] geom, long gy, long gyn, long idx, long idxn, long gx,
                                            long gxn);

    public static native int adv_gather_planes(int dt, long p, long s, long o, long src, long srcn, long idx,
                                               long idxn, long out, long outn);

    public static native int adv_median_filter(int dt, long p, long h, long w, long k, long x, long xn, long y,
                                               long yn);

    public static native int adv_upsample(int dt, int backward, int mode, int alignCorners, long n, long c, long h,
                                          long w, long oh, long ow, long in, long inn, long out, long outn);

    /** act: -1 for none, or UnaryOp.RELU / RELU6's code, applied to y in the same pass. */
    public static native int adv_batchnorm_fwd(int dt, int training, int act, long n, long c, long hw, long cn,
                                               double momentum, double eps, long x, long xn, long gamma, long beta,
                                               long rmean, long rvar, long y, long yn, long smean, long sinv);

    /** act as in the forward; with one, gy is the gradient of the activated output y (read for the mask). */
    public static native int adv_batchnorm_bwd(int dt, int training, int act, long n, long c, long hw, long cn, long x,
                                               long xn, long y, long yn, long gy, long gyn, long gamma, long smean,
                                               long sinv, long gx, long gxn, long ggamma, long gbeta);

    public static native int adv_log_softmax(int dt, int backward, long n, long c, long x, long xn, long y, long yn,
                                             long gy, long gyn, long gx, long gxn);

    public static native int adv_softmax_ce(int dt, int backward, long n, long c, double smoothing, long z, long zn,
                                            long labels, long ln, long weights, long wn, long loss, long lossn,
                                            long gloss, long glossn, long gz, long gzn);

    public static native int adv_margin(int dt, int backward, long n, long c, long z, long zn, long labels, long ln,
                                        long m, long mn, long gm, long gmn, long gz, long gzn);

    public static native int adv_dlr(int dt, int backward, long n, long c, long z, long zn, long labels, long ln,
                                     long targets, long tn, long out, long outn, long gout, long goutn, long gz,
                                     long gzn);

    public static native int adv_bce_logits(int dt, int backward, long n, long c, long x, long xn, long t, long tn,
                                            long pw, long pwn, long loss, long lossn, long gloss, long glossn, long gx,
                                            long gxn);

    public static native int adv_sgd_step(int dt, long p, long pn, long g, long gn, long buf, long bufn, long n,
                                          double lr, double momentum, double dampening, double wd, int nesterov,
                                          int first);

    public static native int adv_adam_step(int dt, long p, long pn, long g, long gn, long m, long mn, long v, long vn,
                                           long n, double lr, double b1, double b2, double eps, double wd,
                                           int decoupled, long step);

    public static native int adv_random(int dt, int kind, long y, long yn, long n, long seed, long offset, double a,
                                        double b);

    public static native int adv_attack_step(int dt, int norm, long n, long d, long x0, long x0n, long x, long xn,
                                             long g, long gn, double alpha, long alphaRows, long arn, double eps,
                                             long epsRows, long ern, long active, long actn, double lo, double hi);
}
