package org.advmia.defense.preprocess;

import org.advmia.autograd.Variable;
import org.advmia.backend.Generator;

/**
 * An input-purification defense: a transform applied to images before the classifier.
 * {@link #differentiable()} transforms build autograd graphs; the others are evaluated with BPDA
 * (a straight-through gradient). {@link #random()} transforms need EOT in the attack.
 */
public interface InputTransform {
    String name();

    boolean differentiable();

    boolean random();

    /** The transformed batch; for non-differentiable transforms the result has no graph. */
    Variable apply(Variable x, Generator gen);
}
