package org.advmia.nn;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;

/** Parameter-free elementwise layers: ReLU, ReLU6, LeakyReLU, Sigmoid, Tanh, Identity. */
public final class Activation extends Module {
    public enum Kind { RELU, RELU6, LEAKY_RELU, SIGMOID, TANH, IDENTITY }

    public final Kind kind;
    private final double slope;

    private Activation(Kind kind, double slope) {
        this.kind = kind;
        this.slope = slope;
    }

    public static Activation relu() {
        return new Activation(Kind.RELU, 0);
    }

    public static Activation relu6() {
        return new Activation(Kind.RELU6, 0);
    }

    public static Activation leakyRelu(double slope) {
        return new Activation(Kind.LEAKY_RELU, slope);
    }

    public static Activation sigmoid() {
        return new Activation(Kind.SIGMOID, 0);
    }

    public static Activation tanh() {
        return new Activation(Kind.TANH, 0);
    }

    public static Activation identity() {
        return new Activation(Kind.IDENTITY, 0);
    }

    /** The op a preceding batch norm can apply in place (RELU, RELU6), or null for the others. */
    public org.advmia.backend.UnaryOp fusableOp() {
        return switch (kind) {
            case RELU -> org.advmia.backend.UnaryOp.RELU;
            case RELU6 -> org.advmia.backend.UnaryOp.RELU6;
            default -> null;
        };
    }

    @Override
    public Variable forward(Variable x) {
        return switch (kind) {
            case RELU -> Ops.relu(x);
            case RELU6 -> Ops.relu6(x);
            case LEAKY_RELU -> Ops.leakyRelu(x, slope);
            case SIGMOID -> Ops.sigmoid(x);
            case TANH -> Ops.tanh(x);
            case IDENTITY -> x;
        };
    }
}
