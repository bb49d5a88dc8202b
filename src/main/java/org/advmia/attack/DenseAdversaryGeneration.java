package org.advmia.attack;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.backend.ReduceOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * DAG: Xie et al., "Adversarial Examples for Semantic Segmentation and Object Detection", ICCV
 * 2017 (arXiv:1703.08603). Each pixel gets an adversarial label; while some pixels still predict
 * their true class, step along r = sum over those pixels of grad(z_adv - z_true), normalised by
 * its L-inf norm: x += gamma r / ||r||_inf. Default adversarial labels: (label + 1) mod C per
 * pixel, or the given targets. The original is unbounded; here every step is projected onto the
 * threat ball and the box. Defaults: gamma = 0.5/255 (the paper's 0.5 on a 0-255 scale), 200 steps.
 */
public final class DenseAdversaryGeneration extends Attack {
    public DenseAdversaryGeneration(Model model, ThreatModel threat, AttackOptions options) {
        super(model, threat, options);
        if (model.task() != Model.Task.SEGMENTATION) {
            throw new IllegalArgumentException("dag attacks segmentation models; " + model.name() + " is not one");
        }
    }

    @Override
    public String name() {
        return "dag";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int classes = model.numClasses();
        Tensor adversarialLabels = targets != null ? targets : shiftedLabels(labels, classes);
        Tensor flatTrue = labels.reshape(-1), flatAdv = adversarialLabels.reshape(-1);
        Tensor grad = newLike(x0);
        long n = x0.dim(0), d = x0.numel() / Math.max(1, n);
        Tensor scale = backend.empty(x0.dtype(), Shape.of(n, 1));
        for (int step = 0; step < options.steps(); step++) {
            try (MemoryScope s = MemoryScope.open()) {
                Evaluation e = objectiveAndGradient(xAdv, grad, logits -> {
                    long batch = logits.shape().dim(0);
                    Variable rows = Losses.pixelsAsRows(logits);
                    Tensor pred = backend.empty(rows.dtype(), Shape.of(rows.shape().dim(0)));
                    backend.argmax(rows.value(), pred);
                    Tensor active = backend.empty(rows.dtype(), pred.shape());
                    backend.binary(BinaryOp.EQ, pred, flatTrue, active);   // still-correct pixels
                    // z_adv - z_true = margin(adv) - margin(true) when both are taken against the same max,
                    // so write it as a difference of two one-hot gathers.
                    Variable zAdv = Ops.sum(Ops.mul(rows, Variable.constant(Losses.oneHot(flatAdv, classes))), 1, false);
                    Variable zTrue = Ops.sum(Ops.mul(rows, Variable.constant(Losses.oneHot(flatTrue, classes))), 1, false);
                    Variable perPixel = Ops.mul(Ops.sub(zAdv, zTrue), Variable.constant(active));
                    return Ops.sum(Ops.reshape(perPixel, batch, -1), 1, false);
                });
                if (allZero(e.objective()) && step > 0) break;
                Tensor rows = grad.reshape(n, d);
                backend.reduce(ReduceOp.ABS_MAX, rows, n, d, 1, scale);
                backend.unary(org.advmia.backend.UnaryOp.AFFINE, scale, scale, 1, 1e-12);
                backend.binary(BinaryOp.DIV, rows, scale, rows);
                backend.axpby(options.stepSize(), grad, 1, xAdv, xAdv);
                project(x0, xAdv);
            }
        }
    }

    private static boolean allZero(Tensor t) {
        for (float v : Backends.toFloatArray(t)) if (v != 0) return false;
        return true;
    }

    private Tensor shiftedLabels(Tensor labels, int classes) {
        float[] y = Backends.toFloatArray(labels);
        for (int i = 0; i < y.length; i++) y[i] = (y[i] + 1) % classes;
        Tensor t = backend.empty(labels.dtype(), labels.shape());
        backend.copyFromHost(y, t);
        return t;
    }
}
