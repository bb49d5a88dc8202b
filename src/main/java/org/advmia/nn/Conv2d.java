package org.advmia.nn;

import org.advmia.autograd.NnOps;
import org.advmia.autograd.Variable;

/** torch.nn.Conv2d: parameters `weight` [out, in / groups, k, k] and optional `bias` [out]. */
public final class Conv2d extends Module {
    public final int in, out, kernel, stride, padding, dilation, groups;
    private final Variable weight, bias;

    public Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias,
                  Init init) {
        if (in <= 0 || out <= 0 || groups <= 0 || in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("Conv2d(" + in + ", " + out + ", groups=" + groups
                    + "): channels must be positive multiples of groups");
        }
        this.in = in;
        this.out = out;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        double bound = 1 / Math.sqrt((double) in / groups * kernel * kernel);
        this.weight = parameter("weight", init.uniform(bound, out, in / groups, kernel, kernel));
        this.bias = bias ? parameter("bias", init.uniform(bound, out)) : null;
    }

    /** kernel x kernel convolution, stride 1, with bias. */
    public Conv2d(int in, int out, int kernel, int padding, Init init) {
        this(in, out, kernel, 1, padding, 1, 1, true, init);
    }

    public Variable weight() {
        return weight;
    }

    /** forward(relu(x)), with the ReLU fused into the convolution (see {@link NnOps#reluConv2d}). */
    public Variable forwardRelu(Variable x) {
        return NnOps.reluConv2d(x, weight, bias, stride, padding, dilation, groups);
    }

    /** max-pool 2x2 / stride 2 of forward(x) (of forward(relu(x)) where reluInput), fused (see {@link NnOps#conv2dMaxPool2}). */
    public Variable forwardMaxPool2(Variable x, boolean reluInput) {
        return NnOps.conv2dMaxPool2(x, weight, bias, stride, padding, dilation, groups, reluInput);
    }

    @Override
    public Variable forward(Variable x) {
        return NnOps.conv2d(x, weight, bias, stride, padding, dilation, groups);
    }
}
