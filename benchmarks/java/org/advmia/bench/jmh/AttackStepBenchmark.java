package org.advmia.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Norm;
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
 * The fused attack step (sign or normalised step, eps-ball projection, box clip in one pass) on
 * the benchmark batches. Memory-bound: reads x0, x and g, writes x (4 x 4 bytes per element in
 * float32; L2 reads g once more for the row norms, not counted). Parameter: {@code label:n:c:h:w}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dadvmia.threads=2")
public class AttackStepBenchmark {
    @Param({"smallcnn:128:1:28:28", "resnet18:64:3:32:32"})
    public String shape;

    private final Backend be = Backends.defaultBackend();
    private Tensor x0, x, g;

    @Setup
    public void setup() {
        long[] d = KernelShapes.dims(shape, 4);
        x0 = KernelShapes.uniform(1, 0, 1, d);
        x = KernelShapes.uniform(1, 0, 1, d);
        g = KernelShapes.uniform(2, -1, 1, d);
    }

    @TearDown
    public void tearDown() {
        KernelShapes.close(x0, x, g);
    }

    @Benchmark
    public void linf() {
        be.attackStep(Norm.LINF, x0, x, g, 2 / 255.0, null, 8 / 255.0, null, null, 0, 1);
    }

    @Benchmark
    public void l2() {
        be.attackStep(Norm.L2, x0, x, g, 0.1, null, 0.5, null, null, 0, 1);
    }
}
