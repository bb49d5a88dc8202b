package org.advmia.defense.preprocess;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;

import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.tensor.Tensor;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;

/**
 * JPEG compression (Dziugaite et al. 2016; Das et al. 2017; Guo et al., ICLR 2018): each image is
 * encoded as a real JPEG at the given quality with OpenCV and decoded again, removing the
 * high-frequency detail that small perturbations live in. Non-differentiable: evaluated with BPDA.
 * Grey and 3-channel (RGB) images; pixels are quantised to 8 bits on the way, as in deployment.
 */
public final class JpegCompression implements InputTransform {
    private final int quality;

    public JpegCompression(int quality) {
        if (quality < 1 || quality > 100) throw new IllegalArgumentException("JPEG quality must be 1..100, got " + quality);
        this.quality = quality;
    }

    @Override
    public String name() {
        return "jpeg-q" + quality;
    }

    @Override
    public boolean differentiable() {
        return false;
    }

    @Override
    public boolean random() {
        return false;
    }

    @Override
    public Variable apply(Variable x, Generator gen) {
        long n = x.shape().dim(0), c = x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        if (c != 1 && c != 3) throw new IllegalArgumentException("JPEG compression needs 1 or 3 channels, got " + c);
        float[] in = Backends.toFloatArray(x.value()), out = new float[in.length];
        int plane = (int) (h * w), img = (int) (c * plane);
        byte[] hwc = new byte[img];
        for (int i = 0; i < n; i++) {
            // NCHW float [0, 1] -> HWC uint8 (OpenCV's BGR order: reverse the RGB channels).
            for (int ch = 0; ch < c; ch++) {
                int dst = c == 3 ? 2 - ch : 0;
                for (int p = 0; p < plane; p++) {
                    float v = Math.min(1f, Math.max(0f, in[i * img + ch * plane + p]));
                    hwc[p * (int) c + dst] = (byte) Math.round(v * 255);
                }
            }
            byte[] decoded = roundTrip(hwc, (int) h, (int) w, (int) c);
            for (int ch = 0; ch < c; ch++) {
                int src = c == 3 ? 2 - ch : 0;
                for (int p = 0; p < plane; p++) out[i * img + ch * plane + p] = (decoded[p * (int) c + src] & 0xff) / 255f;
            }
        }
        Backend b = Backends.of(x.value());
        Tensor y = b.empty(x.dtype(), x.shape());
        b.copyFromHost(out, y);
        return Variable.constant(y);
    }

    private byte[] roundTrip(byte[] hwc, int h, int w, int c) {
        try (BytePointer pixels = new BytePointer(hwc); Mat m = new Mat(h, w, c == 1 ? CV_8UC1 : CV_8UC3, pixels);
             BytePointer encoded = new BytePointer();
             IntPointer params = new IntPointer(opencv_imgcodecs.IMWRITE_JPEG_QUALITY, quality)) {
            if (!opencv_imgcodecs.imencode(".jpg", m, encoded, params)) {
                throw new IllegalStateException("OpenCV could not JPEG-encode a " + h + "x" + w + "x" + c + " image");
            }
            try (Mat buf = new Mat(1, (int) encoded.limit(), CV_8UC1, encoded);
                 Mat dec = opencv_imgcodecs.imdecode(buf, c == 1 ? opencv_imgcodecs.IMREAD_GRAYSCALE : opencv_imgcodecs.IMREAD_COLOR)) {
                if (dec == null || dec.empty() || dec.rows() != h || dec.cols() != w) {
                    throw new IllegalStateException("OpenCV could not decode its own JPEG");
                }
                byte[] outBytes = new byte[h * w * c];
                dec.data().get(outBytes);
                return outBytes;
            }
        }
    }
}
