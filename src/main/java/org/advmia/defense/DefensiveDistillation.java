package org.advmia.defense;

import org.advmia.autograd.Autograd;
import org.advmia.autograd.Losses;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Tensor;

/**
 * Defensive distillation: Papernot, McDaniel, Wu, Jha and Swami, "Distillation as a Defense to
 * Adversarial Perturbations against Deep Neural Networks", IEEE S&amp;P 2016 (arXiv:1511.04508).
 *
 * <p>Two phases at a temperature T (the paper's strongest setting, and this engine's default,
 * is T = 100):
 * <ol>
 *   <li>the teacher is trained on the hard labels with softmax(z / T): {@link #teacherObjective};</li>
 *   <li>the student (same architecture, fresh weights) is trained on the teacher's soft labels
 *       softmax(z_teacher / T), again through softmax(z_student / T): this class.</li>
 * </ol>
 * The student is deployed at T = 1: its saved logits are the raw z_student, never divided by T.
 * Since z_student / T was trained to be O(1), the deployed logits are about T times larger, the
 * softmax saturates and the cross-entropy input gradient underflows in float32. That is the
 * defense's whole effect: gradient masking, not robustness (Carlini and Wagner, "Defensive
 * Distillation is Not Robust to Adversarial Examples", 2016); {@code SanityFlags} reports it and a
 * scale-invariant loss (CW margin, DLR) sees through it.
 *
 * <p>The student loss is the soft-label cross-entropy, written as KL(P_teacher || P_student): the
 * two differ by the teacher's entropy, a constant, so their gradients are identical.
 *
 * <p>Both objectives are multiplied by T. Their minimisers are unchanged; what changes is the
 * gradient with respect to the logits, (softmax(z / T) - target) instead of that divided by T,
 * i.e. the size ordinary cross-entropy has. Without it the optimizer's weight decay (coupled L2,
 * 5e-4 by default) outweighs a 1/T-sized loss gradient and nothing trains: measured on
 * Fashion-MNIST at T = 100, the teacher's loss stayed at ln 10 = 2.3026 for 3 epochs. (Hinton et
 * al. rescale by T^2 to balance a soft and a hard term; there is no hard term here.)
 */
public final class DefensiveDistillation extends Defense {
    /**
     * Papernot et al. evaluate T from 1 to 100 and find the adversarial success rate falls as T
     * grows; T = 100 is also the setting Carlini and Wagner reproduce. Hence the default.
     */
    public static final double DEFAULT_TEMPERATURE = 100;

    private final Model teacher;
    private final double temperature;

    public DefensiveDistillation(DefenseConfig config, Model teacherTrainedAtT, double temperature) {
        super(config);
        if (teacherTrainedAtT == null) {
            throw new IllegalArgumentException("distillation needs a teacher trained at the same temperature"
                    + " (--teacher FILE, or let advmia train train one first)");
        }
        this.teacher = teacherTrainedAtT;
        this.temperature = checkTemperature(temperature);
    }

    static double checkTemperature(double t) {
        if (!(t >= 1) || Double.isInfinite(t)) {
            throw new IllegalArgumentException("--temperature must be a finite number >= 1, got " + t);
        }
        return t;
    }

    @Override
    public String name() {
        return "distillation";
    }

    public double temperature() {
        return temperature;
    }

    @Override
    public double relativeCost() {
        return 1.5;   // the student's forward and backward plus the teacher's forward
    }

    @Override
    protected Tensor craft(Model model, Tensor x, Tensor y) {
        requireSingleLabelClassification(model, y);
        return null;
    }

    @Override
    protected Variable lossOn(Model model, Tensor x, Tensor adversarial, Tensor y) {
        Tensor softLabels;
        teacher.eval();
        // Its own scope, so that the teacher's activations do not live through the training step.
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            softLabels = Losses.logSoftmax(Ops.scale(teacher.logits(Variable.constant(x)), 1 / temperature)).value()
                    .escapeFrom(s);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
        Variable student = Losses.logSoftmax(Ops.scale(model.logits(Variable.constant(x)), 1 / temperature));
        return Ops.scale(Losses.klDivergence(Variable.constant(softLabels), student), temperature);
    }

    /** Phase 1: the teacher's objective, T x cross-entropy of softmax(z / T) against the hard labels. */
    public static Defense teacherObjective(DefenseConfig config, double temperature) {
        double t = checkTemperature(temperature);
        return new Defense(config) {
            @Override
            public String name() {
                return "distillation-teacher";
            }

            @Override
            public double relativeCost() {
                return 1;
            }

            @Override
            protected Tensor craft(Model model, Tensor x, Tensor y) {
                requireSingleLabelClassification(model, y);
                return null;
            }

            @Override
            protected Variable lossOn(Model model, Tensor x, Tensor adversarial, Tensor y) {
                return Ops.scale(Losses.crossEntropy(Ops.scale(model.logits(Variable.constant(x)), 1 / t), y), t);
            }
        };
    }
}
