package org.advmia.defense;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.ReduceOp;
import org.advmia.nn.Model;
import org.advmia.optim.Optimizer;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * AWP: Wu, Xia and Wang, "Adversarial Weight Perturbation Helps Robust Generalization", NeurIPS
 * 2020 (arXiv:2004.05884), on top of PGD-AT or TRADES. After crafting x', each weight tensor of
 * rank > 1 is moved by v = gamma ||w|| g / ||g|| along the gradient g of the inner defense's loss
 * (the reference's one-step proxy, whose learning rate cancels in the normalisation); the loss and
 * gradients are computed at w + v, the optimizer steps, and v is removed again.
 */
public final class AdversarialWeightPerturbation extends Defense {
    private final Defense inner;

    public AdversarialWeightPerturbation(DefenseConfig config, Defense inner) {
        super(config);
        if (!(inner instanceof PgdAdversarialTraining) && !(inner instanceof Trades)) {
            throw new IllegalArgumentException("awp runs on top of pgd-at or trades, not " + inner.name());
        }
        this.inner = inner;
    }

    @Override
    public String name() {
        return "awp";
    }

    @Override
    public double relativeCost() {
        return inner.relativeCost() + 1;
    }

    @Override
    public void beginStep(long step) {
        super.beginStep(step);
        inner.beginStep(step);
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        return inner.craft(model, x, y);
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        return inner.lossOn(model, x, adv, y);
    }

    @Override
    public double step(Model model, Optimizer optimizer, Tensor x, Tensor y, int epoch) {
        Tensor adv = craft(model, x, y);
        model.train();
        List<Variable> weights = new ArrayList<>();
        for (Map.Entry<String, Variable> e : model.namedParameters().entrySet()) {
            if (e.getValue().shape().rank() > 1 && e.getKey().endsWith("weight")) weights.add(e.getValue());
        }
        List<Tensor> perturbations = new ArrayList<>();
        try (MemoryScope s = MemoryScope.open()) {
            optimizer.zeroGrad();
            lossOn(model, x, adv, y).backward();
            for (Variable w : weights) {
                Tensor g = w.grad();
                Backend b = Backends.of(w.value());
                Tensor v = b.empty(w.dtype(), w.shape()).keep();
                if (g == null) {
                    b.fill(v, 0);
                } else {
                    double wn = norm(w.value()), gn = norm(g);
                    b.axpby(config.awpGamma() * wn / (gn + 1e-20), g, 0, g, v);
                }
                perturbations.add(v);
            }
        }
        for (int i = 0; i < weights.size(); i++) {
            Tensor w = weights.get(i).value();
            Backends.of(w).axpby(1, w, 1, perturbations.get(i), w);
        }
        double value;
        try {
            optimizer.zeroGrad();
            Variable l = lossOn(model, x, adv, y);
            l.backward();
            optimizer.step();
            value = Backends.toDoubleArray(l.value())[0];
        } finally {
            for (int i = 0; i < weights.size(); i++) {
                Tensor w = weights.get(i).value();
                Backends.of(w).axpby(1, w, -1, perturbations.get(i), w);
                perturbations.get(i).close();
            }
        }
        return value;
    }

    private static double norm(Tensor t) {
        Backend b = Backends.of(t);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = b.empty(t.dtype(), Shape.of(1));
            b.reduce(ReduceOp.SUM_SQUARES, t, 1, t.numel(), 1, out);
            return Math.sqrt(Backends.toDoubleArray(out)[0]);
        }
    }
}
