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
    private double[] logCounts;  // [C]: log |X_c|
    private double[] trainLabels; // [M]: the class of each stored feature row
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
        for (int c = 0; c < classes; c++) {
            if (countOf(y, c) == 0) {
                throw new IllegalArgumentException("kd-bu: no training input of class " + c + "; the density of a"
                        + " predicted class needs training inputs of every class (" + classes + " classes)");
            }
        }
        double[] kept = new double[stored * width], labels = new double[stored];
        for (int m = 0; m < stored; m++) {
            System.arraycopy(f[keep[m]], 0, kept, m * width, width);
            labels[m] = y[keep[m]];
        }
        store(kept, labels, classes);
        bandwidth = medianSameClassDistance(f, y, keep);
    }

    /**
     * Sets the stored features [M, D] and their classes [M], and derives the squared norms, the
     * class membership and log |X_c| from them, by the same arithmetic at fit and at load.
     * (Each class keeps min(MAX_PER_CLASS, its count) inputs, so counting the stored labels gives
     * the fit-time |X_c|.)
     */
    private void store(double[] kept, double[] labels, int classes) {
        train = kept;
        trainLabels = labels;
        trainSq = new double[stored];
        membership = new double[classes * stored];
        logCounts = new double[classes];
        int[] count = new int[classes];
        for (int m = 0; m < stored; m++) {
            for (int j = 0; j < width; j++) trainSq[m] += kept[m * width + j] * kept[m * width + j];
            membership[(int) labels[m] * stored + m] = 1;
            count[(int) labels[m]]++;
        }
        for (int c = 0; c < classes; c++) logCounts[c] = Math.log(count[c]);
    }

    @Override
    protected int featureCount() {
        return 2;
    }

    @Override
    protected void writeState(DetectorFile.Writer w) {
        // The constants shape the score; a file written under other values must not load silently.
        w.meta("max_per_class", Integer.toString(MAX_PER_CLASS));
        w.meta("samples", Integer.toString(SAMPLES));
        w.meta("dropout", Double.toString(DROPOUT));
        w.put("kd-bu.features", train, stored, width);
        w.put("kd-bu.labels", trainLabels, stored);
        w.put("kd-bu.bandwidth", new double[] {bandwidth}, 1);
    }

    @Override
    protected void readState(DetectorFile.Reader r, long[] widths) {
        if (r.longMeta("max_per_class", 1) != MAX_PER_CLASS || r.longMeta("samples", 1) != SAMPLES
                || r.doubleMeta("dropout") != DROPOUT) {
            throw new IllegalArgumentException(r.file() + ": kd-bu was saved with max_per_class " + r.meta("max_per_class")
                    + ", samples " + r.meta("samples") + ", dropout " + r.meta("dropout") + "; this build uses "
                    + MAX_PER_CLASS + ", " + SAMPLES + ", " + DROPOUT);
        }
        int classes = model.numClasses();
        long m = r.rows("kd-bu.features");
        if (m < 1 || m > (long) MAX_PER_CLASS * classes) {
            throw new IllegalArgumentException(r.file() + ": kd-bu holds " + m + " training features, expected 1 to "
                    + (long) MAX_PER_CLASS * classes);
        }
        stored = (int) m;
        width = (int) widths[1];   // the pooled map
        double[] kept = r.take("kd-bu.features", stored, width), labels = r.take("kd-bu.labels", stored);
        int[] count = new int[classes];
        for (int i = 0; i < stored; i++) {
            double v = labels[i];
            if (v != Math.rint(v) || v < 0 || v >= classes) {
                throw new IllegalArgumentException(r.file() + ": kd-bu label " + i + " is " + v + ", expected a class"
                        + " index in [0, " + classes + ")");
            }
            count[(int) v]++;
        }
        for (int c = 0; c < classes; c++) {
            if (count[c] == 0 || count[c] > MAX_PER_CLASS) {
                throw new IllegalArgumentException(r.file() + ": kd-bu holds " + count[c] + " training features of class "
                        + c + ", expected 1 to " + MAX_PER_CLASS);
            }
        }
        store(kept, labels, classes);
        double h = r.take("kd-bu.bandwidth", 1)[0];
        if (!(h > 0)) throw new IllegalArgumentException(r.file() + ": kd-bu bandwidth " + h + ", expected > 0");
        bandwidth = h;
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
