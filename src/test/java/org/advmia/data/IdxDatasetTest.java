package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
    static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");

    @TempDir
    Path dir;

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void valIsTheTailOfTrainGzippedOrNot() throws Exception {
        for (boolean gz : new boolean[] {true, false}) {
            Path d = DataFixtures.idxDir(dir.resolve("mnist" + gz), 100, 30, gz);
            Dataset data = DataSpec.open("idx:" + d);
            assertEquals(90, data.size(Split.TRAIN));
            assertEquals(10, data.size(Split.VAL));
            assertEquals(30, data.size(Split.TEST));
            assertEquals(Task.CLASSIFICATION, data.info().task());
            assertEquals(10, data.info().classes());
            assertEquals(7, data.label(Split.TRAIN, 7)[0]);
            assertEquals(90 % 10, data.label(Split.VAL, 0)[0], "val starts at training row 90");
            byte[] raw = Files.readAllBytes(d.resolve("train-images-idx3-ubyte" + (gz ? ".gz" : "")));
            if (!gz) {
                float[] img = data.get(Split.VAL, 3).image();
                int row = 93;
                for (int p = 0; p < 784; p += 41) assertEquals((raw[16 + row * 784 + p] & 0xff) / 255f, img[p]);
            }
            assertEquals(25, IdxDataset.open(d, new SpecQuery("t", "val=25", IdxDataset.KEYS)).size(Split.VAL));
        }
    }

    @Test
    void brokenIdxFilesNameFileAndOffset() throws Exception {
        Path d = DataFixtures.idxDir(dir.resolve("base"), 40, 10, true);
        Path images = d.resolve("train-images-idx3-ubyte.gz");
        byte[] good = Files.readAllBytes(images);

        Files.write(images, DataFixtures.truncate(good, good.length / 2));
        String cut = error(() -> IdxDataset.open(d));
        assertTrue(cut.contains(images.toString()) && cut.contains("offset"), cut);

        Files.write(images, good);
        IdxDataset ref = IdxDataset.open(d);
        int caught = 0, tried = 0;
        for (int pos = 10; pos < good.length - 8; pos += good.length / 9) {
            tried++;
            Files.write(images, DataFixtures.flip(good, pos));
            try {
                IdxDataset flipped = IdxDataset.open(d);
                for (int i = 0; i < ref.size(Split.TRAIN); i++) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(ref.get(Split.TRAIN, i).image(),
                            flipped.get(Split.TRAIN, i).image(), "a flip at " + pos + " changed pixels silently");
                }
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains(images.toString()), e.getMessage());
                caught++;
            }
        }
        // gzip's CRC-32 catches flips in the data; a flip in an ignored header bit changes nothing.
        assertTrue(caught >= tried - 1, "caught " + caught + " of " + tried);
        Files.write(images, good);

        Path raw = DataFixtures.idxDir(dir.resolve("raw"), 40, 10, false);
        Path rawImages = raw.resolve("t10k-images-idx3-ubyte");
        byte[] r = Files.readAllBytes(rawImages);
        Files.write(rawImages, DataFixtures.truncate(r, 16 + 784 * 3 + 5));
        String rawCut = error(() -> IdxDataset.open(raw));
        assertTrue(rawCut.contains(rawImages + ": truncated at offset " + (16 + 784 * 3 + 5)), rawCut);
        byte[] wrongType = r.clone();
        wrongType[2] = 0x0D;
        Files.write(rawImages, wrongType);
        String type = error(() -> IdxDataset.open(raw));
        assertTrue(type.contains("data type 0xd at offset 2"), type);
        Files.write(rawImages, r);

        Path labels = raw.resolve("train-labels-idx1-ubyte");
        byte[] l = Files.readAllBytes(labels);
        l[8 + 17] = 12;
        Files.write(labels, l);
        String range = error(() -> IdxDataset.open(raw));
        assertTrue(range.contains(labels + ": label 12 of item 17 (byte offset 25) is out of range [0, 10)"), range);

        Files.delete(labels);
        String missing = error(() -> DataSpec.open("idx:" + raw));
        assertTrue(missing.contains("train-labels-idx1-ubyte: no such file"), missing);
    }

    @Test
    void realFashionMnist() {
        assumeTrue(Files.isRegularFile(FASHION.resolve("train-images-idx3-ubyte.gz")),
                "Fashion-MNIST not installed (apt-get install -y dataset-fashion-mnist)");
        Dataset d = DataSpec.open("idx:" + FASHION);
        assertEquals(55000, d.size(Split.TRAIN));
        assertEquals(5000, d.size(Split.VAL));
        assertEquals(10000, d.size(Split.TEST));
        assertEquals("Ankle boot", d.info().classNames().get(9));
        assertEquals(9, d.label(Split.TRAIN, 0)[0]);
        assertEquals(2, d.label(Split.TEST, 1)[0]);
        float sum = 0;
        for (float v : d.get(Split.TRAIN, 0).image()) sum += v * 255;
        assertEquals(76247, sum, 0.5, "pixel sum of the first training image");
        int[] counts = new int[10];
        for (int i = 0; i < d.size(Split.TEST); i++) counts[(int) d.label(Split.TEST, i)[0]]++;
        for (int c : counts) assertEquals(1000, c);
    }
}
