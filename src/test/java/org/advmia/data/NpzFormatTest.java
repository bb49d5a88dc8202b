package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pure-Java .npy / .npz reader against numpy's writer, our writer, and broken files. */
class NpzFormatTest {
    static final Path NUMPY = Path.of("src/test/resources/data/numpy_dtypes.npz");

    @TempDir
    Path dir;

    static double[] values(NpyArray a) {
        double[] v = new double[(int) a.numel()];
        for (int i = 0; i < v.length; i++) v[i] = a.getDouble(i);
        return v;
    }

    @Test
    void readsEveryDtypeNumpyWrites() {
        double[] ramp = new double[24];
        for (int i = 0; i < 24; i++) ramp[i] = i;
        try (Npz npz = Npz.open(NUMPY)) {
            NpyArray u1 = npz.get("u1");
            assertEquals("|u1", u1.descr);
            assertArrayEquals(new long[] {2, 3, 4}, u1.shape);
            assertArrayEquals(ramp, values(u1));
            for (String k : new String[] {"i4", "i8"}) {
                double[] v = values(npz.get(k));
                for (int i = 0; i < 24; i++) assertEquals(i - 10, v[i], k);
            }
            double[] f4 = values(npz.get("f4")), f8 = values(npz.get("f8")), b1 = values(npz.get("b1"));
            for (int i = 0; i < 24; i++) {
                assertEquals(i / 4.0, f4[i]);
                assertEquals(i / 8.0, f8[i]);
                assertEquals(i % 3 == 0 ? 1 : 0, b1[i]);
            }
            assertArrayEquals(ramp, values(npz.get("fortran")), "fortran_order data is reordered to C order");
            NpyArray scalar = npz.get("scalar");
            assertEquals(0, scalar.shape.length);
            assertEquals(7, scalar.getDouble(0));
            assertArrayEquals(new String[] {"benign", "malignant"}, npz.get("names").strings());
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> npz.get("bigendian"));
            assertTrue(big.getMessage().contains("numpy_dtypes.npz entry bigendian.npy") && big.getMessage().contains(">f4"),
                    big.getMessage());
            IllegalArgumentException obj = assertThrows(IllegalArgumentException.class, () -> npz.get("objects"));
            assertTrue(obj.getMessage().contains("|O") && obj.getMessage().contains("unsupported dtype"), obj.getMessage());
        }
    }

    @Test
    void writerRoundTripsAndNumpyStyleHeaders() throws Exception {
        Path f = dir.resolve("w.npz");
        byte[] data = new byte[2 * 5 * 3];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7);
        try (Npz.Writer w = new Npz.Writer(f)) {
            w.write("a", "|u1", new long[] {2, 5, 3}, data);
            w.write("one", "|u1", new long[] {1}, new byte[] {42});
            w.writeStrings("names", java.util.List.of("x", "longer name"));
        }
        Map<String, NpyArray> m = Npz.read(f);
        assertEquals(java.util.List.of("a", "one", "names"), java.util.List.copyOf(m.keySet()));
        byte[] back = new byte[data.length];
        m.get("a").getBytes(0, back, 0, back.length);
        assertArrayEquals(data, back);
        assertArrayEquals(new long[] {1}, m.get("one").shape);
        assertArrayEquals(new String[] {"x", "longer name"}, m.get("names").strings());

        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Npy.writeHeader(b, "<f4", new long[] {3});
        assertEquals(0, b.size() % 64, "header padded to 64 bytes like numpy");
        assertTrue(b.toString(java.nio.charset.StandardCharsets.ISO_8859_1).contains("'shape': (3,)"));
    }

    @Test
    void malformedNpyIsRejectedWithOffsets() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Npy.writeHeader(b, "<i4", new long[] {4});
        byte[] header = b.toByteArray();
        byte[] full = java.util.Arrays.copyOf(header, header.length + 16);
        assertEquals(4, Npy.read(new ByteArrayInputStream(full), "ok").numel());

        String short1 = assertThrows(IllegalArgumentException.class,
                () -> Npy.read(new ByteArrayInputStream(java.util.Arrays.copyOf(full, full.length - 3)), "x.npy")).getMessage();
        assertTrue(short1.contains("x.npy") && short1.contains("truncated") && short1.contains("offset " + header.length), short1);

        byte[] magic = full.clone();
        magic[2] = 'X';
        String m = assertThrows(IllegalArgumentException.class, () -> Npy.read(new ByteArrayInputStream(magic), "y.npy")).getMessage();
        assertTrue(m.contains("y.npy") && m.contains("bad magic at offset 2"), m);

        byte[] longer = java.util.Arrays.copyOf(full, full.length + 4);
        String t = assertThrows(IllegalArgumentException.class, () -> Npy.read(new ByteArrayInputStream(longer), "z.npy")).getMessage();
        assertTrue(t.contains("more data follows"), t);

        String h = new String(header, java.nio.charset.StandardCharsets.ISO_8859_1).replace("'shape': (4,)", "'shape': (4,");
        byte[] broken = java.util.Arrays.copyOf(h.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), full.length);
        String p = assertThrows(IllegalArgumentException.class, () -> Npy.read(new ByteArrayInputStream(broken), "h.npy")).getMessage();
        assertTrue(p.contains("h.npy: bad .npy header at offset"), p);
    }

    @Test
    void truncatedArchivesFailNamingTheFile() throws Exception {
        Path good = DataFixtures.medmnist(dir.resolve("good.npz"), 8, 8, 1, new int[] {20, 4, 4}, 1, 3, 0);
        byte[] bytes = Files.readAllBytes(good);
        for (int len : new int[] {0, 10, bytes.length / 3, bytes.length / 2, bytes.length - 30, bytes.length - 1}) {
            Path f = dir.resolve("cut" + len + ".npz");
            Files.write(f, DataFixtures.truncate(bytes, len));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MedMnistDataset.open(f),
                    "truncated to " + len);
            assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        }
    }

    /** A flipped bit is either caught (CRC, zip structure, header) or lands where it changes no sample. */
    @Test
    void bitFlipsNeverChangeDataSilently() throws Exception {
        Path good = DataFixtures.medmnist(dir.resolve("good.npz"), 8, 8, 1, new int[] {20, 4, 4}, 1, 3, 0);
        MedMnistDataset ref = MedMnistDataset.open(good);
        byte[] bytes = Files.readAllBytes(good);
        int caught = 0, tried = 0;
        for (int pos = 0; pos < bytes.length; pos += 7) {
            tried++;
            Path f = dir.resolve("flip.npz");
            Files.write(f, DataFixtures.flip(bytes, pos));
            try {
                MedMnistDataset d = MedMnistDataset.open(f);
                for (Split s : Split.values()) {
                    assertEquals(ref.size(s), d.size(s));
                    for (int i = 0; i < ref.size(s); i++) {
                        assertArrayEquals(ref.get(s, i).image(), d.get(s, i).image(), "flip at " + pos + " changed an image");
                        assertArrayEquals(ref.get(s, i).label(), d.get(s, i).label(), "flip at " + pos + " changed a label");
                    }
                }
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains(f.toString()), "error must name the file: " + e.getMessage());
                caught++;
            }
        }
        assertTrue(caught > tried / 2, "most flips hit checked bytes: caught " + caught + " of " + tried);
    }
}
