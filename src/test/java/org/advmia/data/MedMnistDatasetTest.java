package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MedMnistDatasetTest {
    @TempDir
    Path dir;

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void loadsANumpyWrittenArchive() {
        Path f = Path.of("src/test/resources/data/numpy_medmnist.npz");
        Dataset d = DataSpec.open("medmnist:" + f);
        DatasetInfo info = d.info();
        assertEquals(Task.CLASSIFICATION, info.task());
        assertEquals(3, info.channels());
        assertEquals(28, info.height());
        assertEquals(7, info.classes());
        assertEquals(6, d.size(Split.TRAIN));
        assertEquals(2, d.size(Split.VAL));
        assertEquals(3, d.size(Split.TEST));
        try (Npz npz = Npz.open(f)) {
            NpyArray raw = npz.get("test_images"), labels = npz.get("test_labels");
            int plane = 28 * 28;
            Sample s = d.get(Split.TEST, 2);
            byte[] px = new byte[plane * 3];
            raw.getBytes(2L * plane * 3, px, 0, px.length);
            for (int p = 0; p < plane; p += 37) {
                for (int c = 0; c < 3; c++) assertEquals((px[p * 3 + c] & 0xff) / 255f, s.image()[c * plane + p], "HWC -> CHW");
            }
            assertEquals(labels.getDouble(2), s.label()[0]);
        }
    }

    @Test
    void multiLabelAndGreyArchives() {
        Path f = DataFixtures.medmnist(dir.resolve("chestmnist.npz"), 28, 28, 1, new int[] {10, 3, 4}, 14, 2, 5);
        Dataset d = MedMnistDataset.open(f);
        assertEquals(Task.MULTILABEL, d.info().task());
        assertEquals(14, d.info().classes());
        assertEquals(1, d.info().channels());
        assertEquals("chestmnist", d.info().name());
        float[] l = d.get(Split.VAL, 1).label();
        assertEquals(14, l.length);
        for (float v : l) assertTrue(v == 0 || v == 1);
        assertEquals(28 * 28, d.get(Split.TRAIN, 9).image().length);
    }

    @Test
    void badArchivesAreRejectedNamingArrayAndRow() throws Exception {
        Path ok = DataFixtures.medmnist(dir.resolve("ok.npz"), 8, 8, 3, new int[] {12, 3, 3}, 1, 4, 0);
        String range = error(() -> DataSpec.open("medmnist:" + ok + "?classes=3"));
        assertTrue(range.contains("ok.npz") && range.contains("train_labels row 3") && range.contains("out of range [0, 3)"), range);

        Path floats = dir.resolve("floats.npz");
        try (Npz.Writer w = new Npz.Writer(floats)) {
            for (Split s : Split.values()) {
                w.write(s.key() + "_images", "<f4", new long[] {1, 2, 2}, new byte[16]);
                w.write(s.key() + "_labels", "|u1", new long[] {1, 1}, new byte[1]);
            }
        }
        String dtype = error(() -> MedMnistDataset.open(floats));
        assertTrue(dtype.contains("floats.npz") && dtype.contains("train_images has dtype <f4") && dtype.contains("|u1"), dtype);

        Path missing = dir.resolve("missing.npz");
        try (Npz.Writer w = new Npz.Writer(missing)) {
            w.write("train_images", "|u1", new long[] {1, 2, 2}, new byte[4]);
        }
        String keys = error(() -> MedMnistDataset.open(missing));
        assertTrue(keys.contains("missing array 'train_labels'") && keys.contains("[train_images]"), keys);

        Path counts = dir.resolve("counts.npz");
        try (Npz.Writer w = new Npz.Writer(counts)) {
            for (Split s : Split.values()) {
                w.write(s.key() + "_images", "|u1", new long[] {3, 2, 2}, new byte[12]);
                w.write(s.key() + "_labels", "|u1", new long[] {2, 1}, new byte[] {0, 1});
            }
        }
        String n = error(() -> MedMnistDataset.open(counts));
        assertTrue(n.contains("train_labels has shape (2, 1) but train_images holds 3 images"), n);

        Path multi = dir.resolve("multi.npz");
        try (Npz.Writer w = new Npz.Writer(multi)) {
            for (Split s : Split.values()) {
                w.write(s.key() + "_images", "|u1", new long[] {2, 2, 2}, new byte[8]);
                w.write(s.key() + "_labels", "|u1", new long[] {2, 3}, new byte[] {0, 1, 0, 1, 2, 0});
            }
        }
        String mv = error(() -> MedMnistDataset.open(multi));
        assertTrue(mv.contains("train_labels row 1 column 1") && mv.contains("not 0 or 1"), mv);

        String none = error(() -> DataSpec.open("medmnist:" + dir.resolve("nope.npz")));
        assertTrue(none.contains("nope.npz: no such file"), none);
    }

    @Test
    void labelsMatchImagesRowForRow() {
        Path f = DataFixtures.medmnist(dir.resolve("rows.npz"), 4, 4, 1, new int[] {30, 5, 5}, 1, 5, 3);
        Dataset d = MedMnistDataset.open(f);
        for (int i = 0; i < 30; i++) {
            assertEquals(i % 5, d.label(Split.TRAIN, i)[0]);
            assertArrayEquals(d.label(Split.TRAIN, i), d.get(Split.TRAIN, i).label());
        }
    }

    /** Arrays over the heap limit (1 GiB) are inflated to a mapped file; chunk edges must not show. */
    @Test
    void mappedLargeArraysReadTheSame() {
        Path f = DataFixtures.medmnist(dir.resolve("big.npz"), 28, 28, 3, new int[] {40, 5, 5}, 1, 9, 2);
        Dataset heap = MedMnistDataset.open(f);
        long saved = NpyArray.heapLimit;
        NpyArray.heapLimit = 1000; // 28 x 28 x 3 images straddle 1000-byte chunks
        try {
            ExportRoundTripTest.assertSameData(heap, MedMnistDataset.open(f));
        } finally {
            NpyArray.heapLimit = saved;
        }
    }
}
