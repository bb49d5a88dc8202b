package org.advmia.defense;

import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.tensor.Tensor;

/** NAT: plain cross-entropy on clean inputs (no defense), the survey's baseline. */
public final class NaturalTraining extends Defense {
    public NaturalTraining(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "nat";
    }

    @Override
    public double relativeCost() {
        return 1;
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        return null;
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adversarial, Tensor y) {
        return taskLoss(model, model.logits(Variable.constant(x)), y);
    }
}
