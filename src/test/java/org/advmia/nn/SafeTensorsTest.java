package org.advmia.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.advmia.backend.Backends;
import org.advmia.nn.models.SmallCnn;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Round trips and every kind of bad weights file: each must fail with a message naming the problem. */
class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void modelRoundTripPreservesEveryEntry() throws IOException {
        Path f = dir.resolve("m.safetensors");
        try (SmallCnn a = new SmallCnn(1, 10, 28, 28, Init.seeded(1)); SmallCnn b = new SmallCnn(1, 10, 28, 28, Init.seeded(2))) {
            SafeTensors.save(a, f, Map.of("note", "test"));
            Map<String, String> md = SafeTensors.load(b, f);
            assertEquals("test", md.get("note"));
            Map<String, Tensor> sa = a.stateDict(), sb = b.stateDict();
            assertEquals(sa.keySet(), sb.keySet());
            for (String k : sa.keySet()) {
                assertArrayEquals(Backends.toFloatArray(sa.get(k)), Backends.toFloatArray(sb.get(k)), k);
            }
        }
    }

    @Test
    void readsHalfAndIntegerDtypes() throws IOException {
        // F16 1.5 = 0x3E00, BF16 -2.0 = 0xC000, I64 7, U8 255
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]},"
                + "\"i\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]},"
                + "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[12,13]}}";
        ByteBuffer data = ByteBuffer.allocate(13).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort((short) 0x3E00).putShort((short) 0xC000).putLong(7).put((byte) 0xff);
        Path f = write(header, data.array());
        try (SafeTensors.Contents c = SafeTensors.read(f)) {
            assertEquals(1.5f, Backends.toFloatArray(c.get("h"))[0]);
            assertEquals(-2f, Backends.toFloatArray(c.get("b"))[0]);
            assertEquals(7f, Backends.toFloatArray(c.get("i"))[0]);
            assertEquals(255f, Backends.toFloatArray(c.get("u"))[0]);
        }
    }

    @Test
    void truncatedFilesAreRejectedWithTheFileName() throws IOException {
        Path f = dir.resolve("m.safetensors");
        try (SmallCnn a = new SmallCnn(1, 10, 28, 28, Init.seeded(1))) {
            SafeTensors.save(a, f, null);
        }
        byte[] all = Files.readAllBytes(f);
        for (int cut : new int[] {0, 5, 12, all.length / 2, all.length - 1}) {
            Path t = dir.resolve("cut" + cut + ".safetensors");
            Files.write(t, Arrays.copyOf(all, cut));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(t));
            assertTrue(e.getMessage().contains(t.toString()), e.getMessage());
            assertTrue(e.getMessage().contains("truncated") || e.getMessage().contains("header"), e.getMessage());
        }
    }

    @Test
    void corruptHeadersAreRejected() throws IOException {
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "needs 8 bytes");
        cases.put("{\"w\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "unsupported dtype Q8");
        cases.put("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "non-negative");
        cases.put("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", "bad data_offsets");
        cases.put("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]", "invalid JSON");
        cases.put("[1,2]", "not a JSON object");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Path f = write(c.getKey(), new byte[8]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.read(f));
            assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + " -> " + e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.read(dir.resolve("missing.safetensors")));
        assertTrue(e.getMessage().contains("no such file"));
    }

    @Test
    void loadingRejectsUnknownMissingMisshapenAndNonFiniteEntries() throws IOException {
        Path f = dir.resolve("m.safetensors");
        try (MemoryScope s = MemoryScope.open(); SmallCnn m = new SmallCnn(1, 10, 28, 28, Init.seeded(1))) {
            Map<String, Tensor> state = new LinkedHashMap<>(m.stateDict());
            state.remove("features.0.bias");
            state.put("features.99.weight", Backends.tensor(new float[] {1}, 1));
            state.put("classifier.5.weight", Backends.tensor(new float[20], 2, 10));
            Tensor nan = Backends.tensor(new float[32], 32);
            Backends.of(nan).fill(nan, Double.NaN);
            state.put("features.2.bias", nan);
            SafeTensors.write(f, state, null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.load(m, f));
            String msg = e.getMessage();
            assertTrue(msg.contains(f.toString()), msg);
            assertTrue(msg.contains("unknown names: features.99.weight"), msg);
            assertTrue(msg.contains("missing names: features.0.bias"), msg);
            assertTrue(msg.contains("classifier.5.weight has shape [2, 10], expected [10, 200]"), msg);
            assertTrue(msg.contains("features.2.bias contains NaN or Inf"), msg);
        }
    }

    private Path write(String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path f = Files.createTempFile(dir, "t", ".safetensors");
        Files.write(f, b.array());
        return f;
    }
}
