package org.advmia.defense;

import org.advmia.attack.ThreatModel;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.backend.BinaryOp;
import org.advmia.nn.Model;
import org.advmia.optim.Optimizer;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * Free-AT: Shafahi et al., "Adversarial Training for Free!", NeurIPS 2019 (arXiv:1904.12843).
 * Each minibatch is replayed m times; every replay's single backward pass gives both the weight
 * gradient (one optimizer step) and the input gradient (one FGSM step of eps on a perturbation
 * that persists across replays and minibatches). Run it for about epochs / m epochs to match the
 * cost of natural training. The perturbation restarts from zero at each epoch (the paper carries it
 * through the whole run), so that a run resumed from an epoch checkpoint is exact.
 */
public final class FreeAdversarialTraining extends Defense {
    private Tensor delta;

    public FreeAdversarialTraining(DefenseConfig config) {
        super(config);
    }

    @Override
    public String name() {
        return "free-at";
    }

    @Override
    public double relativeCost() {
        return config.replays();
    }

    @Override
    public void beginEpoch(int epoch) {
        if (delta != null) {
            delta.close();
            delta = null;
        }
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        return null;
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adv, Tensor y) {
        return taskLoss(model, model.logits(Variable.constant(adv == null ? x : adv)), y);
    }

    @Override
    public double step(Model model, Optimizer optimizer, Tensor x, Tensor y, int epoch) {
        Backend b = Backends.of(x);
        ThreatModel threat = ThreatModel.linf(config.eps());
        if (delta == null || !delta.shape().equals(x.shape())) {
            if (delta != null) delta.close();
            delta = b.empty(x.dtype(), x.shape()).keep();
            b.fill(delta, 0);
        }
        model.train();
        double last = 0;
        for (int r = 0; r < config.replays(); r++) {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor adv = b.empty(x.dtype(), x.shape());
                b.binary(BinaryOp.ADD, x, delta, adv);
                b.unary(org.advmia.backend.UnaryOp.CLAMP, adv, adv, threat.lo(), threat.hi());
                Variable input = Variable.leaf(adv, true);
                Variable loss = taskLoss(model, model.logits(input), y);
                optimizer.zeroGrad();
                loss.backward();
                optimizer.step();
                // delta <- clip(delta + eps sign(g), -eps, eps): the fused step around a zero centre.
                Tensor zero = b.empty(x.dtype(), x.shape());
                b.fill(zero, 0);
                b.attackStep(threat.norm(), zero, delta, input.grad(), threat.eps(), null, threat.eps(), null, null,
                        -threat.eps(), threat.eps());
                input.releaseGrad();
                last = Backends.toDoubleArray(loss.value())[0];
            }
        }
        return last;
    }
}
