package org.advmia.autograd;

import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.ReduceOp;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

import static org.advmia.autograd.Ops.backendOf;
import static org.advmia.autograd.Ops.like;

/**
 * Differentiable losses. Per-sample variants return [N] so attacks can weigh and mask samples;
 * the reduced variants follow PyTorch's definitions. Labels and targets are constant tensors of
 * class indices stored as floats.
 */
public final class Losses {
    private Losses() {}

    public static Variable logSoftmax(Variable x) {
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor y = like(xv);
        be.logSoftmax(xv, y);
        return Autograd.record("log_softmax", y, (g, needs) -> {
            Tensor gx = like(xv);
            be.logSoftmaxBackward(y, g, gx);
            return new Tensor[] {gx};
        }, x);
    }

    public static Variable softmax(Variable x) {
        return Ops.exp(logSoftmax(x));
    }

    /** [N, C, H, W] to [N*H*W, C], so per-pixel losses reuse the row-wise kernels. */
    public static Variable pixelsAsRows(Variable x) {
        Shape s = x.shape();
        if (s.rank() != 4) throw new IllegalArgumentException("pixelsAsRows: expected [N, C, H, W], got " + s);
        long n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        Tensor xv = x.value();
        Backend be = backendOf(xv);
        Tensor y = be.empty(xv.dtype(), Shape.of(n * hw, c));
        be.transpose(xv, n, c, hw, y);
        return Autograd.record("pixels_as_rows", y, (g, needs) -> {
            Tensor gx = like(xv);
            be.transpose(g, n, hw, c, gx);
            return new Tensor[] {gx};
        }, x);
    }

    /** Per-sample cross-entropy [N] (PyTorch semantics for class weights and label smoothing). */
    public static Variable crossEntropyPerSample(Variable logits, Tensor labels, Tensor weights, double smoothing) {
        Tensor z = logits.value();
        Backend be = backendOf(z);
        Tensor loss = be.empty(z.dtype(), Shape.of(z.dim(0)));
        be.softmaxCrossEntropy(z, labels, weights, smoothing, loss, null, null);
        return Autograd.record("cross_entropy", loss, (g, needs) -> {
            Tensor gz = like(z);
            be.softmaxCrossEntropy(z, labels, weights, smoothing, null, g, gz);
            return new Tensor[] {gz};
        }, logits);
    }

    /**
     * Mean cross-entropy as torch.nn.functional.cross_entropy: logits [N, C] with labels [N], or
     * [N, C, H, W] with labels [N, H, W]; with class weights the mean divides by sum of w[label].
     */
    public static Variable crossEntropy(Variable logits, Tensor labels, Tensor weights, double smoothing) {
        Variable rows = logits.shape().rank() == 4 ? pixelsAsRows(logits) : logits;
        Tensor flat = labels.reshape(-1);
        Variable perSample = crossEntropyPerSample(rows, flat, weights, smoothing);
        double denom = flat.numel();
        if (weights != null) {
            float[] w = org.advmia.backend.Backends.toFloatArray(weights);
            float[] y = org.advmia.backend.Backends.toFloatArray(flat);
            denom = 0;
            for (float label : y) denom += w[(int) label];
        }
        return Ops.scale(Ops.sum(perSample), 1.0 / denom);
    }

    public static Variable crossEntropy(Variable logits, Tensor labels) {
        return crossEntropy(logits, labels, null, 0);
    }

    /** Elementwise BCE with logits, mean over all elements (multi-label); posWeight [C] may be null. */
    public static Variable bceWithLogits(Variable logits, Tensor targets, Tensor posWeight) {
        return Ops.mean(bceWithLogitsElementwise(logits, targets, posWeight));
    }

    /** Elementwise BCE with logits (same shape as the logits); posWeight [C] may be null. */
    public static Variable bceWithLogitsElementwise(Variable logits, Tensor targets, Tensor posWeight) {
        Tensor z = logits.value();
        Backend be = backendOf(z);
        Tensor loss = like(z);
        be.bceWithLogits(z, targets, posWeight, loss, null, null);
        return Autograd.record("bce_with_logits", loss, (g, needs) -> {
            Tensor gz = like(z);
            be.bceWithLogits(z, targets, posWeight, null, g, gz);
            return new Tensor[] {gz};
        }, logits);
    }

    /**
     * KL(P || Q) from log-probabilities, summed over classes and averaged over the batch
     * (PyTorch's KLDivLoss(reduction='batchmean', log_target=True)(logQ, logP)), as in TRADES.
     */
    public static Variable klDivergence(Variable logP, Variable logQ) {
        Variable p = Ops.exp(logP);
        Variable terms = Ops.mul(p, Ops.sub(logP, logQ));
        return Ops.scale(Ops.sum(terms), 1.0 / logP.shape().dim(0));
    }

    /** Per-sample KL(P || Q) [N] from log-probabilities. */
    public static Variable klDivergencePerSample(Variable logP, Variable logQ) {
        Variable terms = Ops.mul(Ops.exp(logP), Ops.sub(logP, logQ));
        return Ops.sum(terms, 1, false);
    }

    /** margin = z[label] - max over the other classes, per sample [N]. */
    public static Variable margin(Variable logits, Tensor labels) {
        Tensor z = logits.value();
        Backend be = backendOf(z);
        Tensor m = be.empty(z.dtype(), Shape.of(z.dim(0)));
        be.margin(z, labels, m, null, null);
        return Autograd.record("margin", m, (g, needs) -> {
            Tensor gz = like(z);
            be.margin(z, labels, null, g, gz);
            return new Tensor[] {gz};
        }, logits);
    }

    /**
     * The Carlini-Wagner margin loss that attacks maximise, per sample [N]:
     * untargeted -max(z_y - max_{j != y} z_j + kappa, 0); targeted (labels = targets)
     * -max(max_{j != t} z_j - z_t + kappa, 0).
     */
    public static Variable cwLossPerSample(Variable logits, Tensor labels, double kappa, boolean targeted) {
        Variable m = margin(logits, labels);
        Variable shifted = targeted ? Ops.affine(m, -1, kappa) : Ops.addScalar(m, kappa);
        return Ops.neg(Ops.relu(shifted));
    }

    /** Croce and Hein's DLR loss per sample [N]; targets null for the untargeted version. */
    public static Variable dlrPerSample(Variable logits, Tensor labels, Tensor targets) {
        Tensor z = logits.value();
        Backend be = backendOf(z);
        Tensor out = be.empty(z.dtype(), Shape.of(z.dim(0)));
        be.dlr(z, labels, targets, out, null, null);
        return Autograd.record("dlr", out, (g, needs) -> {
            Tensor gz = like(z);
            be.dlr(z, labels, targets, null, g, gz);
            return new Tensor[] {gz};
        }, logits);
    }

    /** One-hot encoding: labels [N] to [N, C], or [N, H, W] to [N, C, H, W]. */
    public static Tensor oneHot(Tensor labels, int classes) {
        Backend be = backendOf(labels);
        float[] iota = new float[classes];
        for (int i = 0; i < classes; i++) iota[i] = i;
        Tensor classIds = be.empty(labels.dtype(), labels.rank() == 3 ? Shape.of(1, classes, 1, 1) : Shape.of(1, classes));
        be.copyFromHost(iota, classIds);
        Tensor lab = labels.rank() == 3 ? labels.reshape(labels.dim(0), 1, labels.dim(1), labels.dim(2))
                : labels.reshape(labels.dim(0), 1);
        Shape out = labels.rank() == 3 ? Shape.of(labels.dim(0), classes, labels.dim(1), labels.dim(2))
                : Shape.of(labels.dim(0), classes);
        Tensor y = be.empty(labels.dtype(), out);
        be.binary(BinaryOp.EQ, lab, classIds, y);
        lab.close();
        classIds.close();
        return y;
    }

    /**
     * Soft Dice loss for segmentation: logits [N, C, H, W], labels [N, H, W]. With p = softmax
     * over classes and t the one-hot labels, per class dice = (2 sum p t + eps) / (sum p + sum t +
     * eps) over the batch and pixels; the loss is 1 - mean over classes.
     */
    public static Variable softDice(Variable logits, Tensor labels, double eps) {
        Shape s = logits.shape();
        if (s.rank() != 4) throw new IllegalArgumentException("soft_dice: logits must be [N, C, H, W], got " + s);
        int classes = (int) s.dim(1);
        Variable rows = pixelsAsRows(logits);                      // [P, C]
        Variable p = softmax(rows);
        Tensor onehot = oneHot(labels.reshape(-1), classes);       // [P, C]
        Variable t = Variable.constant(onehot);
        Variable inter = Ops.sum(Ops.mul(p, t), 0, false);         // [C]
        Variable psum = Ops.sum(p, 0, false);
        Tensor tsum = backendOf(onehot).empty(onehot.dtype(), Shape.of(classes));
        backendOf(onehot).reduce(ReduceOp.SUM, onehot, 1, onehot.dim(0), classes, tsum);
        Variable num = Ops.addScalar(Ops.scale(inter, 2), eps);
        Variable den = Ops.addScalar(Ops.add(psum, Variable.constant(tsum)), eps);
        Variable dice = Ops.div(num, den);
        return Ops.affine(Ops.mean(dice), -1, 1);
    }
}
