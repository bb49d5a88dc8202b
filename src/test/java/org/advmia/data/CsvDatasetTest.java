package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvDatasetTest {
    @TempDir
    Path dir;

    @BeforeEach
    void images() {
        DataFixtures.image(dir.resolve("red.png"), 16, 16, 3, (x, y, c) -> c == 0 ? 255 : 0);
        // 20 x 40: blue | red | green thirds; the centre 20 x 20 crop is all red.
        DataFixtures.image(dir.resolve("bands.tif"), 20, 40, 3, (x, y, c) -> x < 10 ? (c == 2 ? 255 : 0)
                : x < 30 ? (c == 0 ? 255 : 0) : (c == 1 ? 255 : 0));
        DataFixtures.image(dir.resolve("grey.png"), 64, 64, 1, (x, y, c) -> 100);
        DataFixtures.image(dir.resolve("photo.jpg"), 32, 32, 3, (x, y, c) -> 200);
    }

    Path csv(String name, String... lines) throws Exception {
        Path f = dir.resolve(name);
        Files.write(f, List.of(lines));
        return f;
    }

    static String error(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void decodesResizesAndCropsLikeTheSurvey() throws Exception {
        Path f = csv("data.csv", "image,label,split", "red.png,1,train", "bands.tif,0,train", "grey.png,2,val",
                "photo.jpg,1,test", "\"red.png\",0,test");
        Dataset d = DataSpec.open("csv:" + f + "?size=20");
        assertEquals(Task.CLASSIFICATION, d.info().task());
        assertEquals(3, d.info().classes());
        assertEquals(List.of(2, 1, 2), List.of(d.size(Split.TRAIN), d.size(Split.VAL), d.size(Split.TEST)));
        int plane = 20 * 20;
        float[] red = d.get(Split.TRAIN, 0).image();
        assertEquals(3 * plane, red.length);
        for (int p = 0; p < plane; p++) {
            assertEquals(1f, red[p], "R plane first");
            assertEquals(0f, red[plane + p]);
            assertEquals(0f, red[2 * plane + p]);
        }
        float[] bands = d.get(Split.TRAIN, 1).image();
        for (int p = 0; p < plane; p++) assertEquals(1f, bands[p], "the centre crop of the banded TIFF is red");
        assertEquals(0, d.label(Split.TRAIN, 1)[0]);
        for (float v : d.get(Split.VAL, 0).image()) assertEquals(100 / 255f, v, "area resize of a flat image");
        for (float v : d.get(Split.TEST, 0).image()) assertEquals(200 / 255f, v, 3 / 255f);

        Dataset grey = DataSpec.open("csv:" + f + "?size=8&channels=1&root=" + dir);
        assertEquals(64, grey.get(Split.TRAIN, 0).image().length);
        assertEquals(76 / 255f, grey.get(Split.TRAIN, 0).image()[0], 1 / 255f, "OpenCV's luma of pure red");

        Path out = dir.resolve("csv.npz");
        NpzExporter.export(d, out);
        ExportRoundTripTest.assertSameData(d, MedMnistDataset.open(out));
    }

    @Test
    void multiLabelNamedClassesAndSeededSplits() throws Exception {
        Path m = csv("chest.csv", "path,Atelectasis,Cardiomegaly,Effusion", "red.png,1,0,1", "grey.png,0,0,0",
                "photo.jpg,0,1,0", "red.png,1,1,1", "grey.png,0,0,1");
        Dataset d = DataSpec.open("csv:" + m + "?size=16&val=0.2&test=0.2");
        assertEquals(Task.MULTILABEL, d.info().task());
        assertEquals(List.of("Atelectasis", "Cardiomegaly", "Effusion"), d.info().classNames());
        assertEquals(List.of(3, 1, 1), List.of(d.size(Split.TRAIN), d.size(Split.VAL), d.size(Split.TEST)));
        int ones = 0;
        for (Split s : Split.values()) for (int i = 0; i < d.size(s); i++) for (float v : d.label(s, i)) ones += (int) v;
        assertEquals(7, ones, "every 0/1 target survives the split");
        Dataset again = DataSpec.open("csv:" + m + "?size=16&val=0.2&test=0.2");
        assertArrayEquals(d.label(Split.VAL, 0), again.label(Split.VAL, 0), "the split is deterministic");

        Path n = csv("names.csv", "file,class", "red.png,malignant", "grey.png,benign", "photo.jpg,benign");
        Dataset named = DataSpec.open("csv:" + n + "?size=16&val=0&test=0");
        assertEquals(List.of("benign", "malignant"), named.info().classNames());
        assertEquals(1, named.label(Split.TRAIN, 0)[0]);
        assertEquals(0, named.label(Split.TRAIN, 2)[0]);
    }

    @Test
    void badRowsAreNamedByLine() throws Exception {
        String empty = error(() -> DataSpec.open("csv:" + csvQuiet("e.csv", "image,label", "red.png,0", "", "grey.png,1")));
        assertTrue(empty.contains("e.csv line 3: empty row"), empty);
        String missing = error(() -> DataSpec.open("csv:" + csvQuiet("m.csv", "image,label", "red.png,0", "nope.png,1")));
        assertTrue(missing.contains("m.csv line 3: image") && missing.contains("nope.png does not exist"), missing);
        String range = error(() -> DataSpec.open("csv:" + csvQuiet("r.csv", "image,label", "red.png,0", "grey.png,5") + "?classes=3"));
        assertTrue(range.contains("r.csv line 3: label 5 is out of range [0, 3)"), range);
        String fields = error(() -> DataSpec.open("csv:" + csvQuiet("f.csv", "image,label", "red.png,0,7")));
        assertTrue(fields.contains("f.csv line 2: 3 fields, the header has 2"), fields);
        String multi = error(() -> DataSpec.open("csv:" + csvQuiet("x.csv", "image,A,B", "red.png,0,2")));
        assertTrue(multi.contains("x.csv line 2: column 'B' is '2', expected 0 or 1"), multi);
        String noLabel = error(() -> DataSpec.open("csv:" + csvQuiet("n.csv", "image,notes")));
        assertTrue(noLabel.contains("n.csv line 1: no label column"), noLabel);
        String noFile = error(() -> DataSpec.open("csv:" + dir.resolve("absent.csv")));
        assertTrue(noFile.contains("absent.csv: no such CSV file"), noFile);
    }

    private Path csvQuiet(String name, String... lines) {
        try {
            return csv(name, lines);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void corruptAndTruncatedPngsFailAtDecodeNamingFileAndLine() throws Exception {
        byte[] png = Files.readAllBytes(DataFixtures.image(dir.resolve("big.png"), 48, 48, 3, (x, y, c) -> (x * 5 + y * 3 + c * 50) & 0xff));
        Files.write(dir.resolve("cut.png"), DataFixtures.truncate(png, png.length / 2));
        Files.write(dir.resolve("flip.png"), DataFixtures.flip(png, png.length / 2));
        Path f = csv("bad.csv", "image,label,split", "big.png,0,train", "cut.png,1,train", "flip.png,1,train");
        Dataset d = DataSpec.open("csv:" + f + "?size=32");
        assertEquals(3 * 32 * 32, d.get(Split.TRAIN, 0).image().length);
        String cut = error(() -> d.get(Split.TRAIN, 1));
        assertTrue(cut.contains("cut.png") && cut.contains("bad.csv line 3") && cut.contains("truncated PNG"), cut);
        String flip = error(() -> d.get(Split.TRAIN, 2));
        assertTrue(flip.contains("flip.png") && flip.contains("bad.csv line 4") && flip.contains("cannot decode"), flip);
    }
}
