package org.advmia.defense.detect;

import java.util.Arrays;
import java.util.Random;
import org.advmia.autograd.Losses;
import org.advmia.autograd.NnOps;
import org.advmia.autograd.Ops;
import org.advmia.autograd.Variable;
import org.advmia.backend.Backend;
import org.advmia.backend.BinaryOp;
import org.advmia.backend.Backends;
import org.advmia.backend.Generator;
import org.advmia.backend.UnaryOp;
import org.advmia.nn.FeatureMaps;
import org.advmia.tensor.DType;
import org.advmia.tensor.Shape;
import org.advmia.tensor.Tensor;

/**
 * Kernel density and Bayesian uncertainty (KD-BU): Feinman et al., "Detecting Adversarial
 * Samples from Artifacts", 2017 (arXiv:1703.00410). KD: a Gaussian kernel density
 * (1/|X_t|) sum_{x_i in X_t} exp(-||f(x) - f(x_i)||^2 / (2 h^2)) of the last hidden layer's
 * features, over the training inputs X_t of the class t the model predicts for x (used as its
 * logarithm, computed stably as a log-sum-exp, because adversarial inputs far from their
 * predicted class underflow the raw density to 0). BU: the variance of the softmax under Monte
 * Carlo dropout, (1/T) sum_t p_t . p_t - pbar . pbar. A logistic regression on (log KD, BU), clean and
 * noisy (negatives) against adversarial (positives) fit inputs.
 *
 * <p>Last hidden layer: the channel means of the last feature map (what the classifier of a
 * ResNet-style model reads). Bandwidth h: the paper tunes it per dataset on features of fixed
 * scale; here h is the median distance between training features of the same class (the median
 * heuristic), so it follows each model's feature scale. At most {@link #MAX_PER_CLASS} training
 * inputs per class, drawn with the seed, enter the density.
 *
 * <p>Bayesian uncertainty without dropout in the model: the engine's models are evaluated
 * without dropout, so the Monte Carlo samples apply inverted dropout with p = {@link #DROPOUT} to
 * the last feature map before the classifier head, {@link #SAMPLES} times (the paper used T = 50
 * passes of its models' own dropout). The masks come from a generator seeded by the detector's
 * seed at each call, so the same batch always gets the same masks: the score is a deterministic,
 * differentiable function of x.
 */
public final class KernelDensityDetector extends FeatureDetector {
    public static final int MAX_PER_CLASS = 500, SAMPLES = 20;
    public static final double DROPOUT = 0.5;
    private double[] train;      // [M, D], all classes
    private double[] trainSq;    // [1, M]
    private double[] membership; // [C, M]: 1 where training input m belongs to class c
    private double[] logCounts;  // [C]: log |X_c| (0 for absent classes, which are never used)
    private int stored, width;
    private double bandwidth;

    public KernelDensityDetector(long seed) {
        super(seed);
    }

    @Override
    public String name() {
        return "kd-bu";
    }

    /** The kernel bandwidth h chosen at fit time. */
    public double bandwidth() {
        return bandwidth;
    }

    @Override
    protected boolean noisyNegatives() {
        return true;
    }

    @Override
    protected void prepare(Tensor trainX, Tensor trainY) {
        float[] y = Backends.toFloatArray(trainY);
        int classes = model.numClasses();
        double[][] f = layerRows(trainX, FeatureLayers::pooled);
        width = f[0].length;
        Random r = new Random(seed);
        int[] order = new int[y.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        for (int i = order.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int[] taken = new int[classes];
        int[] keep = new int[y.length];
        stored = 0;
        for (int i : order) if (taken[(int) y[i]]++ < MAX_PER_CLASS) keep[stored++] = i;
        Arrays.sort(keep, 0, stored);
        train = new double[stored * width];
        trainSq = new double[stored];
        membership = new double[classes * stored];
        logCounts = new double[classes];
        for (int m = 0; m < stored; m++) {
            System.arraycopy(f[keep[m]], 0, train, m * width, width);
            for (double v : f[keep[m]]) trainSq[m] += v * v;
            membership[(int) y[keep[m]] * stored + m] = 1;
        }
        for (int c = 0; c < classes; c++) {
            int count = countOf(y, c);
            if (count == 0) {
                throw new IllegalArgumentException("kd-bu: no training input of class " + c + "; the density of a"
                        + " predicted class needs training inputs of every class (" + classes + " classes)");
            }
            logCounts[c] = Math.log(Math.min(MAX_PER_CLASS, count));
        }
        bandwidth = medianSameClassDistance(f, y, keep);
    }

    private static int countOf(float[] y, int c) {
        int n = 0;
        for (float v : y) if (v == c) n++;
        return n;
    }

    private double medianSameClassDistance(double[][] f, float[] y, int[] keep) {
        // At most 200 stored inputs per class, so this stays O(classes * 200^2).
        double[] d = new double[0];
        int count = 0;
        for (int c = 0; c < model.numClasses(); c++) {
            int[] members = new int[Math.min(200, stored)];
            int m = 0;
            for (int i = 0; i < stored && m < members.length; i++) if (y[keep[i]] == c) members[m++] = keep[i];
            for (int a = 0; a < m; a++) {
                for (int b = a + 1; b < m; b++) {
                    if (count == d.length) d = Arrays.copyOf(d, Math.max(16, 2 * d.length));
                    double s = 0;
                    for (int j = 0; j < width; j++) s += (f[members[a]][j] - f[members[b]][j]) * (f[members[a]][j] - f[members[b]][j]);
                    d[count++] = Math.sqrt(s);
                }
            }
        }
        if (count == 0) throw new IllegalArgumentException("kd-bu: needs two training inputs of some class to set the"
                + " kernel bandwidth");
        Arrays.sort(d, 0, count);
        double h = d[count / 2];
        if (!(h > 0)) throw new IllegalArgumentException("kd-bu: training features of the same class coincide"
                + " (median distance 0); cannot set a kernel bandwidth");
        return h;
    }

    @Override
    protected Variable[] features(Variable x) {
        FeatureLayers layers = FeatureLayers.of(model, x);
        return new Variable[] {logDensity(layers), uncertainty(layers.map())};
    }

    /** log KD [N] over the training features of each input's predicted class. */
    private Variable logDensity(FeatureLayers layers) {
        Backend be = backend();
        Variable f = layers.pooled();
        DType dt = f.dtype();
        long n = f.shape().dim(0);
        int classes = model.numClasses();
        Tensor tr = constants.get("train", dt, train, stored, width);
        Tensor trSq = constants.get("trainsq", dt, trainSq, 1, stored);
        Tensor member = constants.get("member", dt, membership, classes, stored);
        Tensor logN = constants.get("logn", dt, logCounts, classes, 1);
        Tensor predicted = RowSelect.oneHotArgmax(be, layers.logits().value(), iota(dt, classes));   // [N, C]
        Tensor inClass = be.empty(dt, Shape.of(n, stored));
        be.gemm(false, false, n, stored, classes, 1, predicted, member, 0, inClass);
        Tensor logCount = be.empty(dt, Shape.of(n, 1));
        be.gemm(false, false, n, 1, classes, 1, predicted, logN, 0, logCount);

        Variable d2 = Ops.add(Ops.sub(Ops.sum(Ops.square(f), 1, true), Ops.scale(NnOps.linear(f, Variable.constant(tr), null), 2)),
                Variable.constant(trSq));
        Variable a = Ops.scale(d2, -0.5 / (bandwidth * bandwidth));                             // [N, M]
        // log-sum-exp over the predicted class: subtract the row maximum over that class (a constant),
        // clamp so that other classes' larger terms cannot overflow, and mask them out.
        // (a + 0 for the class's own entries keeps them exact; the others drop far below.)
        Tensor masked = be.empty(dt, a.shape());
        be.unary(UnaryOp.AFFINE, inClass, masked, 1e30, -1e30);
        be.binary(BinaryOp.ADD, a.value(), masked, masked);
        Tensor rowMax = be.empty(dt, Shape.of(n, 1));
        be.reduce(org.advmia.backend.ReduceOp.MAX, masked, n, stored, 1, rowMax);
        Variable shifted = Ops.clamp(Ops.sub(a, Variable.constant(rowMax)), -200, 0);
        Variable sum = Ops.sum(Ops.mul(Ops.exp(shifted), Variable.constant(inClass)), 1, true);  // >= 1
        Variable logKd = Ops.add(Ops.log(sum), Variable.constant(rowMax));
        return Ops.reshape(Ops.sub(logKd, Variable.constant(logCount)), n);
    }

    /** Monte Carlo dropout variance of the softmax [N], T passes of the head over a dropped-out feature map. */
    private Variable uncertainty(Variable map) {
        FeatureMaps split = (FeatureMaps) model;
        Generator gen = new Generator(seed ^ 0xB0B0L);
        Variable sumSq = null, mean = null;
        for (int t = 0; t < SAMPLES; t++) {
            Variable p = Losses.softmax(split.head(NnOps.dropout(map, DROPOUT, true, gen)));
            Variable sq = Ops.sum(Ops.square(p), 1, false);
            sumSq = sumSq == null ? sq : Ops.add(sumSq, sq);
            mean = mean == null ? p : Ops.add(mean, p);
        }
        mean = Ops.scale(mean, 1.0 / SAMPLES);
        return Ops.sub(Ops.scale(sumSq, 1.0 / SAMPLES), Ops.sum(Ops.square(mean), 1, false));
    }
}
