package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;

/** torch.nn.ConvTranspose2d: `weight` [in, out / groups, k, k] and optional `bias` [out]. */
public final class ConvTranspose2d extends Module {
    public final int in, out, kernel, stride, padding, outputPadding, dilation, groups;
    private final Variable weight, bias;

    public ConvTranspose2d(int in, int out, int kernel, int stride, int padding, int outputPadding, int dilation,
                           int groups, boolean bias, Init init) {
        if (in <= 0 || out <= 0 || groups <= 0 || in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("ConvTranspose2d(" + in + ", " + out + ", groups=" + groups
                    + "): channels must be positive multiples of groups");
        }
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.outputPadding = outputPadding;
        this.dilation = dilation;
        this.groups = groups;
        // PyTorch computes fan-in from weight.size(1) * k * k for transposed convolutions.
        double bound = 1 / Math.sqrt((double) out / groups * kernel * kernel);
        this.weight = parameter("weight", init.uniform(bound, in, out / groups, kernel, kernel));
        this.bias = bias ? parameter("bias", init.uniform(bound, out)) : null;
    }

    /** The U-Net up-sampling layer: kernel 2, stride 2, with bias. */
    public static ConvTranspose2d upsampleBy2(int in, int out, Init init) {
        return new ConvTranspose2d(in, out, 2, 2, 0, 0, 1, 1, true, init);
    }

    @Override
    public Variable forward(Variable x) {
        return NnOps.convTranspose2d(x, weight, bias, stride, padding, outputPadding, dilation, groups);
    }
}
