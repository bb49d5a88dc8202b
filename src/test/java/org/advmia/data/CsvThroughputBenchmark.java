package org.advmia.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Throughput of the csv: pipeline (a main, not a JUnit test): writes N 256 x 256 RGB PNGs of
 * procedural lesions and a CSV into a temporary folder, then streams them through
 * {@code csv:...?size=224} (PNG decode, area resize to 224, rotation up to 20 degrees, flips,
 * copy into native batch tensors) and reports images per second as the consumer sees them.
 *
 * <pre>
 * mvn -q test-compile
 * java -cp target/classes:target/test-classes:$(cat target/runtime-classpath.txt) \
 *     org.advmia.data.CsvThroughputBenchmark [images=512] [workers=cores] [epochs=3]
 * </pre>
 */
public final class CsvThroughputBenchmark {
    private CsvThroughputBenchmark() {}

    public static void main(String[] args) throws Exception {
        int images = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int cores = Runtime.getRuntime().availableProcessors();
        int workers = args.length > 1 ? Integer.parseInt(args[1]) : cores;
        int epochs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path dir = Files.createTempDirectory("advmia-csv-bench");
        try {
            long t0 = System.nanoTime();
            Path csv = writeImages(dir, images);
            System.out.printf("wrote %d PNGs of 256x256 RGB (%.1f MB) in %.1f s%n", images, folderBytes(dir) / 1e6,
                    (System.nanoTime() - t0) / 1e9);
            Dataset data = DataSpec.open("csv:" + csv + "?size=224&val=0&test=0");

            long d0 = System.nanoTime();
            IntStream.range(0, Math.min(images, 64)).forEach(i -> data.get(Split.TRAIN, i));
            double single = Math.min(images, 64) / ((System.nanoTime() - d0) / 1e9);
            System.out.printf("one thread, decode + resize only: %.0f images/s%n", single);

            BatchLoader loader = BatchLoader.builder(data, Split.TRAIN).batchSize(64).shuffle(0)
                    .augmentation(Augmentation.standard()).workers(workers).build();
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            double best = 0, bestCpuMs = Double.MAX_VALUE;
            for (int e = 0; e < epochs; e++) {
                long s = System.nanoTime(), cpu0 = os.getProcessCpuTime();
                int n = 0;
                double wait;
                try (BatchLoader.Epoch epoch = loader.epoch(e)) {
                    for (Batch b : epoch) n += b.size();
                    wait = epoch.waitSeconds();
                }
                double seconds = (System.nanoTime() - s) / 1e9, rate = n / seconds;
                double cpuMs = (os.getProcessCpuTime() - cpu0) / 1e6 / n;
                if (e > 0) { // epoch 0 warms up the JIT and OpenCV
                    best = Math.max(best, rate);
                    bestCpuMs = Math.min(bestCpuMs, cpuMs);
                }
                System.out.printf("epoch %d: %d images in %.2f s = %.0f images/s (decode + resize + augment + tensor), "
                        + "%.2f CPU-ms per image, %d workers, wait %.2f s%n", e, n, seconds, rate, cpuMs, workers, wait);
            }
            System.out.printf("%s, %d cores, %d workers: %.0f images/s wall (best epoch after warm-up); %.2f CPU-ms per "
                    + "image, i.e. %.0f images/s per fully available core; load average %.1f%n", LocalDate.now(), cores,
                    workers, best, bestCpuMs, 1000 / bestCpuMs, os.getSystemLoadAverage());
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    static Path writeImages(Path dir, int n) throws IOException {
        Dataset lesions = new SyntheticLesions(false, 256, 3, n, 0, 0, 1);
        IntStream.range(0, n).parallel().forEach(i -> {
            float[] chw = lesions.get(Split.TRAIN, i).image();
            byte[] hwc = new byte[chw.length];
            int plane = 256 * 256;
            for (int p = 0; p < plane; p++) for (int c = 0; c < 3; c++) hwc[p * 3 + c] = (byte) Pixels.toByte(chw[c * plane + p]);
            ImageCodec.write(dir.resolve(String.format("img%05d.png", i)), hwc, 256, 256, 3);
        });
        List<String> lines = new ArrayList<>();
        lines.add("image,label");
        for (int i = 0; i < n; i++) lines.add(String.format("img%05d.png,%d", i, (int) lesions.label(Split.TRAIN, i)[0]));
        Path csv = dir.resolve("images.csv");
        Files.write(csv, lines);
        return csv;
    }

    private static long folderBytes(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
