package org.advmia.benchmark.visual;

/**
 * Where a written grid put its tiles: the picture's size, the size of every tile (the image
 * enlarged by {@code scale}), and the left edge of each column and top edge of each row, in
 * pixels. Lets a report point into the picture, and tests check tiles pixel by pixel.
 */
public record GridLayout(int width, int height, int scale, int tileWidth, int tileHeight, int[] columnX, int[] rowY) {
    /** Column c, row r, image pixel (x, y): the top-left corner of that pixel's block. */
    public int pictureX(int column, int x) {
        return columnX[column] + x * scale;
    }

    public int pictureY(int row, int y) {
        return rowY[row] + y * scale;
    }
}
