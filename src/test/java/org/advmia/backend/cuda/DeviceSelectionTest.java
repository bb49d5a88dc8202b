package org.advmia.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.advmia.backend.Backends;
import org.advmia.backend.cpu.CpuBackend;
import org.advmia.cli.Main;
import org.advmia.tensor.Device;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Backend selection (auto, the system property, --device) on machines with and without a GPU. */
class DeviceSelectionTest {
    private String saved;

    @BeforeEach
    void save() {
        saved = System.getProperty("advmia.device");
        System.clearProperty("advmia.device");
    }

    @AfterEach
    void restore() {
        if (saved == null) System.clearProperty("advmia.device");
        else System.setProperty("advmia.device", saved);
    }

    private record Run(int code, String out, String err) {}

    private static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void withoutAGpuEverythingDefaultsToTheCpu() {
        assumeFalse(CudaBackend.isAvailable(), "a GPU is present");
        assertFalse(Backends.cudaUsable());
        assertEquals(Device.CPU, Backends.defaultDevice());
        assertTrue(Backends.defaultBackend() instanceof CpuBackend);
        System.setProperty("advmia.device", "auto");
        assertEquals(Device.CPU, Backends.defaultDevice());
        String reason = CudaBackend.unavailableReason();
        assertTrue(reason != null && !reason.isBlank(), "a reason is given");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.of(Device.cuda(0)));
        assertTrue(e.getMessage().contains("cuda:0 requested") && e.getMessage().contains("--device cpu"), e.getMessage());
    }

    @Test
    void withoutAGpuDeviceCudaIsAUsageError() {
        assumeFalse(CudaBackend.isAvailable(), "a GPU is present");
        Run r = cli("--device", "cuda", "info");
        assertEquals(Main.USAGE, r.code, r.err);
        assertTrue(r.err.contains("--device cuda") && r.err.contains("use --device cpu"), r.err);
        assertNull(System.getProperty("advmia.device"), "a failed --device leaves no property behind");
    }

    @Test
    void deviceFlagSetsTheDefaultForOneCommand() {
        Run r = cli("--device", "cpu", "info");
        assertEquals(Main.OK, r.code, r.err);
        assertTrue(r.out.contains("device      cpu"), r.out);
        Run after = cli("info", "--device=cpu");
        assertEquals(Main.OK, after.code, after.err);
        assertTrue(after.out.contains("device      cpu"), after.out);
        assertNull(System.getProperty("advmia.device"), "the flag does not outlive its command");
    }

    @Test
    void badDeviceValuesAreUsageErrors() {
        Run bad = cli("--device", "tpu", "info");
        assertEquals(Main.USAGE, bad.code);
        assertTrue(bad.err.contains("expected cpu, cuda or cuda:N"), bad.err);
        Run missing = cli("info", "--device");
        assertEquals(Main.USAGE, missing.code);
        assertTrue(missing.err.contains("--device needs a value"), missing.err);
    }

    @Test
    void withAGpuAutoPicksCudaAndThePropertyOverrides() {
        assumeTrue(CudaBackend.isAvailable(), () -> "skipped: " + CudaBackend.unavailableReason());
        assertEquals(Device.cuda(0), Backends.defaultDevice());
        assertTrue(Backends.defaultBackend() instanceof CudaBackend);
        System.setProperty("advmia.device", "cpu");
        assertEquals(Device.CPU, Backends.defaultDevice());
        Run r = cli("--device", "cuda", "info");
        assertEquals(Main.OK, r.code, r.err);
        assertTrue(r.out.contains("device      cuda:0"), r.out);
    }
}
