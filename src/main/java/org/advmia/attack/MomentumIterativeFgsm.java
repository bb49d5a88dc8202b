package org.advmia.attack;

import org.advmia.backend.Generator;
import org.advmia.backend.ReduceOp;
import org.advmia.backend.BinaryOp;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * MI-FGSM: Dong et al., "Boosting Adversarial Attacks with Momentum", CVPR 2018
 * (arXiv:1710.06081). Accumulates g = mu g + grad / ||grad||_1 (per sample) and steps along
 * sign(g); the momentum makes the perturbation transfer better. Defaults (torchattacks):
 * eps 8/255, alpha 2/255, 10 steps, decay mu = 1, no random start.
 */
public final class MomentumIterativeFgsm extends Attack {
    private final double decay;

    public MomentumIterativeFgsm(Model model, ThreatModel threat, AttackOptions options, double decay) {
        super(model, threat, options);
        if (!(decay >= 0)) throw new IllegalArgumentException("mifgsm: decay must be >= 0, got " + decay);
        this.decay = decay;
    }

    @Override
    public String name() {
        return "mifgsm";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (options.randomStart()) randomStart(x0, xAdv, gen);
        long n = x0.dim(0), d = x0.numel() / Math.max(1, n);
        Tensor grad = newLike(x0), momentum = newLike(x0);
        backend.fill(momentum, 0);
        Tensor l1 = backend.empty(x0.dtype(), Shape.of(n, 1));
        for (int step = 0; step < options.steps(); step++) {
            try (MemoryScope s = MemoryScope.open()) {
                lossAndGradient(xAdv, labels, targets, grad);
                Tensor rows = grad.reshape(n, d);
                backend.reduce(ReduceOp.ABS_SUM, rows, n, d, 1, l1);
                backend.unary(org.advmia.backend.UnaryOp.AFFINE, l1, l1, 1, 1e-12);
                backend.binary(BinaryOp.DIV, rows, l1, rows);
                backend.axpby(decay, momentum, 1, grad, momentum);
                backend.attackStep(threat.norm(), x0, xAdv, momentum, options.stepSize(), null, threat.eps(), null, null,
                        threat.lo(), threat.hi());
            }
        }
    }
}
