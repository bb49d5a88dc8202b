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
 * GEMM through the backend (OpenBLAS sgemm, row-major C = A B): the square sizes that give this
 * machine's peak, the Linear layers of the models and the im2col products of the convolutions.
 * Parameter: {@code label:m:n:k}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dadvmia.threads=2")
public class GemmBenchmark {
    @Param({
        "peak.1024:1024:1024:1024",
        "peak.2048:2048:2048:2048",
        "smallcnn.fc1:128:200:1024",
        "smallcnn.fc2:128:200:200",
        "smallcnn.conv2.im2col.image:32:676:288",
        "resnet18.layer1.im2col.image:64:1024:576",
        "resnet18.layer4.im2col.batch:512:1024:4608",
        "mobilenetv2.features.18.1x1.batch:1280:1024:320",
    })
    public String shape;

    private final Backend be = Backends.defaultBackend();
    private long m, n, k;
    private Tensor a, b, c;

    @Setup
    public void setup() {
        long[] d = KernelShapes.dims(shape, 3);
        m = d[0];
        n = d[1];
        k = d[2];
        a = KernelShapes.uniform(1, -1, 1, m, k);
        b = KernelShapes.uniform(2, -1, 1, k, n);
        c = KernelShapes.uniform(3, -1, 1, m, n);
    }

    @TearDown
    public void tearDown() {
        KernelShapes.close(a, b, c);
    }

    @Benchmark
    public void sgemm() {
        be.gemm(false, false, m, n, k, 1, a, b, 0, c);
    }
}
