package org.advmia.data;

/**
 * One sample on the host: the image as channels x height x width floats in [0, 1] (row-major,
 * RGB order for colour), and its label: {class} for classification, {0/1 per class} for
 * multi-label, or one class index per pixel (height x width) for segmentation.
 *
 * <p>Images from every loader are 8-bit: each value is exactly {@code Pixels.U8[k]} for some
 * k in 0..255, so exporting to uint8 and loading again gives identical floats.
 */
public record Sample(float[] image, float[] label) {}
