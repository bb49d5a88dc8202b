package org.advmia.defense;

import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/**
 * PGD-AT: Madry et al., ICLR 2018 (arXiv:1706.06083). Minimise the cross-entropy on L-inf PGD
 * examples (random start, config.steps steps of config.stepSize) crafted against the current model.
 */
public final class PgdAdversarialTraining extends Defense {
    public PgdAdversarialTraining(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "pgd-at";
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        return pgd(model, x, y, config.steps(), config.stepSize(), true);
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        return taskLoss(model, model.logits(Variable.constant(adv)), y);
    }
}
