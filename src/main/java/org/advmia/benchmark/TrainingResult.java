package org.advmia.benchmark;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model trained (or found in the cache) for the benchmark. hash is the SHA-256 of the full
 * training configuration; weights is the safetensors file's path.
 */
public record TrainingResult(String dataset, String model, String defense, double trainEps, int epochs,
                             double seconds, String valMetric, double valValue, String hash, String weights,
                             boolean cached) {
    public String modelKey() {
        return dataset + "/" + model + "/" + defense;
    }

    public TrainingResult asCached() {
        return new TrainingResult(dataset, model, defense, trainEps, epochs, seconds, valMetric, valValue, hash, weights, true);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dataset", dataset);
        m.put("model", model);
        m.put("defense", defense);
        m.put("train_eps", trainEps);
        m.put("epochs", epochs);
        m.put("seconds", seconds);
        m.put("val_metric", valMetric);
        m.put("val_value", valValue);
        m.put("hash", hash);
        m.put("weights", weights);
        m.put("cached", cached);
        return m;
    }

    public static TrainingResult fromMap(Map<?, ?> m) {
        return new TrainingResult(CellResult.str(m, "dataset"), CellResult.str(m, "model"), CellResult.str(m, "defense"),
                CellResult.num(m, "train_eps"), (int) CellResult.num(m, "epochs"), CellResult.num(m, "seconds"),
                CellResult.str(m, "val_metric"), CellResult.num(m, "val_value"), CellResult.str(m, "hash"),
                CellResult.str(m, "weights"), Boolean.TRUE.equals(m.get("cached")));
    }
}
