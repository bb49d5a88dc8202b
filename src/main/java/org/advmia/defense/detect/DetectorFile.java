package org.advmia.defense.detect;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.nn.SafeTensors;
import org.advmia.tensor.DType;
import org.advmia.tensor.Tensor;

/**
 * The on-disk form of a fitted detector: a safetensors file whose tensors are the fitted state as
 * float64 (so that a loaded detector holds bit-identical statistics and scores float for float
 * like the fitted one) and whose string metadata says what it is, which model it was fitted on
 * and with which hyper-parameters. {@link Writer} collects a detector's state, {@link Reader}
 * hands it back with every shape and value checked, and refuses leftovers, so a file from another
 * model or another version never loads half-way.
 */
final class DetectorFile {
    static final String FORMAT = "advmia-detector";
    static final String VERSION = "1";

    private DetectorFile() {}

    /** The fitted state of one detector, gathered before anything is written. */
    static final class Writer {
        final LinkedHashMap<String, double[]> data = new LinkedHashMap<>();
        final LinkedHashMap<String, long[]> shapes = new LinkedHashMap<>();
        final LinkedHashMap<String, String> metadata = new LinkedHashMap<>();

        void put(String name, double[] values, long... shape) {
            if (Arrays.stream(shape).reduce(1, (a, b) -> a * b) != values.length) {
                throw new IllegalStateException("detector state '" + name + "': " + values.length + " values for shape "
                        + Arrays.toString(shape));
            }
            data.put(name, values);
            shapes.put(name, shape.clone());
        }

        void meta(String key, String value) {
            metadata.put(key, value);
        }

        void write(Path file) throws IOException {
            LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, double[]> e : data.entrySet()) {
                    tensors.put(e.getKey(), Backends.tensor(DType.FLOAT64, e.getValue(), shapes.get(e.getKey())));
                }
                SafeTensors.write(file, tensors, metadata);
            } finally {
                for (Tensor t : tensors.values()) t.close();
            }
        }
    }

    /** A detector file's contents, read with checks that name the file and what was expected. */
    static final class Reader {
        private final String file;
        private final Map<String, double[]> data = new LinkedHashMap<>();
        private final Map<String, long[]> shapes = new LinkedHashMap<>();
        private final Map<String, String> metadata;
        private final Set<String> taken = new HashSet<>();

        private Reader(String file, Map<String, String> metadata) {
            this.file = file;
            this.metadata = metadata;
        }

        static Reader open(Path path) throws IOException {
            String f = path.toString();
            try (SafeTensors.Contents c = SafeTensors.read(path, DType.FLOAT64)) {
                if (!FORMAT.equals(c.metadata.get("format"))) {
                    throw new IllegalArgumentException(f + ": not an advmia detector file (metadata 'format' is "
                            + (c.metadata.containsKey("format") ? "'" + c.metadata.get("format") + "'" : "absent")
                            + ", expected '" + FORMAT + "'; model weights are loaded with --weights, detectors with"
                            + " --detector-file)");
                }
                if (!VERSION.equals(c.metadata.get("format_version"))) {
                    throw new IllegalArgumentException(f + ": detector file version '" + c.metadata.get("format_version")
                            + "', this build reads version " + VERSION);
                }
                Reader r = new Reader(f, new LinkedHashMap<>(c.metadata));
                for (Map.Entry<String, Tensor> e : c.tensors.entrySet()) {
                    double[] v = Backends.toDoubleArray(e.getValue());
                    for (int i = 0; i < v.length; i++) {
                        if (!Double.isFinite(v[i])) {
                            throw new IllegalArgumentException(f + ": tensor '" + e.getKey() + "' holds " + v[i]
                                    + " at element " + i + "; a fitted detector's state is finite (corrupted file?)");
                        }
                    }
                    r.data.put(e.getKey(), v);
                    r.shapes.put(e.getKey(), e.getValue().shape().toArray());
                }
                return r;
            }
        }

        String file() {
            return file;
        }

        String meta(String key) {
            String v = metadata.get(key);
            if (v == null) throw new IllegalArgumentException(file + ": detector metadata '" + key + "' is missing");
            return v;
        }

        long longMeta(String key, long min) {
            String v = meta(key);
            try {
                long x = Long.parseLong(v);
                if (x < min) throw new NumberFormatException();
                return x;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ": detector metadata '" + key + "' is '" + v
                        + "', expected an integer >= " + min);
            }
        }

        double doubleMeta(String key) {
            String v = meta(key);
            try {
                double x = Double.parseDouble(v);
                if (!Double.isFinite(x)) throw new NumberFormatException();
                return x;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(file + ": detector metadata '" + key + "' is '" + v
                        + "', expected a finite number");
            }
        }

        /** The metadata entries whose key starts with prefix, prefix removed. */
        Map<String, String> metaWithPrefix(String prefix) {
            LinkedHashMap<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey().startsWith(prefix)) out.put(e.getKey().substring(prefix.length()), e.getValue());
            }
            return out;
        }

        /** The first dimension of a tensor, for state whose row count is chosen at fit time. */
        long rows(String name) {
            return present(name)[0];
        }

        private long[] present(String name) {
            long[] s = shapes.get(name);
            if (s == null) {
                throw new IllegalArgumentException(file + ": detector tensor '" + name + "' is missing (has: "
                        + String.join(", ", new TreeSet<>(shapes.keySet())) + ")");
            }
            if (s.length == 0) throw new IllegalArgumentException(file + ": detector tensor '" + name + "' is a scalar");
            return s;
        }

        /** A tensor's values; its shape must be exactly expected. */
        double[] take(String name, long... expected) {
            long[] s = present(name);
            if (!Arrays.equals(s, expected)) {
                throw new IllegalArgumentException(file + ": detector tensor '" + name + "' has shape "
                        + Arrays.toString(s) + ", expected " + Arrays.toString(expected)
                        + " for this model and detector");
            }
            taken.add(name);
            return data.get(name);
        }

        /** Refuses tensors no detector state claimed: a file from another version or detector. */
        void finish() {
            TreeSet<String> unknown = new TreeSet<>(shapes.keySet());
            unknown.removeAll(taken);
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException(file + ": unknown detector tensor(s) " + String.join(", ", unknown)
                        + " for detector '" + metadata.get("detector") + "'");
            }
        }
    }

    /**
     * A short digest of a model's state dict (names, shapes and float32 values). The detector's
     * statistics describe one set of weights; another set of the same architecture gives features
     * the statistics do not describe, so loading refuses it.
     */
    static String fingerprint(Model model) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(e.getValue().shape().toString().getBytes(StandardCharsets.UTF_8));
                float[] v = Backends.toFloatArray(e.getValue());
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length);
                for (float x : v) b.putInt(Float.floatToIntBits(x));
                md.update(b.array());
            }
            StringBuilder s = new StringBuilder();
            byte[] h = md.digest();
            for (int i = 0; i < 8; i++) s.append(String.format("%02x", h[i]));
            return s.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is unavailable", e);
        }
    }
}
