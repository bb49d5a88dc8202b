package org.advmia.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One array read from a .npy file or .npz entry, in C (row-major) order. Little-endian
 * numeric dtypes |u1 |i1 |b1 &lt;i2 &lt;u2 &lt;i4 &lt;u4 &lt;i8 &lt;f4 &lt;f8 are supported, and &lt;Un
 * strings (for class names); anything else is rejected by {@link Npy} with the file named.
 * Arrays up to 1 GiB live on the heap; larger ones are inflated to a temporary file and mapped.
 */
public final class NpyArray {
    /** Bytes held on the heap, or mapped in chunks. */
    interface Bytes {
        long length();

        void get(long offset, byte[] dst, int dstOffset, int length);

        default byte get(long offset) {
            byte[] b = new byte[1];
            get(offset, b, 0, 1);
            return b[0];
        }
    }

    /** Arrays up to this many bytes live on the heap; larger ones are mapped in chunks this size (tests lower it). */
    static long heapLimit = 1L << 30;

    public final String source;
    public final String descr;
    public final long[] shape;
    final int itemSize;
    final Bytes data;

    NpyArray(String source, String descr, long[] shape, int itemSize, Bytes data) {
        this.source = source;
        this.descr = descr;
        this.shape = shape;
        this.itemSize = itemSize;
        this.data = data;
    }

    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape).replace('[', '(').replace(']', ')');
    }

    /** The dtype's kind letter: u, i, b, f or U. */
    public char kind() {
        return descr.charAt(1);
    }

    public boolean isInteger() {
        char k = kind();
        return k == 'u' || k == 'i' || k == 'b';
    }

    /** Element i as a double (numeric dtypes). */
    public double getDouble(long i) {
        long o = i * itemSize;
        switch (descr.substring(1)) {
            case "u1": return data.get(o) & 0xff;
            case "i1": return data.get(o);
            case "b1": return data.get(o) != 0 ? 1 : 0;
            default: break;
        }
        byte[] b = new byte[itemSize];
        data.get(o, b, 0, itemSize);
        long bits = 0;
        for (int k = itemSize - 1; k >= 0; k--) bits = (bits << 8) | (b[k] & 0xff);
        return switch (descr.substring(1)) {
            case "i2" -> (short) bits;
            case "u2" -> bits & 0xffff;
            case "i4" -> (int) bits;
            case "u4" -> bits & 0xffffffffL;
            case "i8" -> bits;
            case "f4" -> Float.intBitsToFloat((int) bits);
            case "f8" -> Double.longBitsToDouble(bits);
            default -> throw new IllegalStateException(source + ": no numeric view of dtype " + descr);
        };
    }

    /** Copies raw bytes [offset, offset + length) (uint8 arrays: elements). */
    public void getBytes(long offset, byte[] dst, int dstOffset, int length) {
        data.get(offset, dst, dstOffset, length);
    }

    /** A &lt;Un array as Java strings. */
    public String[] strings() {
        if (kind() != 'U') throw new IllegalStateException(source + ": dtype " + descr + " is not a string array");
        int n = Math.toIntExact(numel());
        String[] out = new String[n];
        byte[] b = new byte[itemSize];
        for (int i = 0; i < n; i++) {
            data.get((long) i * itemSize, b, 0, itemSize);
            int len = itemSize;
            while (len >= 4 && b[len - 1] == 0 && b[len - 2] == 0 && b[len - 3] == 0 && b[len - 4] == 0) len -= 4;
            out[i] = new String(b, 0, len, UTF_32LE);
        }
        return out;
    }

    /** UTF-32LE is not in StandardCharsets. */
    static final Charset UTF_32LE = Charset.forName("UTF-32LE");

    // ---- storage

    /** Reads exactly n bytes from in: onto the heap when small, else into a mapped temporary file. */
    static Bytes readBytes(InputStream in, long n, String source) throws IOException {
        long chunk = heapLimit;
        if (n <= chunk) {
            byte[] a = in.readNBytes((int) n);
            if (a.length != n) throw truncated(source, n, a.length);
            return heap(a);
        }
        Path tmp = Files.createTempFile("advmia-npy", ".bin");
        try {
            long copied;
            try (OutputStream out = Files.newOutputStream(tmp)) {
                copied = copy(in, out, n);
            }
            if (copied != n) throw truncated(source, n, copied);
            List<MappedByteBuffer> chunks = new ArrayList<>();
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.READ)) {
                for (long off = 0; off < n; off += chunk) {
                    chunks.add(ch.map(FileChannel.MapMode.READ_ONLY, off, Math.min(chunk, n - off)));
                }
            }
            return new Mapped(chunks, chunk, n);
        } finally {
            Files.deleteIfExists(tmp); // the mapping stays valid
        }
    }

    private static IllegalArgumentException truncated(String source, long want, long got) {
        return new IllegalArgumentException(source + ": truncated: the header promises " + want
                + " bytes of array data but only " + got + " follow");
    }

    private static long copy(InputStream in, OutputStream out, long limit) throws IOException {
        byte[] buf = new byte[1 << 20];
        long total = 0;
        while (total < limit) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, limit - total));
            if (r < 0) break;
            out.write(buf, 0, r);
            total += r;
        }
        return total;
    }

    static Bytes heap(byte[] a) {
        return new Bytes() {
            public long length() {
                return a.length;
            }

            public void get(long offset, byte[] dst, int dstOffset, int length) {
                System.arraycopy(a, (int) offset, dst, dstOffset, length);
            }

            public byte get(long offset) {
                return a[(int) offset];
            }
        };
    }

    private record Mapped(List<MappedByteBuffer> chunks, long chunk, long length) implements Bytes {
        public void get(long offset, byte[] dst, int dstOffset, int len) {
            while (len > 0) {
                int c = (int) (offset / chunk), o = (int) (offset % chunk);
                int n = (int) Math.min(len, chunk - o);
                chunks.get(c).get(o, dst, dstOffset, n);
                offset += n;
                dstOffset += n;
                len -= n;
            }
        }
    }

    static UncheckedIOException io(String source, IOException e) {
        return new UncheckedIOException(source + ": " + e.getMessage(), e);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
