package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.tensor.Tensor;

/**
 * torch.nn.BatchNorm2d (also accepts [N, C] input, like BatchNorm1d): parameters `weight`,
 * `bias`; buffers `running_mean`, `running_var`, `num_batches_tracked` (stored as a float scalar,
 * written to safetensors as int64 like PyTorch's). Training mode normalises with batch statistics
 * and updates the running ones (unbiased variance, momentum 0.1 by default).
 */
public final class BatchNorm2d extends Module {
    public final int channels;
    public final double eps, momentum;
    private final Variable weight, bias;
    private final Tensor runningMean, runningVar, batchesTracked;

    public BatchNorm2d(int channels, double eps, double momentum, Init init) {
        if (channels <= 0) throw new IllegalArgumentException("BatchNorm2d: channels must be positive, got " + channels);
        this.channels = channels;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = parameter("weight", init.constant(1, channels));
        this.bias = parameter("bias", init.constant(0, channels));
        this.runningMean = buffer("running_mean", init.constant(0, channels));
        this.runningVar = buffer("running_var", init.constant(1, channels));
        this.batchesTracked = buffer("num_batches_tracked", init.constant(0));
    }

    public BatchNorm2d(int channels, Init init) {
        this(channels, 1e-5, 0.1, init);
    }

    @Override
    public Variable forward(Variable x) {
        return forward(x, null);
    }

    /** This layer followed by act (RELU or RELU6, or null), fused so that the graph keeps one output. */
    public Variable forward(Variable x, org.advmia.backend.UnaryOp act) {
        if (x.shape().rank() < 2 || x.shape().dim(1) != channels) {
            throw new IllegalArgumentException("BatchNorm2d(" + channels + "): input " + x.shape() + " has "
                    + (x.shape().rank() < 2 ? "no" : String.valueOf(x.shape().dim(1))) + " channels");
        }
        boolean training = isTraining();
        if (training) {
            double n = Backends.toDoubleArray(batchesTracked)[0];
            Backends.of(batchesTracked).fill(batchesTracked, n + 1);
        }
        return NnOps.batchNorm(x, weight, bias, runningMean, runningVar, training, momentum, eps, act);
    }
}
