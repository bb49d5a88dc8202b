package org.advmia.attack;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.advmia.backend.Backend;
import org.advmia.backend.Backends;
import org.advmia.nn.Model;
import org.advmia.tensor.MemoryScope;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * One attack at several eps in one call, reusing work as Foolbox does: eps are visited in
 * increasing order and each runs only on the points still robust at the previous eps (an example
 * that breaks the model inside a smaller ball is also inside every larger one). Robust accuracy is
 * therefore non-increasing in eps by construction.
 */
public final class EpsSweep {
    private EpsSweep() {}

    /** Per eps: robust accuracy, robust flags per sample, seconds spent at that eps. */
    public record Point(double eps, double robustAccuracy, boolean[] robust, double seconds) {}

    public static List<Point> run(String attack, Model model, double[] eps, Attacks.Overrides overrides, Tensor x,
                                  Tensor labels) {
        double[] sorted = eps.clone();
        Arrays.sort(sorted);
        if (sorted.length == 0) throw new IllegalArgumentException("eps sweep: no eps given");
        Backend b = Backends.of(x);
        int n = (int) x.dim(0);
        long row = x.numel() / Math.max(1, n), labelRow = labels.numel() / Math.max(1, n);
        boolean[] robust = AttackMetrics.of(model, x, x, labels, null).cleanCorrect().clone();
        List<Point> out = new ArrayList<>();
        for (double e : sorted) {
            long start = System.nanoTime();
            List<Integer> idx = new ArrayList<>();
            for (int i = 0; i < n; i++) if (robust[i]) idx.add(i);
            if (!idx.isEmpty() && e > 0) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor xs = rows(b, x, idx, row), ys = rows(b, labels, idx, labelRow);
                    Attack a = Attacks.create(attack, model, e, overrides);
                    try (AttackResult r = a.run(xs, ys, null)) {
                        boolean[] broken = a.succeeded(r.adversarial(), ys, null);
                        for (int k = 0; k < idx.size(); k++) if (broken[k]) robust[idx.get(k)] = false;
                    }
                }
            }
            int left = 0;
            for (boolean r : robust) if (r) left++;
            out.add(new Point(e, (double) left / n, robust.clone(), (System.nanoTime() - start) / 1e9));
        }
        return out;
    }

    private static Tensor rows(Backend b, Tensor t, List<Integer> idx, long rowLen) {
        long[] shape = t.shape().toArray();
        shape[0] = idx.size();
        Tensor out = b.empty(t.dtype(), Shape.of(shape));
        for (int k = 0; k < idx.size(); k++) b.copyBlock(t, idx.get(k) * rowLen, rowLen, out, k * rowLen, rowLen, 1, rowLen);
        return out;
    }
}
