package org.advmia.nn;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.advmia.util.Json;

/**
 * The safetensors format (8-byte little-endian header length, JSON header, raw little-endian
 * data), as written by PyTorch's safetensors package. Reading accepts F64, F32, F16, BF16,
 * I64, I32, I16, I8, U8 and BOOL and converts to float tensors; writing emits F32 (F64 for
 * float64 tensors) and I64 for BatchNorm's num_batches_tracked, so PyTorch loads the file with
 * load_state_dict(strict=True). Every structural problem raises an error naming the file.
 */
public final class SafeTensors {
    private static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {}

    /** A file's tensors (in header order) and metadata; closing frees the tensors. */
    public static final class Contents implements AutoCloseable {
        public final LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        public final LinkedHashMap<String, String> dtypes = new LinkedHashMap<>();
        public final LinkedHashMap<String, String> metadata = new LinkedHashMap<>();

        public Tensor get(String name) {
            Tensor t = tensors.get(name);
            if (t == null) throw new IllegalArgumentException("no tensor named '" + name + "'");
            return t;
        }

        @Override
        public void close() {
            for (Tensor t : tensors.values()) t.close();
        }
    }

    /** True for state-dict entries that PyTorch keeps as int64. */
    public static boolean isIntegerBuffer(String name) {
        return name.endsWith("num_batches_tracked");
    }

    public static Contents read(Path file) throws IOException {
        return read(file, DType.FLOAT32);
    }

    public static Contents read(Path file, DType target) throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        }
        String f = file.toString();
        if (all.length < 8) throw new IllegalArgumentException(f + ": truncated: " + all.length + " bytes, no header");
        ByteBuffer bb = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long hlen = bb.getLong(0);
        if (hlen <= 0 || hlen > MAX_HEADER || 8 + hlen > all.length) {
            throw new IllegalArgumentException(f + ": header length " + hlen + " does not fit a " + all.length
                    + "-byte file (truncated or not a safetensors file)");
        }
        String header = new String(all, 8, (int) hlen, StandardCharsets.UTF_8);
        Object parsed = Json.parse(header, f + " header");
        if (!(parsed instanceof Map<?, ?> hdr)) throw new IllegalArgumentException(f + ": header is not a JSON object");
        long dataStart = 8 + hlen, dataLen = all.length - dataStart;
        Contents out = new Contents();
        try {
            for (Map.Entry<?, ?> e : hdr.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map<?, ?> md)) throw new IllegalArgumentException(f + ": __metadata__ is not an object");
                    for (Map.Entry<?, ?> m : md.entrySet()) out.metadata.put((String) m.getKey(), String.valueOf(m.getValue()));
                    continue;
                }
                if (!(e.getValue() instanceof Map<?, ?> info)) throw new IllegalArgumentException(f + ": entry '" + name + "' is not an object");
                String dtype = String.valueOf(info.get("dtype"));
                int size = elementSize(dtype);
                if (size < 0) throw new IllegalArgumentException(f + ": tensor '" + name + "' has unsupported dtype " + dtype);
                long[] shape = longs(f, name, "shape", info.get("shape"));
                long[] offs = longs(f, name, "data_offsets", info.get("data_offsets"));
                if (offs.length != 2 || offs[0] < 0 || offs[1] < offs[0]) {
                    throw new IllegalArgumentException(f + ": tensor '" + name + "' has bad data_offsets");
                }
                long numel = Shape.of(shape).numel();
                if (offs[1] - offs[0] != numel * size) {
                    throw new IllegalArgumentException(f + ": tensor '" + name + "' " + dtype + Shape.of(shape) + " needs "
                            + numel * size + " bytes but data_offsets span " + (offs[1] - offs[0]));
                }
                if (offs[1] > dataLen) {
                    throw new IllegalArgumentException(f + ": truncated: tensor '" + name + "' ends at data byte " + offs[1]
                            + " but the file holds only " + dataLen + " data bytes");
                }
                out.tensors.put(name, toTensor(bb, dataStart + offs[0], dtype, shape, target));
                out.dtypes.put(name, dtype);
            }
        } catch (RuntimeException ex) {
            out.close();
            throw ex;
        }
        return out;
    }

    private static long[] longs(String f, String name, String key, Object v) {
        if (!(v instanceof List<?> l)) throw new IllegalArgumentException(f + ": tensor '" + name + "' has no " + key + " list");
        long[] r = new long[l.size()];
        for (int k = 0; k < r.length; k++) {
            if (!(l.get(k) instanceof Long x) || x < 0) {
                throw new IllegalArgumentException(f + ": tensor '" + name + "' " + key + " must hold non-negative integers");
            }
            r[k] = x;
        }
        return r;
    }

    private static int elementSize(String dtype) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16", "I16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    private static Tensor toTensor(ByteBuffer bb, long start, String dtype, long[] shape, DType target) {
        int n = Math.toIntExact(Shape.of(shape).numel());
        double[] v = new double[n];
        int p = Math.toIntExact(start);
        for (int k = 0; k < n; k++) {
            v[k] = switch (dtype) {
                case "F64" -> bb.getDouble(p + 8 * k);
                case "F32" -> bb.getFloat(p + 4 * k);
                case "F16" -> halfToFloat(bb.getShort(p + 2 * k));
                case "BF16" -> Float.intBitsToFloat((bb.getShort(p + 2 * k) & 0xffff) << 16);
                case "I64" -> bb.getLong(p + 8 * k);
                case "I32" -> bb.getInt(p + 4 * k);
                case "I16" -> bb.getShort(p + 2 * k);
                case "I8" -> bb.get(p + k);
                default -> bb.get(p + k) & 0xff;
            };
        }
        Backend b = Backends.defaultBackend();
        Tensor t = b.empty(target, Shape.of(shape));
        b.copyFromHost(v, t);
        return t;
    }

    /** IEEE 754 binary16 to float (Float.float16ToFloat arrived only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff, sign = (bits >>> 15) << 31, exp = (bits >>> 10) & 0x1f, mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** Writes atomically: a temporary file in the same folder, then a rename. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        LinkedHashMap<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) header.put("__metadata__", new LinkedHashMap<>(metadata));
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            String dtype = isIntegerBuffer(e.getKey()) ? "I64" : t.dtype() == DType.FLOAT64 ? "F64" : "F32";
            long bytes = t.numel() * elementSize(dtype);
            LinkedHashMap<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", dtype);
            info.put("shape", boxed(t.shape().toArray()));
            info.put("data_offsets", List.of(offset, offset + bytes));
            header.put(e.getKey(), info);
            offset += bytes;
        }
        byte[] h = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded);
        buf.put(h);
        for (int k = h.length; k < padded; k++) buf.put((byte) ' ');
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            double[] v = Backends.toDoubleArray(t);
            if (isIntegerBuffer(e.getKey())) for (double d : v) buf.putLong((long) d);
            else if (t.dtype() == DType.FLOAT64) for (double d : v) buf.putDouble(d);
            else for (double d : v) buf.putFloat((float) d);
        }
        buf.flip();
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buf.hasRemaining()) ch.write(buf);
            ch.force(true);
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(tmp);
            throw ex;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<Long> boxed(long[] a) {
        java.util.ArrayList<Long> l = new java.util.ArrayList<>();
        for (long x : a) l.add(x);
        return l;
    }

    /** Saves a module's state dict with PyTorch names. */
    public static void save(Module m, Path file, Map<String, String> metadata) throws IOException {
        write(file, m.stateDict(), metadata);
    }

    /** Loads a state dict into a module: strict names, matching shapes, finite values. */
    public static Map<String, String> load(Module m, Path file) throws IOException {
        try (Contents c = read(file, m.stateDict().values().iterator().next().dtype())) {
            m.loadStateDict(c.tensors, file.toString());
            return c.metadata;
        }
    }
}
