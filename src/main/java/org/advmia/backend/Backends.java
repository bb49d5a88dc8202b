package org.advmia.backend;

import org.advmia.backend.cpu.CpuBackend;
import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Finds the backend for a device, and the process default: -Dadvmia.device (or ADVMIA_DEVICE)
 * = cpu | cuda | cuda:N overrides; otherwise the CPU.
 */
public final class Backends {
    private Backends() {}

    public static Backend of(Device device) {
        if (device.kind() == Device.Kind.CPU) return CpuBackend.get();
        throw new IllegalArgumentException("device " + device + ": no CUDA backend is available in this build"
                + " (only the CUDA attack-step kernel is compiled so far); use --device cpu");
    }

    public static Backend of(Tensor t) {
        return of(t.device());
    }

    public static Device defaultDevice() {
        String s = System.getProperty("advmia.device", System.getenv("ADVMIA_DEVICE"));
        return s == null || s.isBlank() ? Device.CPU : Device.parse(s);
    }

    public static Backend defaultBackend() {
        return of(defaultDevice());
    }

    /** A tensor on the default backend holding a copy of data. */
    public static Tensor tensor(float[] data, long... shape) {
        Backend b = defaultBackend();
        Tensor t = b.empty(DType.FLOAT32, Shape.of(shape));
        b.copyFromHost(data, t);
        return t;
    }

    public static Tensor tensor(DType dtype, double[] data, long... shape) {
        Backend b = defaultBackend();
        Tensor t = b.empty(dtype, Shape.of(shape));
        b.copyFromHost(data, t);
        return t;
    }

    public static float[] toFloatArray(Tensor t) {
        float[] out = new float[Math.toIntExact(t.numel())];
        of(t).copyToHost(t, out);
        return out;
    }

    public static double[] toDoubleArray(Tensor t) {
        double[] out = new double[Math.toIntExact(t.numel())];
        of(t).copyToHost(t, out);
        return out;
    }
}
