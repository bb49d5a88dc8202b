package org.advmia.attack;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.tensor.Tensor;

/**
 * The objectives an attack ascends, each per sample ([N]) so that samples can be stepped,
 * masked and early-stopped individually. Targeted attacks pass the target classes as labels
 * and the attack descends instead (see {@link Attack}).
 */
public enum AttackLoss {
    /** Cross-entropy on class logits [N, C]; on [N, C, H, W] the per-sample mean over pixels. */
    CE,
    /** Carlini-Wagner margin, -max(z_y - max_{j != y} z_j + kappa, 0), with confidence kappa. */
    CW,
    /** Croce and Hein's difference-of-logits ratio (targets: the targeted variant). */
    DLR,
    /** Binary cross-entropy with logits over multi-hot labels [N, L], mean per sample. */
    BCE,
    /** One minus the soft Dice score per sample, for segmentation. */
    DICE;

    public static AttackLoss parse(String s) {
        for (AttackLoss l : values()) if (l.name().equalsIgnoreCase(s)) return l;
        throw new IllegalArgumentException("unknown loss '" + s + "'. Valid losses: ce, cw, dlr, bce, dice");
    }

    /**
     * Per-sample objective [N]. For CE/CW/DLR labels are class indices; targets (may be null)
     * are the target classes of a targeted DLR (for CE and CW the caller passes targets as
     * labels and descends).
     */
    Variable perSample(Variable logits, Tensor labels, Tensor targets, double kappa, boolean targeted) {
        return switch (this) {
            case CE -> logits.shape().rank() == 4 ? pixelMean(perPixelCe(logits, labels), logits)
                    : Losses.crossEntropyPerSample(logits, labels, null, 0);
            case CW -> Losses.cwLossPerSample(logits, labels, kappa, targeted);
            case DLR -> Losses.dlrPerSample(logits, labels, targets);
            case BCE -> Ops.mean(bceElements(logits, labels), 1, false);
            case DICE -> diceLossPerSample(logits, labels);
        };
    }

    private static Variable perPixelCe(Variable logits, Tensor masks) {
        return Losses.crossEntropyPerSample(Losses.pixelsAsRows(logits), masks.reshape(-1), null, 0);
    }

    private static Variable pixelMean(Variable perPixel, Variable logits) {
        long n = logits.shape().dim(0);
        return Ops.mean(Ops.reshape(perPixel, n, -1), 1, false);
    }

    private static Variable bceElements(Variable logits, Tensor targets) {
        // Elementwise BCE scaled back from the mean so each sample keeps its own loss.
        return Losses.bceWithLogitsElementwise(logits, targets, null);
    }

    /** 1 - soft Dice per sample over all classes and pixels (softmax probabilities vs one-hot masks). */
    private static Variable diceLossPerSample(Variable logits, Tensor masks) {
        long n = logits.shape().dim(0);
        int classes = (int) logits.shape().dim(1);
        Variable p = Losses.softmax(Losses.pixelsAsRows(logits));                 // [N*HW, C]
        Tensor onehot = Losses.oneHot(masks.reshape(-1), classes);                 // [N*HW, C]
        Variable t = Variable.constant(onehot);
        Variable inter = Ops.sum(Ops.reshape(Ops.mul(p, t), n, -1), 1, false);     // [N]
        Variable total = Ops.sum(Ops.reshape(Ops.add(p, t), n, -1), 1, false);
        Variable dice = Ops.div(Ops.addScalar(Ops.scale(inter, 2), 1e-6), Ops.addScalar(total, 1e-6));
        return Ops.affine(dice, -1, 1);
    }
}
