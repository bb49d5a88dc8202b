package org.advmia.backend;

import org.advmia.backend.cpu.CpuBackend;
import org.advmia.backend.cuda.CudaBackend;
import org.advmia.tensor.DType;
import org.advmia.tensor.Device;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Finds the backend for a device, and the process default: -Dadvmia.device (or ADVMIA_DEVICE)
 * = cpu | cuda | cuda:N | auto. Unset or auto: CUDA when a GPU is visible and the CUDA backend
 * starts on it, the CPU otherwise (so a machine without a GPU or driver runs everything on the CPU).
 */
public final class Backends {
    private Backends() {}

    private static volatile Boolean cudaUsable;

    public static Backend of(Device device) {
        if (device.kind() == Device.Kind.CPU) return CpuBackend.get();
        if (!CudaBackend.isAvailable()) {
            throw new IllegalArgumentException("device " + device + " requested, but " + CudaBackend.unavailableReason()
                    + "; use --device cpu (or -Dadvmia.device=cpu)");
        }
        return CudaBackend.get(device.index());
    }

    public static Backend of(Tensor t) {
        return of(t.device());
    }

    public static Device defaultDevice() {
        String s = System.getProperty("advmia.device", System.getenv("ADVMIA_DEVICE"));
        if (s != null && !s.isBlank() && !s.trim().equalsIgnoreCase("auto")) return Device.parse(s);
        return cudaUsable() ? Device.cuda(0) : Device.CPU;
    }

    /** Whether auto-selection picks CUDA; probed once (loading the CUDA library, starting the backend). */
    public static boolean cudaUsable() {
        Boolean u = cudaUsable;
        if (u == null) {
            boolean ok;
            try {
                ok = CudaBackend.isAvailable();
            } catch (LinkageError e) {
                ok = false;  // a build without the CUDA library, or a driver that does not load
            }
            cudaUsable = u = ok;
        }
        return u;
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
