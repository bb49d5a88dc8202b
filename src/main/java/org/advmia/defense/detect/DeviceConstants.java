package org.advmia.defense.detect;

import java.util.HashMap;
import java.util.Map;
import org.advmia.backend.Backends;
import org.advmia.tensor.DType;
import org.advmia.tensor.Tensor;

/**
 * A detector's fitted statistics as device tensors, uploaded once per dtype and kept outside
 * any memory scope, so scoring inside an attack loop copies nothing from the host.
 */
final class DeviceConstants implements AutoCloseable {
    private final Map<String, Tensor> tensors = new HashMap<>();

    Tensor get(String key, DType dtype, double[] data, long... shape) {
        return tensors.computeIfAbsent(key + "@" + dtype, k -> Backends.tensor(dtype, data, shape).keep());
    }

    @Override
    public void close() {
        for (Tensor t : tensors.values()) t.close();
        tensors.clear();
    }
}
