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
 * Per-sample softmax cross-entropy and the CW margin, forward and backward, over logits of the
 * benchmark batches (10 classes) and of a 1000-sample evaluation batch. At these sizes the call
 * overhead dominates; the GB/s in kernels_report.py counts reading the logits and labels and
 * writing the loss (forward) or the logit gradient (backward). Parameter: {@code label:n:classes}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dadvmia.threads=2")
public class LossBenchmark {
    @Param({"smallcnn:128:10", "resnet18:64:10", "eval:1000:10"})
    public String shape;

    private final Backend be = Backends.defaultBackend();
    private Tensor logits, labels, loss, gLoss, gLogits;

    @Setup
    public void setup() {
        long[] d = KernelShapes.dims(shape, 2);
        logits = KernelShapes.uniform(1, -3, 3, d[0], d[1]);
        labels = KernelShapes.labels(d[0], (int) d[1]);
        loss = KernelShapes.uniform(2, 0, 0, d[0]);
        gLoss = KernelShapes.uniform(3, 1, 1, d[0]);
        gLogits = KernelShapes.uniform(4, 0, 0, d[0], d[1]);
    }

    @TearDown
    public void tearDown() {
        KernelShapes.close(logits, labels, loss, gLoss, gLogits);
    }

    @Benchmark
    public void crossEntropyForward() {
        be.softmaxCrossEntropy(logits, labels, null, 0, loss, null, null);
    }

    @Benchmark
    public void crossEntropyBackward() {
        be.softmaxCrossEntropy(logits, labels, null, 0, null, gLoss, gLogits);
    }

    @Benchmark
    public void marginForward() {
        be.margin(logits, labels, loss, null, null);
    }

    @Benchmark
    public void marginBackward() {
        be.margin(logits, labels, null, gLoss, gLogits);
    }
}
