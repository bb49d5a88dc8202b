package org.advmia.defense.preprocess;

import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Generator;
import org.advmia.nn.Model;

/**
 * A classifier behind an input-purification transform, as deployed. Its gradients are what an
 * adaptive attacker uses: exact for differentiable transforms, BPDA (straight-through) for the
 * others; random transforms draw fresh randomness on every forward, so attacks must use EOT
 * ({@link #recommendedEotSamples}). Its state dict is the inner model's, unprefixed.
 */
public final class PreprocessedModel extends Model {
    private final Model inner;
    private final InputTransform transform;
    private final Generator gen;
    private final boolean bpda;

    public PreprocessedModel(Model inner, InputTransform transform, long seed) {
        this(inner, transform, seed, true);
    }

    /**
     * With bpda = false a non-differentiable transform cuts the gradient (the naive evaluation
     * that gradient masking fools); only useful to demonstrate why BPDA is needed.
     */
    public PreprocessedModel(Model inner, InputTransform transform, long seed, boolean bpda) {
        super(inner.name() + "+" + transform.name(), inner.inChannels(), inner.numClasses(), inner.task());
        this.inner = register("", inner);
        this.transform = transform;
        this.gen = new Generator(seed);
        this.bpda = bpda;
    }

    /** The wrapped model. */
    public Model inner() {
        return inner;
    }

    public InputTransform transform() {
        return transform;
    }

    /** EOT samples an adaptive evaluation should average over (1 for deterministic transforms). */
    public int recommendedEotSamples() {
        return transform.random() ? 10 : 1;
    }

    /** The adaptive evaluation this defense needs, for reports. */
    public String adaptiveEvaluation() {
        String grad = transform.differentiable() ? "exact gradients through " + transform.name()
                : bpda ? "BPDA (straight-through gradient) through " + transform.name()
                : "NAIVE: no gradient through " + transform.name() + " (gradient masking; not a valid evaluation)";
        return transform.random() ? grad + ", EOT over " + recommendedEotSamples() + " samples" : grad;
    }

    @Override
    public Variable forward(Variable x) {
        Variable t = transform.apply(x, gen);
        if (!transform.differentiable() && bpda) t = Ops.straightThrough(x, t.value());
        return inner.forward(t);
    }
}
