package org.advmia.benchmark.visual;

/**
 * The geometry of the planar images the pictures show: channels (1 grey, 3 RGB), height, width.
 * Images are float arrays in CHW order with values in [0, 1]; a batch is N of them back to back.
 */
public record ImageShape(int channels, int height, int width) {
    public ImageShape {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("pictures show grey (1 channel) or RGB (3 channels) images, got "
                    + channels + " channels");
        }
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + height + "x" + width);
        }
        if ((long) channels * height * width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("image " + channels + "x" + height + "x" + width + " is too large");
        }
    }

    /** Pixels per plane: the length of a heat map or a mask. */
    public int pixels() {
        return height * width;
    }

    /** Values per image: channels * height * width. */
    public int values() {
        return channels * height * width;
    }

    @Override
    public String toString() {
        return channels + "x" + height + "x" + width;
    }
}
