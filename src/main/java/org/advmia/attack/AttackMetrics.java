package org.advmia.attack;

import org.advmia.autograd.Autograd;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * What a classification attack run reports: clean and robust accuracy, attack success rate
 * (fooled among the clean-correct), per-sample success, perturbation sizes, cost and speed.
 */
public record AttackMetrics(int samples, double cleanAccuracy, double robustAccuracy, double attackSuccessRate,
                            boolean[] cleanCorrect, boolean[] adversarialCorrect, double maxLinf, double meanL2,
                            long gradientEvaluations, long queries, double seconds) {

    public double imagesPerSecond() {
        return seconds > 0 ? samples / seconds : Double.POSITIVE_INFINITY;
    }

    /** Evaluates the model on clean and adversarial batches (eval mode, no graph). */
    public static AttackMetrics of(Model model, Tensor clean, Tensor adversarial, Tensor labels, AttackResult r) {
        int n = (int) clean.dim(0);
        boolean wasTraining = model.isTraining();
        model.eval();
        try {
            float[] y = Backends.toFloatArray(labels);
            float[] pc = argmax(model, clean), pa = argmax(model, adversarial);
            boolean[] cc = new boolean[n], ac = new boolean[n];
            int correct = 0, robust = 0, fooled = 0;
            for (int i = 0; i < n; i++) {
                cc[i] = pc[i] == y[i];
                ac[i] = cc[i] && pa[i] == y[i];
                if (cc[i]) correct++;
                if (ac[i]) robust++;
                if (cc[i] && !ac[i]) fooled++;
            }
            float[] a = Backends.toFloatArray(clean), b = Backends.toFloatArray(adversarial);
            int d = a.length / Math.max(1, n);
            double maxLinf = 0, sumL2 = 0;
            for (int i = 0; i < n; i++) {
                double sq = 0;
                for (int k = i * d; k < (i + 1) * d; k++) {
                    double diff = (double) b[k] - a[k];
                    maxLinf = Math.max(maxLinf, Math.abs(diff));
                    sq += diff * diff;
                }
                sumL2 += Math.sqrt(sq);
            }
            return new AttackMetrics(n, (double) correct / n, (double) robust / n,
                    correct == 0 ? 0 : (double) fooled / correct, cc, ac, maxLinf, sumL2 / n,
                    r == null ? 0 : r.gradientEvaluations(), r == null ? 0 : r.queries(), r == null ? 0 : r.seconds());
        } finally {
            if (wasTraining) model.train();
        }
    }

    static float[] argmax(Model model, Tensor x) {
        Backend b = Backends.of(x);
        try (MemoryScope s = MemoryScope.open(); AutoCloseable ng = Autograd.noGrad()) {
            Tensor logits = model.logits(Variable.constant(x)).value();
            Tensor am = b.empty(logits.dtype(), Shape.of(logits.dim(0)));
            b.argmax(logits, am);
            return Backends.toFloatArray(am);
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        }
    }
}
