package org.advmia.defense;

import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * HAT: Rade and Moosavi-Dezfooli, "Reducing Excessive Margin to Achieve a Better Accuracy vs.
 * Robustness Trade-off", ICLR 2022. TRADES plus helper examples x_h = x + h (x' - x) labelled by a
 * naturally trained helper model's prediction on x':
 * loss = CE(f(x), y) + beta KL(f(x) || f(x')) + gamma CE(f(x_h), argmax f_std(x')).
 * Defaults: h = 2, gamma from the config (the paper uses 0.25-0.5 with beta 3; we keep the
 * survey's beta 6 unless told otherwise).
 */
public final class HelperAdversarialTraining extends Defense {
    private final Model helper;

    public HelperAdversarialTraining(DefenseConfig config, Model naturallyTrainedHelper) {
        super(config);
        if (naturallyTrainedHelper == null) throw new IllegalArgumentException("hat needs a naturally trained helper model");
        this.helper = naturallyTrainedHelper;
    }

    @Override
    public String name() {
        return "hat";
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        requireSingleLabelClassification(model, y);
        return Trades.klAdversary(model, x, config, new Generator(stepSeed()));
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        Backend b = Backends.of(x);
        Tensor helperX = b.empty(x.dtype(), x.shape());
        b.axpby(config.helperScale(), adv, 1 - config.helperScale(), x, helperX);   // x + h (x' - x)
        b.unary(org.advmia.backend.UnaryOp.CLAMP, helperX, helperX, 0, 1);
        Tensor helperLabels;
        helper.eval();
        // Its own scope, so that the helper's activations do not live through the training step.
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor z = helper.logits(Variable.constant(adv)).value();
            helperLabels = b.empty(z.dtype(), Shape.of(z.dim(0))).escapeFrom(s);
            b.argmax(z, helperLabels);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
        Variable clean = model.logits(Variable.constant(x));
        Variable robust = model.logits(Variable.constant(adv));
        Variable help = model.logits(Variable.constant(helperX));
        Variable kl = Losses.klDivergence(Losses.logSoftmax(clean), Losses.logSoftmax(robust));
        Variable total = Ops.add(Losses.crossEntropy(clean, y), Ops.scale(kl, config.beta()));
        return Ops.add(total, Ops.scale(Losses.crossEntropy(help, helperLabels), config.helperWeight()));
    }
}
