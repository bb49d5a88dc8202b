package org.advmia.defense;

import org.advmia.attack.ThreatModel;
import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * TRADES: Zhang et al., "Theoretically Principled Trade-off between Robustness and Accuracy",
 * ICML 2019 (arXiv:1901.08573). Loss CE(f(x), y) + beta KL(f(x) || f(x')), where x' starts at
 * x + 0.001 N(0, 1) and ascends KL(f(x) || f(x')) with L-inf sign steps (config.steps of
 * config.stepSize) projected onto the eps-ball and [0, 1]. Crafting runs in eval mode; both
 * passes of the loss run in train mode, in one graph.
 */
public final class Trades extends Defense {
    public Trades(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "trades";
    }

    /** x' maximising KL(f(x) || f(x')) in the eps-ball (model in eval mode); in the caller's scope. */
    static Tensor klAdversary(Model model, Tensor x, DefenseConfig config, Generator gen) {
        Backend b = Backends.of(x);
        boolean training = model.isTraining();
        java.util.Map<Variable, Boolean> req = new java.util.HashMap<>();
        for (Variable p : model.parameters()) req.put(p, p.requiresGrad());
        model.eval();
        model.setRequiresGrad(false);
        ThreatModel threat = ThreatModel.linf(config.eps());
        try {
            Tensor logPClean;
            // Its own scope: the forward's activations are garbage once the log-probabilities exist,
            // and the caller's (training step) scope would otherwise hold them through the whole step.
            try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
                logPClean = Losses.logSoftmax(model.logits(Variable.constant(x))).value().escapeFrom(s);
            } catch (Exception e) {
                throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
            Tensor adv = b.empty(x.dtype(), x.shape());
            gen.normal(adv, 0, 0.001);
            b.binary(BinaryOp.ADD, adv, x, adv);
            b.attackStep(threat.norm(), x, adv, null, 0, null, threat.eps(), null, null, threat.lo(), threat.hi());
            Tensor grad = b.empty(x.dtype(), x.shape());
            for (int k = 0; k < config.steps(); k++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Variable in = Variable.leaf(adv, true);
                    Variable kl = Losses.klDivergence(Variable.constant(logPClean), Losses.logSoftmax(model.logits(in)));
                    kl.backward();
                    b.copyBlock(in.grad(), 0, grad.numel(), grad, 0, grad.numel(), 1, grad.numel());
                    in.releaseGrad();
                    b.attackStep(threat.norm(), x, adv, grad, config.stepSize(), null, threat.eps(), null, null,
                            threat.lo(), threat.hi());
                }
            }
            return adv;
        } finally {
            for (java.util.Map.Entry<Variable, Boolean> e : req.entrySet()) e.getKey().setRequiresGrad(e.getValue());
            if (training) model.train();
        }
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        requireSingleLabelClassification(model, y);
        return klAdversary(model, x, config, new Generator(stepSeed()));
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        Variable clean = model.logits(Variable.constant(x));
        Variable robust = model.logits(Variable.constant(adv));
        Variable kl = Losses.klDivergence(Losses.logSoftmax(clean), Losses.logSoftmax(robust));
        return org.advmia.autograd.Ops.add(Losses.crossEntropy(clean, y), org.advmia.autograd.Ops.scale(kl, config.beta()));
    }
}
