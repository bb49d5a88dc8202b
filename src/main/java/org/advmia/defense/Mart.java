package org.advmia.defense;

import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * MART: Wang et al., "Improving Adversarial Robustness Requires Revisiting Misclassified
 * Examples", ICLR 2020. With p = softmax f(x), p' = softmax f(x') (x' by PGD on CE):
 * loss = CE(f(x'), y) - log(1.0001 - max_{k != y} p'_k)  (boosted CE)
 *      + beta / N * sum_i KL(p_i || p'_i) (1.0000001 - p_i,y)  (misclassification-aware KL).
 */
public final class Mart extends Defense {
    public Mart(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "mart";
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        requireSingleLabelClassification(model, y);
        return pgd(model, x, y, config.steps(), config.stepSize(), true);
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        Variable clean = model.logits(Variable.constant(x));
        Variable robust = model.logits(Variable.constant(adv));
        int classes = (int) robust.shape().dim(1);
        long n = robust.shape().dim(0);
        Tensor onehot = Losses.oneHot(y, classes);
        Variable logPAdv = Losses.logSoftmax(robust);
        Variable pAdv = Ops.exp(logPAdv);
        // The strongest wrong class of p' (fixed index, as argsort in the reference code).
        Tensor wrong = strongestWrong(pAdv.value(), y, classes);
        Variable pWrong = Ops.sum(Ops.mul(pAdv, Variable.constant(wrong)), 1, false);
        Variable boost = Ops.neg(Ops.log(Ops.affine(pWrong, -1, 1.0001)));
        Variable lossAdv = Ops.add(Ops.mean(Losses.crossEntropyPerSample(robust, y, null, 0)), Ops.mean(boost));
        Variable logPClean = Losses.logSoftmax(clean);
        Variable pClean = Ops.exp(logPClean);
        Variable kl = Losses.klDivergencePerSample(logPClean, logPAdv);
        Variable trueProb = Ops.sum(Ops.mul(pClean, Variable.constant(onehot)), 1, false);
        Variable weighted = Ops.mul(kl, Ops.affine(trueProb, -1, 1.0000001));
        Variable lossRobust = Ops.scale(Ops.sum(weighted), 1.0 / n);
        return Ops.add(lossAdv, Ops.scale(lossRobust, config.beta()));
    }

    private static Tensor strongestWrong(Tensor p, Tensor y, int classes) {
        Backend b = Backends.of(p);
        float[] pv = Backends.toFloatArray(p), yv = Backends.toFloatArray(y);
        int n = yv.length;
        float[] mask = new float[n * classes];
        for (int i = 0; i < n; i++) {
            int best = -1;
            for (int c = 0; c < classes; c++) {
                if (c != (int) yv[i] && (best < 0 || pv[i * classes + c] > pv[i * classes + best])) best = c;
            }
            mask[i * classes + best] = 1;
        }
        Tensor t = b.empty(p.dtype(), Shape.of(n, classes));
        b.copyFromHost(mask, t);
        return t;
    }
}
