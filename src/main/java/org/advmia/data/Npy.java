package org.advmia.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The .npy format (versions 1.0, 2.0, 3.0) in pure Java: a magic string, a Python-literal header
 * {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the raw data. Fortran-ordered
 * arrays are reordered to C order on read. Errors name the source and the byte offset.
 */
public final class Npy {
    private Npy() {}

    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** Item size for a supported dtype, or -1 (|u1 and friends; &lt;Un strings). */
    static int itemSize(String descr) {
        if (descr.length() < 3) return -1;
        char order = descr.charAt(0);
        String rest = descr.substring(1);
        if (rest.startsWith("U")) {
            if (order == '>') return -1;
            try {
                int n = Integer.parseInt(rest.substring(1));
                return n > 0 ? 4 * n : -1;
            } catch (NumberFormatException e) {
                return -1;
            }
        }
        int size = switch (rest) {
            case "u1", "i1", "b1" -> 1;
            case "i2", "u2" -> 2;
            case "i4", "u4", "f4" -> 4;
            case "i8", "f8" -> 8;
            default -> -1;
        };
        if (size == 1) return order == '|' || order == '<' || order == '=' ? 1 : -1;
        return order == '<' || order == '=' ? size : -1;
    }

    /** The canonical spelling (=f4 becomes &lt;f4, &lt;u1 becomes |u1). */
    static String canonical(String descr) {
        String rest = descr.substring(1);
        return (itemSize(descr) == 1 && !rest.startsWith("U") ? "|" : "<") + rest;
    }

    /** Reads one array; source names it in errors (e.g. "data.npz entry train_images.npy"). */
    public static NpyArray read(InputStream in, String source) {
        try {
            byte[] magic = in.readNBytes(8);
            if (magic.length < 8) throw new IllegalArgumentException(source + ": truncated: " + magic.length
                    + " bytes, shorter than the 8-byte .npy preamble");
            for (int i = 0; i < MAGIC.length; i++) {
                if (magic[i] != MAGIC[i]) {
                    throw new IllegalArgumentException(source + ": not a .npy array (bad magic at offset " + i + ")");
                }
            }
            int major = magic[6];
            if (major < 1 || major > 3) {
                throw new IllegalArgumentException(source + ": unsupported .npy version " + major + "." + magic[7]
                        + " at offset 6 (expected 1, 2 or 3)");
            }
            int lenBytes = major == 1 ? 2 : 4;
            byte[] lb = in.readNBytes(lenBytes);
            if (lb.length < lenBytes) throw new IllegalArgumentException(source + ": truncated in the header length");
            long hlen = 0;
            for (int k = lenBytes - 1; k >= 0; k--) hlen = (hlen << 8) | (lb[k] & 0xff);
            if (hlen > 1 << 20) throw new IllegalArgumentException(source + ": implausible header length " + hlen + " at offset 8");
            byte[] hb = in.readNBytes((int) hlen);
            if (hb.length < hlen) {
                throw new IllegalArgumentException(source + ": truncated in the header (" + hb.length + " of " + hlen + " bytes)");
            }
            long dataOffset = 8 + lenBytes + hlen;
            String header = new String(hb, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Map<String, Object> h = new HeaderParser(header, source, 8 + lenBytes).dict();
            if (!(h.get("descr") instanceof String descr)) {
                throw new IllegalArgumentException(source + ": header 'descr' " + h.get("descr")
                        + " is not a simple dtype (structured arrays are not supported)");
            }
            if (!(h.get("fortran_order") instanceof Boolean fortran)) {
                throw new IllegalArgumentException(source + ": header lacks a boolean 'fortran_order'");
            }
            if (!(h.get("shape") instanceof List<?> dims)) throw new IllegalArgumentException(source + ": header lacks 'shape'");
            int item = itemSize(descr);
            if (item < 0) {
                throw new IllegalArgumentException(source + ": unsupported dtype '" + descr + "' (supported: |u1 |i1 |b1 <i2 <u2 "
                        + "<i4 <u4 <i8 <f4 <f8, little-endian, and <Un strings)");
            }
            long[] shape = new long[dims.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(dims.get(i) instanceof Long d)) throw new IllegalArgumentException(source + ": bad shape " + dims);
                shape[i] = d;
                if (shape[i] < 0) throw new IllegalArgumentException(source + ": negative extent in shape " + dims);
                numel = Math.multiplyExact(numel, shape[i]);
            }
            long nbytes = Math.multiplyExact(numel, (long) item);
            NpyArray.Bytes data;
            try {
                data = NpyArray.readBytes(in, nbytes, source);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (data starts at offset " + dataOffset + ")", e);
            }
            if (in.read() >= 0) {
                throw new IllegalArgumentException(source + ": " + (dataOffset + nbytes) + " bytes expected for shape "
                        + dims + " of " + descr + ", but more data follows (corrupt header?)");
            }
            if (fortran && shape.length > 1) data = toCOrder(data, shape, item, source);
            return new NpyArray(source, canonical(descr), shape, item, data);
        } catch (IOException e) {
            throw NpyArray.io(source, e);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(source + ": shape overflows", e);
        }
    }

    private static NpyArray.Bytes toCOrder(NpyArray.Bytes f, long[] shape, int item, String source) {
        if (f.length() > NpyArray.heapLimit) {
            throw new IllegalArgumentException(source + ": fortran_order arrays over 1 GiB are not supported; "
                    + "save it in C order (numpy.ascontiguousarray)");
        }
        byte[] src = new byte[(int) f.length()];
        f.get(0, src, 0, src.length);
        byte[] dst = new byte[src.length];
        int rank = shape.length;
        long[] fStride = new long[rank];
        long s = 1;
        for (int i = 0; i < rank; i++) {
            fStride[i] = s;
            s *= shape[i];
        }
        long[] idx = new long[rank];
        long n = s;
        for (long c = 0; c < n; c++) {
            long off = 0;
            for (int i = 0; i < rank; i++) off += idx[i] * fStride[i];
            System.arraycopy(src, (int) (off * item), dst, (int) (c * item), item);
            for (int i = rank - 1; i >= 0; i--) {
                if (++idx[i] < shape[i]) break;
                idx[i] = 0;
            }
        }
        return NpyArray.heap(dst);
    }

    /** Writes a version 1.0 header (padded to 64 bytes) for C-ordered data that the caller then writes. */
    public static void writeHeader(OutputStream out, String descr, long[] shape) throws IOException {
        if (itemSize(descr) < 0) throw new IllegalArgumentException("cannot write dtype " + descr);
        StringBuilder sb = new StringBuilder("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.length; i++) {
            sb.append(shape[i]);
            if (shape.length == 1 || i + 1 < shape.length) sb.append(',');
            if (i + 1 < shape.length) sb.append(' ');
        }
        sb.append("), }");
        int total = 10 + sb.length() + 1;
        int pad = (64 - total % 64) % 64;
        sb.append(" ".repeat(pad)).append('\n');
        byte[] h = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        if (h.length > 65535) throw new IllegalArgumentException("npy header too long");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(MAGIC);
        b.write(1);
        b.write(0);
        b.write(h.length & 0xff);
        b.write(h.length >>> 8);
        b.write(h);
        out.write(b.toByteArray());
    }

    /** A parser for the header's Python literal: dicts, tuples, strings, integers, booleans. */
    private static final class HeaderParser {
        private final String s, source;
        private final int base;
        private int i;

        HeaderParser(String s, String source, int base) {
            this.s = s;
            this.source = source;
            this.base = base;
        }

        private IllegalArgumentException error(String msg) {
            return new IllegalArgumentException(source + ": bad .npy header at offset " + (base + i) + ": " + msg
                    + " in " + s.strip());
        }

        Map<String, Object> dict() {
            ws();
            if (!(value() instanceof Map<?, ?> m)) throw error("the header is not a dict");
            ws();
            if (i != s.length()) throw error("trailing characters");
            @SuppressWarnings("unchecked")
            Map<String, Object> out = (Map<String, Object>) m;
            return out;
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        private Object value() {
            ws();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if (c == '{') return seq('}', true);
            if (c == '(' || c == '[') return seq(c == '(' ? ')' : ']', false);
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, i + 1);
                if (end < 0) throw error("unterminated string");
                String v = s.substring(i + 1, end);
                i = end + 1;
                return v;
            }
            int start = i;
            while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '-')) i++;
            String w = s.substring(start, i);
            switch (w) {
                case "True": return Boolean.TRUE;
                case "False": return Boolean.FALSE;
                default: break;
            }
            String digits = w.endsWith("L") ? w.substring(0, w.length() - 1) : w;
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                i = start;
                throw error("unexpected '" + (w.isEmpty() ? String.valueOf(c) : w) + "'");
            }
        }

        private Object seq(char close, boolean dict) {
            i++;
            Map<String, Object> m = new HashMap<>();
            List<Object> l = new ArrayList<>();
            while (true) {
                ws();
                if (i < s.length() && s.charAt(i) == close) {
                    i++;
                    return dict ? m : l;
                }
                Object v = value();
                if (dict) {
                    if (!(v instanceof String key)) throw error("dict key is not a string");
                    ws();
                    if (i >= s.length() || s.charAt(i) != ':') throw error("expected ':'");
                    i++;
                    m.put(key, value());
                } else {
                    l.add(v);
                }
                ws();
                if (i < s.length() && s.charAt(i) == ',') i++;
                else if (i >= s.length() || s.charAt(i) != close) throw error("expected ',' or '" + close + "'");
            }
        }
    }
}
