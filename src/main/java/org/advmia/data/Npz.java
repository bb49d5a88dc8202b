package org.advmia.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * .npz archives (what numpy.savez and numpy.savez_compressed write): a zip of NAME.npy entries,
 * stored or deflated. Every entry's CRC-32 is checked, so a flipped bit is an error, not a
 * silently different image.
 */
public final class Npz implements AutoCloseable {
    private final Path file;
    private final ZipFile zip;
    private final Map<String, ZipEntry> entries = new LinkedHashMap<>();

    private Npz(Path file) {
        this.file = file;
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such file");
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException(file + ": not a readable .npz (zip) archive, truncated or corrupt ("
                    + describe(e) + ")", e);
        }
        Enumeration<? extends ZipEntry> all = zip.entries();
        while (all.hasMoreElements()) {
            ZipEntry e = all.nextElement();
            if (e.isDirectory()) continue;
            String name = e.getName();
            entries.put(name.endsWith(".npy") ? name.substring(0, name.length() - 4) : name, e);
        }
    }

    /** Opens an archive and reads its directory; arrays are read on {@link #get}. */
    public static Npz open(Path file) {
        return new Npz(file);
    }

    /** The array names (entry names without ".npy"), in archive order. */
    public Set<String> keys() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    /** Reads one array, checking its CRC; null if absent. */
    public NpyArray get(String key) {
        ZipEntry e = entries.get(key);
        if (e == null) return null;
        String source = file + " entry " + e.getName();
        try {
            return readEntry(zip, e, source);
        } catch (IOException | UncheckedIOException ex) {
            throw new IllegalArgumentException(source + ": corrupt or truncated archive (" + describe(ex) + ")", ex);
        } catch (IllegalArgumentException ex) {
            if (ex.getMessage() != null && ex.getMessage().contains(file.toString())) throw ex;
            throw new IllegalArgumentException(source + ": " + describe(ex), ex);
        }
    }

    static String describe(Exception e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    /** Reads every array. */
    public static Map<String, NpyArray> read(Path file) {
        try (Npz npz = open(file)) {
            Map<String, NpyArray> out = new LinkedHashMap<>();
            for (String k : npz.keys()) out.put(k, npz.get(k));
            return out;
        }
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": " + e.getMessage(), e);
        }
    }

    private static NpyArray readEntry(ZipFile zip, ZipEntry e, String source) throws IOException {
        CRC32 crc = new CRC32();
        NpyArray a;
        CountingStream counted = null;
        try (InputStream raw = zip.getInputStream(e)) {
            counted = new CountingStream(new CheckedInputStream(new BufferedInputStream(raw, 1 << 16), crc));
            a = Npy.read(counted, source);
        } catch (UncheckedIOException ex) {
            if (ex.getCause() instanceof ZipException || ex.getCause() instanceof java.io.EOFException) {
                long at = counted == null ? 0 : counted.count;
                throw new IllegalArgumentException(source + ": corrupt or truncated compressed data at about byte " + at
                        + " of the entry (" + ex.getCause().getMessage() + ")", ex);
            }
            throw ex;
        }
        if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
            throw new IllegalArgumentException(source + ": CRC-32 mismatch (stored " + Long.toHexString(e.getCrc())
                    + ", computed " + Long.toHexString(crc.getValue()) + "): the archive is corrupt");
        }
        return a;
    }

    /** Counts bytes so that errors can give an offset. */
    private static final class CountingStream extends java.io.FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) count += n;
            return n;
        }
    }

    /** Writes arrays one entry at a time (deflated, fast level), as numpy.savez_compressed does. */
    public static final class Writer implements AutoCloseable {
        private final ZipOutputStream zip;
        private final Path file;

        public Writer(Path file) {
            this.file = file;
            try {
                zip = new ZipOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
            zip.setLevel(Deflater.BEST_SPEED);
        }

        /** Starts entry NAME.npy and returns a stream for exactly numel * itemsize bytes of C-order data. */
        public OutputStream begin(String name, String descr, long... shape) {
            try {
                zip.putNextEntry(new ZipEntry(name + ".npy"));
                Npy.writeHeader(zip, descr, shape);
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
            return new java.io.FilterOutputStream(zip) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    zip.closeEntry();
                }
            };
        }

        public void write(String name, String descr, long[] shape, byte[] data) {
            try (OutputStream out = begin(name, descr, shape)) {
                out.write(data);
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
        }

        /** A 1-d array of strings as &lt;Un (UTF-32LE), e.g. class names. */
        public void writeStrings(String name, java.util.List<String> values) {
            int width = 1;
            for (String v : values) width = Math.max(width, v.codePointCount(0, v.length()));
            byte[] data = new byte[values.size() * width * 4];
            for (int i = 0; i < values.size(); i++) {
                byte[] b = values.get(i).getBytes(NpyArray.UTF_32LE);
                System.arraycopy(b, 0, data, i * width * 4, b.length);
            }
            write(name, "<U" + width, new long[] {values.size()}, data);
        }

        @Override
        public void close() {
            try {
                zip.close();
            } catch (IOException e) {
                throw new UncheckedIOException(file + ": " + e.getMessage(), e);
            }
        }
    }
}
