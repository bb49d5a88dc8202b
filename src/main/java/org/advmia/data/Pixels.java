package org.advmia.data;

/** 8-bit pixel values as floats: one table so that export and import agree bit for bit. */
public final class Pixels {
    private Pixels() {}

    /** U8[k] = k / 255 as a float; every image value a dataset returns is one of these. */
    public static final float[] U8 = new float[256];

    static {
        for (int k = 0; k < 256; k++) U8[k] = k / 255f;
    }

    /** The 8-bit code of a value in [0, 1] (rounded, clamped). */
    public static int toByte(float v) {
        int k = Math.round(v * 255f);
        return k < 0 ? 0 : Math.min(k, 255);
    }

    /** Rounds a value in [0, 1] to the nearest 8-bit level. */
    public static float quantize(float v) {
        return U8[toByte(v)];
    }
}
