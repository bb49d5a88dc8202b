package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentationDatasetTest {
    @TempDir
    Path dir;

    /** An ISIC-style pair: a dark square on light skin, and its mask with the given inside/outside values. */
    static void pair(Path root, String stem, int h, int w, int maskH, int inside, int outside) throws Exception {
        Files.createDirectories(root.resolve("images"));
        Files.createDirectories(root.resolve("masks"));
        DataFixtures.image(root.resolve("images").resolve(stem + ".png"), h, w, 3,
                (x, y, c) -> x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4 ? 40 : 220);
        DataFixtures.image(root.resolve("masks").resolve(stem + "_segmentation.png"), maskH, w, 1,
                (x, y, c) -> x >= w / 4 && x < 3 * w / 4 && y >= h / 4 && y < 3 * h / 4 ? inside : outside);
    }

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void binaryMasksMapToZeroOneAndStayAlignedAfterResize() throws Exception {
        for (int i = 0; i < 10; i++) pair(dir, "ISIC_" + i, 64, 64, 64, 255, 0);
        Dataset d = DataSpec.open("seg:" + dir + "?size=16&val=0.2&test=0.2");
        assertEquals(Task.SEGMENTATION, d.info().task());
        assertEquals(2, d.info().classes());
        assertEquals(List.of(6, 2, 2), List.of(d.size(Split.TRAIN), d.size(Split.VAL), d.size(Split.TEST)));
        Sample s = d.get(Split.VAL, 1);
        assertEquals(16 * 16, s.label().length);
        int plane = 256;
        for (int p = 0; p < plane; p++) {
            float m = s.label()[p];
            assertTrue(m == 0 || m == 1, "nearest-neighbour masks keep class indices");
            assertEquals(m == 1 ? 40 / 255f : 220 / 255f, s.image()[p], 1e-6, "mask and image aligned at pixel " + p);
        }
    }

    @Test
    void paletteValuesSortIntoClassesAndSplitFoldersAreUsed() throws Exception {
        for (Split s : Split.values()) {
            Path sub = dir.resolve(s.key());
            pair(sub, "a", 32, 32, 32, 128, 0);
            pair(sub, "b", 32, 32, 32, 255, 128);
        }
        Dataset d = DataSpec.open("seg:" + dir + "?size=32");
        assertEquals(3, d.info().classes(), "values 0, 128, 255");
        assertEquals(2, d.size(Split.VAL));
        Sample a = d.get(Split.TEST, 0), b = d.get(Split.TEST, 1);
        assertEquals(1, a.label()[16 * 32 + 16], "128 is class 1");
        assertEquals(0, a.label()[0]);
        assertEquals(2, b.label()[16 * 32 + 16], "255 is class 2");
        assertEquals(1, b.label()[0]);
        Dataset fixed = DataSpec.open("seg:" + dir + "?size=32&values=0,128,255,64");
        assertEquals(4, fixed.info().classes());
        assertEquals(2, fixed.get(Split.TRAIN, 0).label()[16 * 32 + 16], "values= sorted: 0, 64, 128, 255");
    }

    @Test
    void mismatchedMissingAndLossyMasksAreErrors() throws Exception {
        Path a = dir.resolve("a");
        pair(a, "x", 32, 32, 30, 255, 0);
        pair(a, "y", 32, 32, 32, 255, 0);
        Dataset d = DataSpec.open("seg:" + a + "?size=16&val=0&test=0");
        String size = error(() -> d.get(Split.TRAIN, 0));
        assertTrue(size.contains("x.png is 32x32 but its mask") && size.contains("x_segmentation.png is 32x30"), size);

        Path b = dir.resolve("b");
        pair(b, "x", 16, 16, 16, 255, 0);
        DataFixtures.image(b.resolve("images/lonely.png"), 16, 16, 3, (x, y, c) -> 0);
        String missing = error(() -> DataSpec.open("seg:" + b));
        assertTrue(missing.contains("lonely.png: no mask") && missing.contains("lonely_segmentation.png"), missing);

        Path c = dir.resolve("c");
        pair(c, "x", 16, 16, 16, 255, 0);
        DataFixtures.image(c.resolve("masks/x_segmentation.png"), 16, 16, 1, (x, y, k) -> (x * 16 + y) & 0xff);
        String lossy = error(() -> DataSpec.open("seg:" + c));
        assertTrue(lossy.contains("x_segmentation.png: 256 distinct mask values"), lossy);

        Path e = dir.resolve("e");
        pair(e, "x", 16, 16, 16, 0, 0);
        String one = error(() -> DataSpec.open("seg:" + e));
        assertTrue(one.contains("only the value [0]") && one.contains("values=0,255"), one);

        Path f = dir.resolve("f");
        pair(f, "x", 16, 16, 16, 255, 0);
        Dataset partial = DataSpec.open("seg:" + f + "?values=0,128&val=0&test=0");
        String unknown = error(() -> partial.get(Split.TRAIN, 0));
        assertTrue(unknown.contains("pixel value 255") && unknown.contains("not one of the mask values [0, 128]"), unknown);
    }
}
