package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.IntSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The host half of every CUDA kernel entry: argument checks run before anything is launched, so a
 * bad call returns an error naming the operand instead of faulting the GPU. This needs the CUDA
 * library (built wherever nvcc exists) but no GPU. The addresses below are never dereferenced:
 * every call is rejected by its checks (a buffer shorter than the op needs, a null pointer, a bad
 * code), which is what the test asserts; none of them can reach a launch even with a GPU present.
 */
class CudaHostValidationTest {
    private static final long FAKE = 4096;  // a non-null address that must never be touched

    /** Per test, not per class: surefire then reports each test as skipped rather than none at all. */
    @BeforeEach
    void libraryBuilt() {
        assumeTrue(CudaNative.unavailableReason() == null || !CudaNative.unavailableReason().startsWith("CUDA library did not load"),
                () -> "skipped: " + CudaNative.unavailableReason() + " (built without nvcc?)");
    }

    private static void rejects(String expected, IntSupplier call) {
        int rc = call.getAsInt();
        assertEquals(-1, rc, "call was accepted; expected an error mentioning '" + expected + "'");
        String msg = CudaNative.advc_last_error();
        assertTrue(msg.contains(expected), "error '" + msg + "' should mention '" + expected + "'");
    }

    @Test
    void elementwiseEntriesCheckEveryBuffer() {
        rejects("unary: output holds 3 elements but the op needs 4", () -> CudaNative.advc_unary(0, 0, FAKE, 4, FAKE, 3, 4, 0, 0));
        rejects("unary: unknown op code 99", () -> CudaNative.advc_unary(0, 99, FAKE, 4, FAKE, 4, 4, 0, 0));
        rejects("unary_bwd: input gradient is a null pointer",
                () -> CudaNative.advc_unary_bwd(0, 0, 0, 0, 0, 0, FAKE, 4, 0, 4, 4, 0, 0));
        rejects("binary: right operand holds 2 elements but the op needs 3", () -> CudaNative.advc_binary(0, 0, FAKE, 6,
                FAKE, 2, FAKE, 6, 2, new long[] {2, 3}, new long[] {3, 1}, new long[] {0, 1}));
        rejects("binary: rank 9 outside 1..8", () -> CudaNative.advc_binary(0, 0, FAKE, 1, FAKE, 1, FAKE, 1, 9,
                new long[9], new long[9], new long[9]));
        rejects("axpby: y holds 1 elements", () -> CudaNative.advc_axpby(0, FAKE, 2, FAKE, 1, FAKE, 2, 2, 1, 1));
        rejects("fill: n must be >= 0", () -> CudaNative.advc_fill(0, FAKE, 1, -1, 0));
        rejects("cast: dtype codes 0 -> 7 unsupported", () -> CudaNative.advc_cast(0, FAKE, 1, 7, FAKE, 1, 1));
        rejects("copy_block: source holds 5 elements but the op needs 7",
                () -> CudaNative.advc_copy_block(0, FAKE, 5, 1, 3, FAKE, 100, 0, 3, 2, 3));
        rejects("copy_block: row strides (2, 3) shorter than a row (3)",
                () -> CudaNative.advc_copy_block(0, FAKE, 100, 0, 2, FAKE, 100, 0, 3, 2, 3));
        rejects("transpose: output holds 5 elements but the op needs 6",
                () -> CudaNative.advc_transpose(0, 1, 2, 3, FAKE, 6, FAKE, 5));
        rejects("dtype code 5 is neither float32 (0) nor float64 (1)", () -> CudaNative.advc_fill(5, FAKE, 1, 1, 0));
    }

    @Test
    void reductionAndSpatialEntriesCheckShapes() {
        rejects("reduce: reduced extent must be positive", () -> CudaNative.advc_reduce(0, 0, FAKE, 1, FAKE, 1, 1, 0, 1));
        rejects("argmax: output holds 1 elements but the op needs 2",
                () -> CudaNative.advc_argmax(0, FAKE, 6, FAKE, 1, 2, 3));
        assertEquals(-1, CudaNative.advc_count_nonfinite(0, FAKE, 1, 2));
        assertTrue(CudaNative.advc_last_error().contains("count_nonfinite: input holds 1 elements"));
        long[] pool = {2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 4, 4, 1, 0};
        rejects("pool2d_fwd: output holds 95 elements but the op needs 96",
                () -> CudaNative.advc_pool2d_fwd(0, pool, FAKE, 384, FAKE, 95, 0, 0));
        rejects("pool2d_bwd: indices is a null pointer", () -> CudaNative.advc_pool2d_bwd(0, pool, FAKE, 96, 0, 0, FAKE, 384));
        long[] badKind = pool.clone();
        badKind[13] = 7;
        rejects("unknown pool kind 7", () -> CudaNative.advc_pool2d_fwd(0, badKind, FAKE, 384, FAKE, 96, 0, 0));
        rejects("gather_planes: indices holds 3 elements", () -> CudaNative.advc_gather_planes(0, 2, 4, 2, FAKE, 8, FAKE, 3,
                FAKE, 4));
        rejects("median_filter: kernel size 4 must be odd", () -> CudaNative.advc_median_filter(0, 1, 4, 4, 4, FAKE, 16,
                FAKE, 16));
        rejects("median_filter: kernel size 17 exceeds", () -> CudaNative.advc_median_filter(0, 1, 40, 40, 17, FAKE, 1600,
                FAKE, 1600));
        rejects("upsample_fwd: output holds 15 elements but the op needs 16",
                () -> CudaNative.advc_upsample(0, 0, 1, 0, 1, 1, 2, 2, 4, 4, FAKE, 4, FAKE, 15));
        rejects("upsample_bwd: mode 2 is neither nearest (0) nor bilinear (1)",
                () -> CudaNative.advc_upsample(0, 1, 2, 0, 1, 1, 2, 2, 4, 4, FAKE, 16, FAKE, 4));
        rejects("batchnorm_fwd: eval mode needs running statistics", () -> CudaNative.advc_batchnorm_fwd(0, 0, 2, 3, 4, 3,
                0.1, 1e-5, FAKE, 24, 0, 0, 0, 0, FAKE, 24, FAKE, FAKE));
        rejects("batchnorm_fwd: training needs more than one value per channel", () -> CudaNative.advc_batchnorm_fwd(0, 1,
                1, 3, 1, 3, 0.1, 1e-5, FAKE, 3, 0, 0, 0, 0, FAKE, 3, FAKE, FAKE));
        rejects("batchnorm_bwd: per-channel buffers hold 2 values, need C=3", () -> CudaNative.advc_batchnorm_bwd(0, 1, 2,
                3, 4, 2, FAKE, 24, FAKE, 24, 0, FAKE, FAKE, FAKE, 24, 0, 0));
    }

    @Test
    void lossAndUpdateEntriesCheckShapes() {
        rejects("softmax_ce: labels holds 3 elements but the op needs 4", () -> CudaNative.advc_softmax_ce(0, 0, 4, 10, 0,
                FAKE, 40, FAKE, 3, 0, 0, FAKE, 4, 0, 0, 0, 0));
        rejects("softmax_ce: label smoothing 1.5 outside [0, 1]", () -> CudaNative.advc_softmax_ce(0, 0, 4, 10, 1.5, FAKE,
                40, FAKE, 4, 0, 0, FAKE, 4, 0, 0, 0, 0));
        rejects("margin: logit gradient holds 39 elements", () -> CudaNative.advc_margin(0, 1, 4, 10, FAKE, 40, FAKE, 4, 0,
                0, FAKE, 4, FAKE, 39));
        rejects("dlr: needs at least 4 classes, got 3", () -> CudaNative.advc_dlr(0, 0, 4, 3, FAKE, 12, FAKE, 4, FAKE, 4,
                FAKE, 4, 0, 0, 0, 0));
        rejects("bce_with_logits: pos_weight holds 2 elements but the op needs 3", () -> CudaNative.advc_bce_logits(0, 0,
                6, 3, FAKE, 6, FAKE, 6, FAKE, 2, FAKE, 6, 0, 0, 0, 0));
        rejects("log_softmax: output gradient is a null pointer", () -> CudaNative.advc_log_softmax(0, 1, 2, 3, 0, 0, FAKE,
                6, 0, 0, FAKE, 6));
        rejects("sgd_step: momentum buffer is a null pointer", () -> CudaNative.advc_sgd_step(0, FAKE, 4, FAKE, 4, 0, 0, 4,
                0.1, 0.9, 0, 0, 0, 1));
        rejects("adam_step: step must be positive", () -> CudaNative.advc_adam_step(0, FAKE, 4, FAKE, 4, FAKE, 4, FAKE, 4,
                4, 1e-3, 0.9, 0.999, 1e-8, 0, 0, 0));
        rejects("random: unknown distribution code 3", () -> CudaNative.advc_random(0, 3, FAKE, 4, 4, 1, 0, 0, 1));
        rejects("attack_step: per-sample eps holds 1 elements but the op needs 2", () -> CudaNative.advc_attack_step(0, 0,
                2, 3, FAKE, 6, FAKE, 6, 0, 0, 0.1, 0, 0, 0.1, FAKE, 1, 0, 0, 0, 1));
        rejects("attack_step: box [1, 0] is empty", () -> CudaNative.advc_attack_step(0, 1, 2, 3, FAKE, 6, FAKE, 6, 0, 0,
                0.1, 0, 0, 0.1, 0, 0, 0, 0, 1, 0));
        rejects("attack_step: unknown norm code 2", () -> CudaNative.advc_attack_step(0, 2, 2, 3, FAKE, 6, FAKE, 6, 0, 0,
                0.1, 0, 0, 0.1, 0, 0, 0, 0, 0, 1));
    }

    @Test
    void withoutAGpuValidCallsFailCleanlyInsteadOfLaunching() {
        assumeFalse(CudaNative.available(), "a GPU is present: this checks the no-GPU path");
        assertEquals(0, CudaNative.advc_device_count(), "no device must read as 0, not as an error code");
        rejects("cuda:0 requested but 0 CUDA device(s) are visible", () -> CudaNative.advc_init(0));
        // Well-formed arguments pass the checks and then stop at the missing engine, before any launch.
        rejects("CUDA library used before advc_init", () -> CudaNative.advc_fill(0, FAKE, 4, 4, 1));
        rejects("CUDA library used before advc_init", () -> CudaNative.advc_attack_step(0, 1, 2, 3, FAKE, 6, FAKE, 6,
                FAKE, 6, 0.1, 0, 0, 0.5, 0, 0, 0, 0, 0, 1));
        assertEquals(0, CudaNative.advc_malloc(64), "malloc without an engine returns 0");
        assertTrue(CudaNative.advc_last_error().contains("before advc_init"));
    }
}
