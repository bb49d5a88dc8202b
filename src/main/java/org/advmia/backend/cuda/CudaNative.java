package org.advmia.backend.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.CriticalRegion;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of the CUDA kernel library (src/main/cuda, compiled by nvcc into
 * libadvmia_cuda.a and linked statically with cudart). Built only where nvcc exists; at run time
 * it needs just the driver (libcuda.so.1). Each function mirrors the CPU entry of the same name in
 * {@link org.advmia.backend.cpu.CpuNative} (adv_ becomes advc_), validates its arguments on the
 * host before launching, and returns 0 or -1 with {@link #advc_last_error()}. Use
 * {@link #available()} before touching anything, and {@link CudaBackend} rather than this class.
 */
@Platform(include = "advmia_cuda.h", link = {"pthread", "rt", "dl", "cudart_static", "advmia_cuda"})
@NoException
public final class CudaNative {
    private static final Throwable LOAD_ERROR;

    static {
        Throwable err = null;
        try {
            Loader.load();
        } catch (Throwable t) {
            err = t;
        }
        LOAD_ERROR = err;
    }

    private CudaNative() {}

    private static volatile int deviceCount = -1;

    /** Visible devices (0 without a GPU, a driver or this library), probed once per process. */
    public static int deviceCount() {
        int n = deviceCount;
        if (n < 0) deviceCount = n = LOAD_ERROR == null ? advc_device_count() : 0;
        return n;
    }

    /** True when the library loaded and at least one GPU is visible. */
    public static boolean available() {
        return deviceCount() > 0;
    }

    /** Why the library is unavailable: a load error, "no GPU", or null when available. */
    public static String unavailableReason() {
        if (LOAD_ERROR != null) return "CUDA library did not load: " + LOAD_ERROR;
        return deviceCount() > 0 ? null : "no CUDA device visible (no GPU, or no NVIDIA driver)";
    }

    public static native String advc_last_error();

    // ---- runtime

    public static native int advc_device_count();

    public static native int advc_init(int device);

    public static native String advc_device_info(int device);

    public static native long advc_stream();

    public static native long advc_malloc(long bytes);

    public static native int advc_free(long address);

    public static native int advc_memcpy(long dst, long src, long bytes, int kind);

    public static native int advc_synchronize();

    @CriticalRegion
    public static native int advc_copy_in_f32(float[] src, long n, int dt, long dst, long dstn);

    @CriticalRegion
    public static native int advc_copy_in_f64(double[] src, long n, int dt, long dst, long dstn);

    @CriticalRegion
    public static native int advc_copy_out_f32(int dt, long src, long srcn, float[] dst, long n);

    @CriticalRegion
    public static native int advc_copy_out_f64(int dt, long src, long srcn, double[] dst, long n);

    public static native int advc_graph_begin();

    public static native long advc_graph_end();

    public static native int advc_graph_launch(long graph);

    public static native int advc_graph_destroy(long graph);

    // ---- data movement and elementwise

    public static native int advc_fill(int dt, long y, long yn, long n, double v);

    public static native int advc_copy_block(int dt, long src, long sn, long soff, long sstride, long dst, long dn,
                                             long doff, long dstride, long rows, long cols);

    public static native int advc_cast(int sdt, long src, long sn, int ddt, long dst, long dn, long n);

    public static native int advc_transpose(int dt, long b, long r, long c, long x, long xn, long y, long yn);

    public static native int advc_unary(int dt, int op, long x, long xn, long y, long yn, long n, double a, double b);

    public static native int advc_unary_bwd(int dt, int op, long x, long xn, long y, long yn, long gy, long gyn,
                                            long gx, long gxn, long n, double a, double b);

    public static native int advc_binary(int dt, int op, long a, long an, long b, long bn, long y, long yn, int ndim,
                                         long[] shape, long[] as, long[] bs);

    public static native int advc_axpby(int dt, long x, long xn, long y, long yn, long out, long outn, long n,
                                        double a, double b);

    // ---- reductions

    public static native int advc_reduce(int dt, int op, long x, long xn, long y, long yn, long outer, long n,
                                         long inner);

    public static native int advc_argmax(int dt, long x, long xn, long y, long yn, long rows, long cols);

    public static native long advc_count_nonfinite(int dt, long x, long xn, long n);

    // ---- spatial

    public static native int advc_pool2d_fwd(int dt, long[] geom, long x, long xn, long y, long yn, long idx,
                                             long idxn);

    public static native int advc_pool2d_bwd(int dt, long[] geom, long gy, long gyn, long idx, long idxn, long gx,
                                             long gxn);

    public static native int advc_gather_planes(int dt, long p, long s, long o, long src, long srcn, long idx,
                                                long idxn, long out, long outn);

    public static native int advc_median_filter(int dt, long p, long h, long w, long k, long x, long xn, long y,
                                                long yn);

    public static native int advc_upsample(int dt, int backward, int mode, int alignCorners, long n, long c, long h,
                                           long w, long oh, long ow, long in, long inn, long out, long outn);

    public static native int advc_batchnorm_fwd(int dt, int training, long n, long c, long hw, long cn,
                                                double momentum, double eps, long x, long xn, long gamma, long beta,
                                                long rmean, long rvar, long y, long yn, long smean, long sinv);

    public static native int advc_batchnorm_bwd(int dt, int training, long n, long c, long hw, long cn, long x,
                                                long xn, long gy, long gyn, long gamma, long smean, long sinv, long gx,
                                                long gxn, long ggamma, long gbeta);

    // ---- losses

    public static native int advc_log_softmax(int dt, int backward, long n, long c, long x, long xn, long y, long yn,
                                              long gy, long gyn, long gx, long gxn);

    public static native int advc_softmax_ce(int dt, int backward, long n, long c, double smoothing, long z, long zn,
                                             long labels, long ln, long weights, long wn, long loss, long lossn,
                                             long gloss, long glossn, long gz, long gzn);

    public static native int advc_margin(int dt, int backward, long n, long c, long z, long zn, long labels, long ln,
                                         long m, long mn, long gm, long gmn, long gz, long gzn);

    public static native int advc_dlr(int dt, int backward, long n, long c, long z, long zn, long labels, long ln,
                                      long targets, long tn, long out, long outn, long gout, long goutn, long gz,
                                      long gzn);

    public static native int advc_bce_logits(int dt, int backward, long n, long c, long x, long xn, long t, long tn,
                                             long pw, long pwn, long loss, long lossn, long gloss, long glossn, long gx,
                                             long gxn);

    // ---- in-place updates

    public static native int advc_sgd_step(int dt, long p, long pn, long g, long gn, long buf, long bufn, long n,
                                           double lr, double momentum, double dampening, double wd, int nesterov,
                                           int first);

    public static native int advc_adam_step(int dt, long p, long pn, long g, long gn, long m, long mn, long v, long vn,
                                            long n, double lr, double b1, double b2, double eps, double wd,
                                            int decoupled, long step);

    public static native int advc_random(int dt, int kind, long y, long yn, long n, long seed, long offset, double a,
                                         double b);

    public static native int advc_attack_step(int dt, int norm, long n, long d, long x0, long x0n, long x, long xn,
                                              long g, long gn, double alpha, long alphaRows, long arn, double eps,
                                              long epsRows, long ern, long active, long actn, double lo, double hi);

    // ---- host emulation of the spatial and loss kernels' per-element code (emulate.cu), for tests without a GPU;
    // buffers are HOST addresses (CPU tensors)

    public static native int advc_emulate_pool2d_fwd(int dt, long[] geom, long x, long xn, long y, long yn, long idx,
                                                     long idxn);

    public static native int advc_emulate_pool2d_bwd(int dt, long[] geom, long gy, long gyn, long idx, long idxn,
                                                     long gx, long gxn);

    public static native int advc_emulate_upsample(int dt, int backward, int mode, int alignCorners, long n, long c,
                                                   long h, long w, long oh, long ow, long in, long inn, long out,
                                                   long outn);

    public static native int advc_emulate_median_filter(int dt, long p, long h, long w, long k, long x, long xn,
                                                        long y, long yn);

    public static native int advc_emulate_log_softmax(int dt, int backward, long n, long c, long x, long xn, long y,
                                                      long yn, long gy, long gyn, long gx, long gxn);

    public static native int advc_emulate_softmax_ce(int dt, int backward, long n, long c, double smoothing, long z,
                                                     long zn, long labels, long ln, long weights, long wn, long loss,
                                                     long lossn, long gloss, long glossn, long gz, long gzn);

    public static native int advc_emulate_margin(int dt, int backward, long n, long c, long z, long zn, long labels,
                                                 long ln, long m, long mn, long gm, long gmn, long gz, long gzn);

    public static native int advc_emulate_dlr(int dt, int backward, long n, long c, long z, long zn, long labels,
                                              long ln, long targets, long tn, long out, long outn, long gout,
                                              long goutn, long gz, long gzn);

    public static native int advc_emulate_bce_logits(int dt, int backward, long n, long c, long x, long xn, long t,
                                                     long tn, long pw, long pwn, long loss, long lossn, long gloss,
                                                     long glossn, long gx, long gxn);
}
