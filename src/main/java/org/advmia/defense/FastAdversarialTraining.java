package org.advmia.defense;

import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * Fast-AT: Wong, Rice and Kolter, "Fast is better than free: Revisiting adversarial training",
 * ICLR 2020 (arXiv:2001.03994). One FGSM step of size 1.25 eps from a uniform random start in the
 * eps-ball, projected; then CE on that example. About 2x the cost of natural training.
 */
public final class FastAdversarialTraining extends Defense {
    public FastAdversarialTraining(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "fast-at";
    }

    @Override
    public double relativeCost() {
        return 2;
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        return pgd(model, x, y, 1, 1.25 * config.eps(), true);
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        return taskLoss(model, model.logits(Variable.constant(adv)), y);
    }
}
