package org.advmia.attack;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * SegPGD: Gu et al., "SegPGD: An Effective and Efficient Adversarial Attack for Evaluating and
 * Boosting Segmentation Robustness", ECCV 2022 (arXiv:2207.12391). PGD on a pixel-wise CE that
 * weighs correctly and wrongly classified pixels differently, shifting weight towards the wrong
 * ones as the attack proceeds: L = ((1 - lambda) sum_correct CE + lambda sum_wrong CE) / (H W),
 * lambda_t = (t - 1) / (2 T). Defaults: 20 steps, the survey's step size, random start.
 */
public final class SegPgd extends Attack {
    public SegPgd(Model model, ThreatModel threat, AttackOptions options) {
        super(model, threat, options);
        if (model.task() != Model.Task.SEGMENTATION) {
            throw new IllegalArgumentException("segpgd attacks segmentation models; " + model.name() + " is not one");
        }
    }

    @Override
    public String name() {
        return "segpgd";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (options.randomStart()) randomStart(x0, xAdv, gen);
        Tensor grad = newLike(x0);
        Tensor flatLabels = labels.reshape(-1);
        int steps = options.steps();
        for (int t = 1; t <= steps; t++) {
            double lambda = (t - 1) / (2.0 * steps);
            try (MemoryScope s = MemoryScope.open()) {
                objectiveAndGradient(xAdv, grad, logits -> {
                    long n = logits.shape().dim(0);
                    Variable rows = Losses.pixelsAsRows(logits);                         // [N*HW, C]
                    Variable ce = Losses.crossEntropyPerSample(rows, flatLabels, null, 0);  // [N*HW]
                    Tensor pred = backend.empty(rows.dtype(), Shape.of(rows.shape().dim(0)));
                    backend.argmax(rows.value(), pred);
                    Tensor weight = backend.empty(rows.dtype(), pred.shape());
                    backend.binary(BinaryOp.EQ, pred, flatLabels, weight);                // 1 = correct
                    // correct pixels get 1 - lambda, wrong ones lambda: w = (1 - 2 lambda) c + lambda
                    backend.unary(org.advmia.backend.UnaryOp.AFFINE, weight, weight, 1 - 2 * lambda, lambda);
                    Variable weighted = Ops.mul(ce, Variable.constant(weight));
                    return Ops.mean(Ops.reshape(weighted, n, -1), 1, false);
                });
                backend.attackStep(threat.norm(), x0, xAdv, grad, options.stepSize(), null, threat.eps(), null, null,
                        threat.lo(), threat.hi());
            }
        }
    }
}
