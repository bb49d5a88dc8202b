package org.advmia.attack;

import org.advmia.backend.Generator;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * PGD: Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018
 * (arXiv:1706.06083). Iterated gradient ascent on the loss, each step followed by projection
 * onto the eps-ball and the box; L-inf steps along the gradient's sign, L2 along the normalised
 * gradient. Defaults (torchattacks): L-inf eps 8/255, alpha 2/255, 10 steps, random start.
 *
 * <p>Each step is one forward and one input-gradient backward pass, then the fused
 * sign-step-project kernel; with early stopping, samples that are already adversarial are frozen
 * by a device-side mask.
 */
public class ProjectedGradientDescent extends Attack {
    public ProjectedGradientDescent(Model model, ThreatModel threat, AttackOptions options) {
        super(model, threat, options);
    }

    @Override
    public String name() {
        return threat.norm() == org.advmia.backend.Norm.L2 ? "pgd-l2" : "pgd";
    }

    @Override
    protected void perturb(Tensor x0, Tensor labels, Tensor targets, Tensor xAdv, Generator gen) {
        if (options.randomStart()) randomStart(x0, xAdv, gen);
        Tensor grad = newLike(x0);
        Tensor active = null;
        if (options.earlyStop()) {
            active = backend.empty(x0.dtype(), org.advmia.tensor.Shape.of(x0.dim(0)));
            backend.fill(active, 1);
        }
        for (int step = 0; step < options.steps(); step++) {
            try (MemoryScope s = MemoryScope.open()) {
                Evaluation e = lossAndGradient(xAdv, labels, targets, grad);
                if (active != null) updateActive(e.logits(), labels, targets, active);
                backend.attackStep(threat.norm(), x0, xAdv, grad, options.stepSize(), null, threat.eps(), null, active,
                        threat.lo(), threat.hi());
            }
        }
    }
}
