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
 * An ASMA-like targeted mask attack, after Ozbulak et al., "Impact of Adversarial Examples on
 * Deep Learning Models for Biomedical Image Segmentation", MICCAI 2019 (arXiv:1907.13124): drive
 * the predicted mask towards a target mask by ascending the target-class logits, with adaptive
 * masks that keep only pixels not yet predicting their target (so finished pixels stop pulling).
 * Unlike the original's unbounded multiplier schedule, steps are sign steps projected onto the
 * threat ball. Default target: all background (class 0), i.e. make the lesion disappear.
 * Success: at least half of the pixels whose target differs from their label predict the target.
 * Defaults: 50 steps, the survey's step size, no random start.
 */
public final class AdaptiveMaskAttack extends Attack {
    public AdaptiveMaskAttack(Model model, ThreatModel threat, AttackOptions options) {
        super(model, threat, options);
        if (model.task() != Model.Task.SEGMENTATION) {
            throw new IllegalArgumentException("asma attacks segmentation models; " + model.name() + " is not one");
        }
    }

    @Override
    public String name() {
        return "asma";
    }

    @Override
    protected boolean usesTargetMask() {
        return true;
    }

    /** The target mask used when none is given: background everywhere. */
    Tensor defaultTargets(Tensor labels) {
        Tensor t = backend.empty(labels.dtype(), labels.shape());
        backend.fill(t, 0);
        return t;
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        int classes = model.numClasses();
        Tensor flatTarget = (targets != null ? targets : defaultTargets(labels)).reshape(-1);
        Tensor grad = newLike(x0);
        if (options.randomStart()) randomStart(x0, xAdv, gen);
        for (int step = 0; step < options.steps(); step++) {
            try (MemoryScope s = MemoryScope.open()) {
                objectiveAndGradient(xAdv, grad, logits -> {
                    long n = logits.shape().dim(0);
                    Variable rows = Losses.pixelsAsRows(logits);
                    Tensor pred = backend.empty(rows.dtype(), Shape.of(rows.shape().dim(0)));
                    backend.argmax(rows.value(), pred);
                    Tensor pending = backend.empty(rows.dtype(), pred.shape());
                    backend.binary(BinaryOp.EQ, pred, flatTarget, pending);
                    backend.unary(org.advmia.backend.UnaryOp.AFFINE, pending, pending, -1, 1);  // not yet on target
                    Variable logp = Losses.logSoftmax(rows);
                    Variable onTarget = Ops.sum(Ops.mul(logp, Variable.constant(Losses.oneHot(flatTarget, classes))), 1,
                            false);
                    Variable masked = Ops.mul(onTarget, Variable.constant(pending));
                    return Ops.sum(Ops.reshape(masked, n, -1), 1, false);
                });
                backend.attackStep(threat.norm(), x0, xAdv, grad, options.stepSize(), null, threat.eps(), null, null,
                        threat.lo(), threat.hi());
            }
        }
    }

    /** Runs with the default all-background target when the caller gives none. */
    public AttackResult runTowards(Tensor x0, Tensor labels, Tensor targetMask) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor t = targetMask != null ? targetMask : defaultTargets(labels).keep();
            try {
                return run(x0, labels, t);
            } finally {
                if (targetMask == null) t.close();
            }
        }
    }
}
