package org.advmia.defense;

import org.advmia.attack.Attack;
import org.advmia.attack.AttackResult;
import org.advmia.attack.Attacks;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.optim.Optimizer;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * A training objective: how one minibatch updates the model. Most defenses are a loss on clean
 * and/or adversarial inputs ({@link #loss}); the base runs forward, backward and the optimizer
 * step. Defenses with their own step structure (Free-AT's replays, AWP's weight perturbation)
 * override {@link #step}. Adversarial examples are crafted with the model in eval mode (BatchNorm
 * statistics untouched) and the loss is computed in train mode, as the TRADES/MART reference code
 * does.
 */
public abstract class Defense {
    protected final DefenseConfig config;

    protected Defense(DefenseConfig config) {
        this.config = config;
    }

    /** The global step being trained; defenses derive all their randomness from it (exact resume). */
    protected long globalStep;
    private long seedCounter;

    /** Called before each minibatch with its global index. */
    public void beginStep(long step) {
        globalStep = step;
        seedCounter = 0;
    }

    /** Called at the start of each epoch. */
    public void beginEpoch(int epoch) {
    }

    /** A seed unique to (config seed, global step, draw within the step). */
    protected long stepSeed() {
        long z = config.seed() * 0x9E3779B97F4A7C15L + globalStep * 0xBF58476D1CE4E5B9L + (seedCounter++) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The command-line name. */
    public abstract String name();

    /** Adversarial examples for this minibatch (null if the defense uses none); in the caller's scope. */
    protected abstract Tensor craft(Model model, Tensor x, Tensor y);

    /** The loss to minimise given the clean batch and its adversarial examples (model in train mode). */
    protected abstract Variable lossOn(Model model, Tensor x, Tensor adversarial, Tensor y);

    /** The loss to minimise on one minibatch (model in train mode). */
    protected Variable loss(Model model, Tensor x, Tensor y, int epoch) {
        Tensor adv = craft(model, x, y);
        model.train();
        return lossOn(model, x, adv, y);
    }

    /** One minibatch: returns the loss value. The caller has opened a MemoryScope. */
    public double step(Model model, Optimizer optimizer, Tensor x, Tensor y, int epoch) {
        model.train();
        Variable l = loss(model, x, y, epoch);
        optimizer.zeroGrad();
        l.backward();
        optimizer.step();
        return Backends.toDoubleArray(l.value())[0];
    }

    /** Forward passes per minibatch relative to natural training (for throughput expectations). */
    public double relativeCost() {
        return 1 + config.steps();
    }

    /** True for multi-label targets ([N, L] of 0/1 on a classifier). */
    protected static boolean multiLabel(Model model, Tensor y) {
        return model.task() == Model.Task.CLASSIFICATION && y.rank() == 2;
    }

    /**
     * The task's training loss: cross-entropy for single-label classification, pixel-wise
     * cross-entropy for segmentation (masks [N, H, W]), BCE-with-logits for multi-label.
     */
    protected static Variable taskLoss(Model model, Variable logits, Tensor y) {
        return multiLabel(model, y) ? org.advmia.autograd.Losses.bceWithLogits(logits, y, null)
                : org.advmia.autograd.Losses.crossEntropy(logits, y);
    }

    /** Refuses tasks a classification-only objective (TRADES, MART, HAT) cannot train. */
    protected void requireSingleLabelClassification(Model model, Tensor y) {
        if (model.task() != Model.Task.CLASSIFICATION || y.rank() != 1) {
            throw new IllegalArgumentException(name() + " trains single-label classifiers only; for segmentation or"
                    + " multi-label data use nat, pgd-at, fast-at or free-at");
        }
    }

    /** Crafts L-inf PGD examples for x with the model in eval mode; the result belongs to the caller's scope. */
    protected Tensor pgd(Model model, Tensor x, Tensor y, int steps, double stepSize, boolean randomStart) {
        boolean training = model.isTraining();
        org.advmia.attack.AttackLoss loss = multiLabel(model, y) ? org.advmia.attack.AttackLoss.BCE
                : org.advmia.attack.AttackLoss.CE;
        Attack a = Attacks.create("pgd", model, config.eps(),
                new Attacks.Overrides(steps, stepSize, randomStart, 1, stepSeed(), null, null, loss));
        try (AttackResult r = a.craft(x, y, null)) {
            return Backends.of(x).duplicate(r.adversarial());
        } finally {
            if (training) model.train();
        }
    }

    /** Opens a scope for code that wants one (convenience for subclasses). */
    protected static MemoryScope scope() {
        return MemoryScope.open();
    }
}
