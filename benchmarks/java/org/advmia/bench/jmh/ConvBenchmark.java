package org.advmia.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.ConvGeometry;
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
 * Convolution forward, backward-data and backward-filter at the benchmark models' real layer
 * shapes: SmallCNN (28 px, batch 128), ResNet-18 with the CIFAR stem (32 px, batch 64) and
 * MobileNetV2 with CIFAR strides (32 px, batch 64; its 1x1 and depthwise layers). Parameter:
 * {@code layer:n:c:h:w:cout:k:stride:pad:groups}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dadvmia.threads=2")
public class ConvBenchmark {
    @Param({
        "smallcnn.conv1:128:1:28:28:32:3:1:0:1",
        "smallcnn.conv2:128:32:26:26:32:3:1:0:1",
        "smallcnn.conv3:128:32:12:12:64:3:1:0:1",
        "smallcnn.conv4:128:64:10:10:64:3:1:0:1",
        "resnet18.conv1:64:3:32:32:64:3:1:1:1",
        "resnet18.layer1.conv:64:64:32:32:64:3:1:1:1",
        "resnet18.layer2.0.conv1:64:64:32:32:128:3:2:1:1",
        "resnet18.layer2.conv:64:128:16:16:128:3:1:1:1",
        "resnet18.layer2.0.downsample:64:64:32:32:128:1:2:0:1",
        "resnet18.layer3.conv:64:256:8:8:256:3:1:1:1",
        "resnet18.layer4.conv:64:512:4:4:512:3:1:1:1",
        "mobilenetv2.features.2.expand:64:24:32:32:144:1:1:0:1",
        "mobilenetv2.features.2.depthwise:64:144:32:32:144:3:1:1:144",
        "mobilenetv2.features.2.project:64:144:32:32:24:1:1:0:1",
        "mobilenetv2.features.4.depthwise:64:192:16:16:192:3:1:1:192",
        "mobilenetv2.features.18:64:320:4:4:1280:1:1:0:1",
    })
    public String layer;

    private final Backend be = Backends.defaultBackend();
    private ConvGeometry g;
    private Tensor x, w, b, y, gy, gx, gw, gb;

    @Setup
    public void setup() {
        g = KernelShapes.conv(layer);
        x = KernelShapes.uniform(1, 0, 1, g.inputShape());
        w = KernelShapes.uniform(2, -0.1, 0.1, g.weightShape());
        b = KernelShapes.uniform(3, -0.1, 0.1, g.cout());
        y = KernelShapes.uniform(4, 0, 1, g.outputShape());
        gy = KernelShapes.uniform(5, -1, 1, g.outputShape());
        gx = KernelShapes.uniform(6, 0, 1, g.inputShape());
        gw = KernelShapes.uniform(7, 0, 1, g.weightShape());
        gb = KernelShapes.uniform(8, 0, 1, g.cout());
    }

    @TearDown
    public void tearDown() {
        KernelShapes.close(x, w, b, y, gy, gx, gw, gb);
    }

    @Benchmark
    public void forward() {
        be.conv2d(g, x, w, b, y);
    }

    @Benchmark
    public void backwardData() {
        be.conv2dBackwardData(g, gy, w, gx);
    }

    @Benchmark
    public void backwardFilter() {
        be.conv2dBackwardFilter(g, x, gy, gw, gb);
    }
}
