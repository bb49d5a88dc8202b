package org.advmia.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Batch norm in training mode (batch statistics, running-stat update) forward and backward, at
 * ResNet-18's four widths and MobileNetV2's widest early layer (batch 64, 32 px input).
 * Memory-bound: kernels_report.py prints GB/s of the minimum traffic (forward reads x and writes
 * y; backward reads x and gy and writes gx), so the figure is a lower bound of the bytes moved.
 * Parameter: {@code label:n:c:h:w}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dadvmia.threads=2")
public class BatchNormBenchmark {
    @Param({
        "resnet18.bn64:64:64:32:32",
        "resnet18.bn128:64:128:16:16",
        "resnet18.bn256:64:256:8:8",
        "resnet18.bn512:64:512:4:4",
        "mobilenetv2.bn144:64:144:32:32",
    })
    public String shape;

    private final Backend be = Backends.defaultBackend();
    private Tensor x, y, gy, gx, gamma, beta, runMean, runVar, saveMean, saveInvStd, gGamma, gBeta;

    @Setup
    public void setup() {
        long[] d = KernelShapes.dims(shape, 4);
        x = KernelShapes.uniform(1, -1, 1, d);
        y = KernelShapes.uniform(2, 0, 1, d);
        gy = KernelShapes.uniform(3, -1, 1, d);
        gx = KernelShapes.uniform(4, 0, 1, d);
        gamma = KernelShapes.uniform(5, 0.5, 1.5, d[1]);
        beta = KernelShapes.uniform(6, -0.1, 0.1, d[1]);
        runMean = KernelShapes.uniform(7, 0, 0, d[1]);
        runVar = KernelShapes.uniform(8, 1, 1, d[1]);
        saveMean = KernelShapes.uniform(9, 0, 0, d[1]);
        saveInvStd = KernelShapes.uniform(10, 0, 0, d[1]);
        gGamma = KernelShapes.uniform(11, 0, 0, d[1]);
        gBeta = KernelShapes.uniform(12, 0, 0, d[1]);
        be.batchNorm(true, 0.1, 1e-5, x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd);
    }

    @TearDown
    public void tearDown() {
        KernelShapes.close(x, y, gy, gx, gamma, beta, runMean, runVar, saveMean, saveInvStd, gGamma, gBeta);
    }

    @Benchmark
    public void forward() {
        be.batchNorm(true, 0.1, 1e-5, x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd);
    }

    @Benchmark
    public void backward() {
        be.batchNormBackward(true, x, gy, gamma, saveMean, saveInvStd, gx, gGamma, gBeta);
    }
}
