package org.advmia.attack;

import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * FGSM: Goodfellow et al., "Explaining and Harnessing Adversarial Examples", ICLR 2015
 * (arXiv:1412.6572). One step of size eps along the sign of the loss gradient (L-inf), or of
 * length eps along the normalised gradient (L2, the fast gradient method), then the box.
 */
public final class FastGradientSignMethod extends Attack {
    public FastGradientSignMethod(Model model, ThreatModel threat, AttackOptions options) {
        super(model, threat, options);
    }

    @Override
    public String name() {
        return "fgsm";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor grad = newLike(x0);
            lossAndGradient(xAdv, labels, targets, grad);
            backend.attackStep(threat.norm(), x0, xAdv, grad, threat.eps(), null, threat.eps(), null, null, threat.lo(),
                    threat.hi());
        }
    }
}
