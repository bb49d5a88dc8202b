package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export to MedMNIST .npz, load through medmnist:, and get the identical samples back. */
class ExportRoundTripTest {
    @TempDir
    Path dir;

    static void assertSameData(Dataset a, Dataset b) {
        DatasetInfo x = a.info(), y = b.info();
        assertEquals(x.task(), y.task());
        assertEquals(x.channels(), y.channels());
        assertEquals(x.height(), y.height());
        assertEquals(x.width(), y.width());
        assertEquals(x.classes(), y.classes());
        assertEquals(x.classNames(), y.classNames());
        for (Split s : Split.values()) {
            assertEquals(a.size(s), b.size(s), s.key());
            for (int i = 0; i < a.size(s); i++) {
                Sample p = a.get(s, i), q = b.get(s, i);
                assertArrayEquals(p.image(), q.image(), s.key() + " image " + i);
                assertArrayEquals(p.label(), q.label(), s.key() + " label " + i);
            }
        }
    }

    @Test
    void syntheticClassificationRoundTrips() {
        Dataset d = DataSpec.open("synthetic:lesions?size=32&channels=3&n=60&val=10&test=12&seed=4");
        Path f = dir.resolve("lesions.npz");
        NpzExporter.export(d, f);
        assertSameData(d, DataSpec.open("medmnist:" + f));
    }

    @Test
    void syntheticSegmentationRoundTrips() {
        Dataset d = DataSpec.open("synthetic:lesion-seg?size=24&channels=1&n=20&val=5&test=5");
        Path f = dir.resolve("seg.npz");
        NpzExporter.export(d, f);
        Dataset back = MedMnistDataset.open(f);
        assertEquals(Task.SEGMENTATION, back.info().task());
        assertSameData(d, back);
    }

    @Test
    void idxAndMultiLabelRoundTrip() throws Exception {
        Dataset idx = IdxDataset.open(DataFixtures.idxDir(dir.resolve("mnist"), 50, 20, true));
        Path f = dir.resolve("idx.npz");
        NpzExporter.export(idx, f);
        assertSameData(idx, MedMnistDataset.open(f));

        Dataset multi = MedMnistDataset.open(DataFixtures.medmnist(dir.resolve("chest.npz"), 28, 28, 1,
                new int[] {8, 2, 2}, 14, 2, 1));
        Path g = dir.resolve("chest-again.npz");
        NpzExporter.export(multi, g);
        assertSameData(multi, MedMnistDataset.open(g));
    }
}
