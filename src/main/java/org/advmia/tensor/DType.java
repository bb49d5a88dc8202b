package org.advmia.tensor;

/** Element types. float32 is the engine's working type; float64 exists for gradient checks. */
public enum DType {
    FLOAT32(0, 4),
    FLOAT64(1, 8);

    /** The code the native kernels dispatch on. */
    public final int code;
    public final int bytes;

    DType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }
}
