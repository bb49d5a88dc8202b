package org.advmia.optim;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.advmia.autograd.Variable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad optimizer and schedule arguments fail at construction with a message naming the argument. */
class ArgumentCheckTest {
    static final Map<String, Variable> NONE = Map.of();

    static void rejects(String mentions, Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(mentions), "message '" + ex.getMessage() + "' should mention " + mentions);
    }

    @Test
    void optimizers() {
        rejects("lr", () -> new Sgd(NONE, -0.1, 0, 0));
        rejects("lr", () -> new Sgd(NONE, Double.NaN, 0, 0));
        rejects("lr", () -> Adam.adam(NONE, Double.POSITIVE_INFINITY));
        rejects("lr", () -> new Sgd(NONE, 0.1, 0, 0).setLr(-1));
        rejects("momentum", () -> new Sgd(NONE, 0.1, -0.9, 0));
        rejects("weight_decay", () -> new Sgd(NONE, 0.1, 0.9, -5e-4));
        rejects("nesterov", () -> new Sgd(NONE, 0.1, 0, 0, 0, true));
        rejects("dampening", () -> new Sgd(NONE, 0.1, 0.9, 0.1, 0, true));
        rejects("beta1", () -> new Adam(NONE, 1e-3, 1.0, 0.999, 1e-8, 0, false));
        rejects("beta1", () -> new Adam(NONE, 1e-3, -0.1, 0.999, 1e-8, 0, false));
        rejects("beta2", () -> new Adam(NONE, 1e-3, 0.9, 1.5, 1e-8, 0, false));
        rejects("beta2", () -> new Adam(NONE, 1e-3, 0.9, Double.NaN, 1e-8, 0, false));
        rejects("eps", () -> new Adam(NONE, 1e-3, 0.9, 0.999, 0, 0, false));
        rejects("weight_decay", () -> Adam.adamW(NONE, 1e-3, -1e-2));
        rejects("stepCount", () -> new Sgd(NONE, 0.1, 0.9, 0).loadState(Map.of(), -1));
        rejects("unknown optimizer state", () -> new Sgd(NONE, 0.1, 0.9, 0).loadState(
                Map.of("momentum_buffer.nope", org.advmia.backend.Backends.tensor(new float[1], 1)), 0));
    }

    @Test
    void oneCycle() {
        rejects("total_steps", () -> new OneCycle(0.1, 0));
        rejects("total_steps", () -> new OneCycle(0.1, -5));
        rejects("max_lr", () -> new OneCycle(-0.1, 10));
        rejects("pct_start", () -> new OneCycle(0.1, 10, 1.5, OneCycle.Anneal.COS, 25, 1e4, false));
        rejects("pct_start", () -> new OneCycle(0.1, 10, -0.1, OneCycle.Anneal.COS, 25, 1e4, false));
        rejects("anneal", () -> new OneCycle(0.1, 10, 0.3, null, 25, 1e4, false));
        rejects("div_factor", () -> new OneCycle(0.1, 10, 0.3, OneCycle.Anneal.COS, 0, 1e4, false));
        rejects("final_div_factor", () -> new OneCycle(0.1, 10, 0.3, OneCycle.Anneal.COS, 25, -1, false));
        // pct_start * total_steps = 1: PyTorch divides 0 by 0 on the first step.
        rejects("phase 1", () -> new OneCycle(0.1, 10, 0.1, OneCycle.Anneal.COS, 25, 1e4, false));
        // pct_start = 1 leaves no annealing phase.
        rejects("phase 2", () -> new OneCycle(0.1, 10, 1.0, OneCycle.Anneal.COS, 25, 1e4, false));
        rejects("step", () -> new OneCycle(0.1, 10).lr(-1));
        rejects("total_steps", () -> new OneCycle(0.1, 10).lr(11));
    }

    @Test
    void otherSchedules() {
        rejects("T_max", () -> new Cosine(0.1, 0));
        rejects("base_lr", () -> new Cosine(-0.1, 10));
        rejects("eta_min", () -> new Cosine(0.1, 10, Double.NaN));
        rejects("step", () -> new Cosine(0.1, 10).lr(-3));
        rejects("step_size", () -> new Step(0.1, 0, 0.1));
        rejects("gamma", () -> new Step(0.1, 10, -0.5));
        rejects("strictly increasing", () -> new PiecewiseLinear(new double[] {0, 5, 5}, new double[] {0, 1, 0}));
        rejects("strictly increasing", () -> new PiecewiseLinear(new double[] {0, 5, 2}, new double[] {0, 1, 0}));
        rejects("knot rate 1", () -> new PiecewiseLinear(new double[] {0, 5}, new double[] {0, -1}));
        rejects("knot step 1", () -> new PiecewiseLinear(new double[] {0, Double.NaN}, new double[] {0, 1}));
        rejects("knot rates", () -> new PiecewiseLinear(new double[] {0, 5}, new double[] {0}));
        rejects("at least one knot", () -> new PiecewiseLinear(new double[0], new double[0]));
    }
}
