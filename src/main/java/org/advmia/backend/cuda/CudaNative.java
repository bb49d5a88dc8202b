package org.advmia.backend.cuda;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI binding of the CUDA kernel library (src/main/cuda, compiled by nvcc into
 * libadvmia_cuda.a and linked statically with cudart). Built only where nvcc exists; at run time
 * it needs just the driver (libcuda.so.1). Use {@link #available()} before touching anything.
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

    /** True when the library loaded and at least one GPU is visible. */
    public static boolean available() {
        return LOAD_ERROR == null && advc_device_count() > 0;
    }

    /** Why the library is unavailable: a load error, "no GPU", or null when available. */
    public static String unavailableReason() {
        if (LOAD_ERROR != null) return "CUDA library did not load: " + LOAD_ERROR;
        return advc_device_count() > 0 ? null : "no CUDA device visible";
    }

    public static native String advc_last_error();

    public static native int advc_device_count();

    public static native long advc_malloc(long bytes);

    public static native int advc_free(long address);

    public static native int advc_memcpy(long dst, long src, long bytes, int kind);

    public static native int advc_synchronize();

    public static native int advc_attack_step(int norm, long n, long d, long x0, long x0n, long x, long xn, long g,
                                              long gn, double alpha, double eps, double lo, double hi);
}
