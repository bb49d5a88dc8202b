package org.advmia.optim;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.advmia.backend.Generator;
import org.advmia.nn.Dropout;
import org.advmia.nn.Module;
import org.advmia.nn.SafeTensors;
import org.advmia.tensor.DType;
import org.advmia.tensor.Tensor;

/**
 * A training checkpoint in one safetensors file: everything needed to resume a run so that it
 * continues exactly as if it had never stopped. Tensors are the model's state dict (prefix
 * "model.", PyTorch names) and the optimizer's state (prefix "optim."); the header metadata holds
 * the optimizer's class, step count and learning rate, the epoch, the learning-rate schedule's
 * step index ({@link LrSchedule} is a pure function of it), the seed and position of every
 * {@link Dropout} layer's mask stream, the seed and position of the caller's data-order stream,
 * and free-form caller metadata (prefix "user."). The file is written atomically (temporary file,
 * then rename), so a crash mid-save leaves the previous checkpoint intact.
 *
 * <p>An instance is the training position that goes with the weights: build one to {@link #save},
 * get one back from {@link #restore}.
 */
public final class Checkpoint {
    /** Metadata value of "format"; changes when the layout does. */
    public static final String FORMAT = "advmia-checkpoint/1";
    private static final String MODEL = "model.", OPTIM = "optim.", DROPOUT = "dropout.", USER = "user.";

    private final long epoch, scheduleStep, dataSeed, dataOffset;
    private final Map<String, String> metadata;

    /**
     * @param epoch        epochs completed (or the caller's notion of the current epoch)
     * @param scheduleStep the index to pass to {@link LrSchedule#apply} for the next optimizer step
     * @param dataSeed     seed of the caller's data-order / augmentation stream
     * @param dataOffset   position in that stream (e.g. {@link Generator#offset()})
     * @param metadata     free-form strings saved alongside (may be null or empty)
     */
    public Checkpoint(long epoch, long scheduleStep, long dataSeed, long dataOffset, Map<String, String> metadata) {
        if (epoch < 0) throw new IllegalArgumentException("Checkpoint: epoch must be >= 0, got " + epoch);
        if (scheduleStep < 0) throw new IllegalArgumentException("Checkpoint: scheduleStep must be >= 0, got " + scheduleStep);
        if (dataOffset < 0) throw new IllegalArgumentException("Checkpoint: dataOffset must be >= 0, got " + dataOffset);
        LinkedHashMap<String, String> md = new LinkedHashMap<>();
        if (metadata != null) {
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException("Checkpoint: metadata keys and values must not be null, got "
                            + e.getKey() + " = " + e.getValue());
                }
                md.put(e.getKey(), e.getValue());
            }
        }
        this.epoch = epoch;
        this.scheduleStep = scheduleStep;
        this.dataSeed = dataSeed;
        this.dataOffset = dataOffset;
        this.metadata = Collections.unmodifiableMap(md);
    }

    public long epoch() {
        return epoch;
    }

    public long scheduleStep() {
        return scheduleStep;
    }

    public long dataSeed() {
        return dataSeed;
    }

    public long dataOffset() {
        return dataOffset;
    }

    /** The caller's metadata, without the "user." prefix used in the file. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Writes model, optimizer, dropout streams and this position to {@code file}, atomically. */
    public void save(Path file, Module model, Optimizer optimizer) throws IOException {
        if (file == null || model == null || optimizer == null) {
            throw new IllegalArgumentException("Checkpoint.save: file, model and optimizer must not be null");
        }
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) tensors.put(MODEL + e.getKey(), e.getValue());
        for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) tensors.put(OPTIM + e.getKey(), e.getValue());

        LinkedHashMap<String, String> md = new LinkedHashMap<>();
        md.put("format", FORMAT);
        md.put("optimizer", optimizer.getClass().getName());
        md.put("optimizer.step", Long.toString(optimizer.stepCount()));
        // Double.toString round-trips exactly through Double.parseDouble.
        md.put("optimizer.lr", Double.toString(optimizer.lr()));
        md.put("epoch", Long.toString(epoch));
        md.put("schedule.step", Long.toString(scheduleStep));
        md.put("data.seed", Long.toString(dataSeed));
        md.put("data.offset", Long.toString(dataOffset));
        for (Map.Entry<String, Dropout> e : dropouts(model).entrySet()) {
            Generator g = e.getValue().generator();
            md.put(DROPOUT + e.getKey() + ".seed", Long.toString(g.seed()));
            md.put(DROPOUT + e.getKey() + ".offset", Long.toString(g.offset()));
        }
        for (Map.Entry<String, String> e : metadata.entrySet()) md.put(USER + e.getKey(), e.getValue());
        SafeTensors.write(file, tensors, md);
    }

    /**
     * Loads a checkpoint into a model and optimizer built the same way as the saved ones (their
     * initial weights and dropout seeds do not matter) and returns the saved training position.
     * The model must match by state-dict names and shapes, the optimizer by class and state
     * names, and the dropout layers by name; each mismatch, and a missing, truncated or foreign
     * file, is an IllegalArgumentException naming the file. Everything in the file is checked
     * before the model is changed, and the model is checked in full before any weight is written.
     */
    public static Checkpoint restore(Path file, Module model, Optimizer optimizer) throws IOException {
        if (file == null || model == null || optimizer == null) {
            throw new IllegalArgumentException("Checkpoint.restore: file, model and optimizer must not be null");
        }
        String src = "checkpoint " + file;
        // Float64 holds every stored F32/F64 value and every integer below 2^53 exactly, so nothing
        // is rounded on the way in; loading casts to the model's and the optimizer's dtypes.
        SafeTensors.Contents c;
        try {
            c = SafeTensors.read(file, DType.FLOAT64);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot restore " + src + ": " + e.getMessage(), e);
        }
        try (c) {
            Map<String, String> md = c.metadata;
            if (!FORMAT.equals(md.get("format"))) {
                throw new IllegalArgumentException("cannot restore " + src + ": metadata 'format' is "
                        + (md.containsKey("format") ? "'" + md.get("format") + "'" : "missing") + ", expected '" + FORMAT
                        + "' (not a training checkpoint; plain weights load with SafeTensors.load)");
            }
            String optClass = md.get("optimizer");
            if (!optimizer.getClass().getName().equals(optClass)) {
                throw new IllegalArgumentException("cannot restore " + src + ": it holds " + optClass
                        + " state, but the optimizer is " + optimizer.getClass().getName());
            }
            long optStep = longEntry(md, "optimizer.step", src);
            double lr = doubleEntry(md, "optimizer.lr", src);
            if (!(lr >= 0) || Double.isInfinite(lr)) {
                throw new IllegalArgumentException("cannot restore " + src + ": metadata 'optimizer.lr' = " + lr
                        + " is not a valid learning rate");
            }
            long epoch = longEntry(md, "epoch", src), scheduleStep = longEntry(md, "schedule.step", src);
            long dataSeed = longEntry(md, "data.seed", src), dataOffset = longEntry(md, "data.offset", src);

            Map<String, Dropout> drops = dropouts(model);
            TreeSet<String> saved = new TreeSet<>();
            for (String k : md.keySet()) {
                if (k.startsWith(DROPOUT) && k.endsWith(".seed")) saved.add(k.substring(DROPOUT.length(), k.length() - 5));
            }
            if (!saved.equals(new TreeSet<>(drops.keySet()))) {
                throw new IllegalArgumentException("cannot restore " + src + ": it has dropout streams for " + saved
                        + " but the model's dropout layers are " + new TreeSet<>(drops.keySet()));
            }
            Map<String, Generator> streams = new LinkedHashMap<>();
            for (String name : drops.keySet()) {
                Generator g = new Generator(longEntry(md, DROPOUT + name + ".seed", src));
                long off = longEntry(md, DROPOUT + name + ".offset", src);
                if (off < 0) throw new IllegalArgumentException("cannot restore " + src + ": dropout." + name + ".offset is negative");
                g.setOffset(off);
                streams.put(name, g);
            }

            LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>(), optState = new LinkedHashMap<>();
            List<String> stray = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : c.tensors.entrySet()) {
                String k = e.getKey();
                if (k.startsWith(MODEL)) weights.put(k.substring(MODEL.length()), e.getValue());
                else if (k.startsWith(OPTIM)) optState.put(k.substring(OPTIM.length()), e.getValue());
                else stray.add(k);
            }
            if (!stray.isEmpty()) {
                throw new IllegalArgumentException("cannot restore " + src + ": tensors outside model./optim.: " + stray);
            }
            LinkedHashMap<String, String> user = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : md.entrySet()) {
                if (e.getKey().startsWith(USER)) user.put(e.getKey().substring(USER.length()), e.getValue());
            }
            Checkpoint position;
            try {
                position = new Checkpoint(epoch, scheduleStep, dataSeed, dataOffset, user);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot restore " + src + ": " + e.getMessage(), e);
            }

            model.loadStateDict(weights, src);
            try {
                optimizer.loadState(optState, optStep);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot restore " + src + " (model weights already loaded): "
                        + e.getMessage(), e);
            }
            optimizer.setLr(lr);
            for (Map.Entry<String, Generator> e : streams.entrySet()) drops.get(e.getKey()).setGenerator(e.getValue());
            return position;
        }
    }

    /** The model's Dropout layers by dotted module name. */
    private static Map<String, Dropout> dropouts(Module model) {
        LinkedHashMap<String, Dropout> out = new LinkedHashMap<>();
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() instanceof Dropout d) out.put(e.getKey(), d);
        }
        return out;
    }

    private static String entry(Map<String, String> md, String key, String src) {
        String v = md.get(key);
        if (v == null) throw new IllegalArgumentException("cannot restore " + src + ": metadata '" + key + "' is missing");
        return v;
    }

    private static long longEntry(Map<String, String> md, String key, String src) {
        String v = entry(md, key, src);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot restore " + src + ": metadata '" + key + "' = '" + v
                    + "' is not an integer");
        }
    }

    private static double doubleEntry(Map<String, String> md, String key, String src) {
        String v = entry(md, key, src);
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("cannot restore " + src + ": metadata '" + key + "' = '" + v
                    + "' is not a number");
        }
    }

    @Override
    public String toString() {
        return "Checkpoint(epoch=" + epoch + ", schedule_step=" + scheduleStep + ", data_seed=" + dataSeed
                + ", data_offset=" + dataOffset + ", metadata=" + metadata + ")";
    }
}
