package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.advmia.backend.Norm;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.tensor.DType;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;
import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;

/** The CUDA fused attack step against its CPU twin, on fresh random inputs. Skips without a GPU. */
class CudaAttackStepTest {

    @Test
    void matchesCpuTwin() {
        assumeTrue(CudaNative.available(), () -> "skipped: " + CudaNative.unavailableReason());
        CpuBackend cpu = CpuBackend.get();
        Random r = new Random(7);
        int n = 8, d = 3 * 32 * 32;
        for (Norm norm : Norm.values()) {
            float[] x0 = new float[n * d], x = new float[n * d], g = new float[n * d];
            for (int i = 0; i < x0.length; i++) {
                x0[i] = r.nextFloat();
                x[i] = Math.min(1, Math.max(0, x0[i] + 0.05f * (float) r.nextGaussian()));
                g[i] = (float) r.nextGaussian();
            }
            double alpha = norm == Norm.LINF ? 2 / 255.0 : 0.2, eps = norm == Norm.LINF ? 8 / 255.0 : 0.5;
            float[] expected = new float[n * d];
            try (MemoryScope s = MemoryScope.open()) {
                Tensor tx0 = cpu.empty(DType.FLOAT32, Shape.of(n, d)), tx = cpu.empty(DType.FLOAT32, Shape.of(n, d)),
                        tg = cpu.empty(DType.FLOAT32, Shape.of(n, d));
                cpu.copyFromHost(x0, tx0);
                cpu.copyFromHost(x, tx);
                cpu.copyFromHost(g, tg);
                cpu.attackStep(norm, tx0, tx, tg, alpha, null, eps, null, null, 0, 1);
                cpu.copyToHost(tx, expected);
            }
            float[] actual = runOnGpu(norm, n, d, x0, x, g, alpha, eps);
            for (int i = 0; i < expected.length; i++) {
                // Both compute in float (L-inf) or double then round (L2); 1e-6 covers the rounding.
                assertEquals(expected[i], actual[i], 1e-6, norm + " element " + i);
            }
            assertTrue(expected.length > 0);
        }
    }

    private static float[] runOnGpu(Norm norm, int n, int d, float[] x0, float[] x, float[] g, double alpha,
                                    double eps) {
        long bytes = 4L * n * d;
        long dx0 = CudaNative.advc_malloc(bytes), dx = CudaNative.advc_malloc(bytes), dg = CudaNative.advc_malloc(bytes);
        try (FloatPointer h0 = new FloatPointer(x0); FloatPointer h = new FloatPointer(x);
             FloatPointer hg = new FloatPointer(g); FloatPointer out = new FloatPointer(n * (long) d)) {
            check(CudaNative.advc_memcpy(dx0, h0.address(), bytes, 0));
            check(CudaNative.advc_memcpy(dx, h.address(), bytes, 0));
            check(CudaNative.advc_memcpy(dg, hg.address(), bytes, 0));
            check(CudaNative.advc_attack_step(norm.code(), n, d, dx0, n * (long) d, dx, n * (long) d, dg, n * (long) d,
                    alpha, eps, 0, 1));
            check(CudaNative.advc_memcpy(out.address(), dx, bytes, 1));
            float[] result = new float[n * d];
            out.get(result);
            return result;
        } finally {
            CudaNative.advc_free(dx0);
            CudaNative.advc_free(dx);
            CudaNative.advc_free(dg);
        }
    }

    private static void check(int rc) {
        if (rc != 0) throw new IllegalStateException(CudaNative.advc_last_error());
    }
}
