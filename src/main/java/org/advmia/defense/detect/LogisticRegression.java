package org.advmia.defense.detect;

/**
 * Binary logistic regression on a few detector features, in plain double math: features are
 * standardised with the fit set's mean and standard deviation, the two classes are weighted to
 * equal total weight (the negatives may include noisy copies), and the L2-penalised likelihood
 * (penalty {@link #L2} on the weights, not the bias, which keeps separable fit sets finite) is
 * maximised by Newton's method, which is deterministic and converges in a few iterations.
 */
final class LogisticRegression {
    static final double L2 = 1e-3;
    private final double[] rawWeights;
    private final double rawBias;

    private LogisticRegression(double[] rawWeights, double rawBias) {
        this.rawWeights = rawWeights;
        this.rawBias = rawBias;
    }

    /** A regression with known raw weights and bias (a saved detector's). */
    static LogisticRegression of(double[] rawWeights, double rawBias) {
        return new LogisticRegression(rawWeights.clone(), rawBias);
    }

    /** Fits negatives (label 0) against positives (label 1), rows of equal width. */
    static LogisticRegression fit(double[][] negatives, double[][] positives) {
        if (negatives.length == 0 || positives.length == 0) {
            throw new IllegalArgumentException("logistic regression: need both clean (" + negatives.length
                    + ") and adversarial (" + positives.length + ") fit points");
        }
        int d = negatives[0].length, n = negatives.length + positives.length;
        double[][] x = new double[n][];
        double[] y = new double[n], w = new double[n];
        for (int i = 0; i < n; i++) {
            boolean pos = i >= negatives.length;
            x[i] = pos ? positives[i - negatives.length] : negatives[i];
            if (x[i].length != d) throw new IllegalArgumentException("logistic regression: row " + i + " has "
                    + x[i].length + " features, expected " + d);
            for (double v : x[i]) {
                if (!Double.isFinite(v)) throw new IllegalArgumentException("logistic regression: fit row " + i
                        + " has a non-finite feature " + v);
            }
            y[i] = pos ? 1 : 0;
            w[i] = 0.5 * n / (pos ? positives.length : negatives.length);
        }
        double[] mean = new double[d], std = new double[d];
        for (double[] r : x) for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        for (double[] r : x) for (int j = 0; j < d; j++) std[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
        // A constant feature carries no information; a unit scale keeps it harmless.
        for (int j = 0; j < d; j++) std[j] = std[j] > 1e-24 ? Math.sqrt(std[j]) : 1;
        double[][] z = new double[n][d + 1];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) z[i][j] = (x[i][j] - mean[j]) / std[j];
            z[i][d] = 1;
        }
        double[] beta = newton(z, y, w);
        double[] raw = new double[d];
        double bias = beta[d];
        for (int j = 0; j < d; j++) {
            raw[j] = beta[j] / std[j];
            bias -= beta[j] * mean[j] / std[j];
        }
        return new LogisticRegression(raw, bias);
    }

    private static double[] newton(double[][] z, double[] y, double[] w) {
        int p = z[0].length;
        double[] beta = new double[p];
        for (int iter = 0; iter < 100; iter++) {
            double[] grad = new double[p];
            double[][] hess = new double[p][p];
            for (int i = 0; i < z.length; i++) {
                double t = 0;
                for (int j = 0; j < p; j++) t += beta[j] * z[i][j];
                double prob = 1 / (1 + Math.exp(-t)), c = w[i] * prob * (1 - prob);
                for (int j = 0; j < p; j++) {
                    grad[j] += w[i] * (y[i] - prob) * z[i][j];
                    for (int k = 0; k < p; k++) hess[j][k] += c * z[i][j] * z[i][k];
                }
            }
            for (int j = 0; j < p - 1; j++) {
                grad[j] -= L2 * z.length * beta[j];
                hess[j][j] += L2 * z.length;
            }
            double[] step = solve(hess, grad);
            double size = 0;
            for (int j = 0; j < p; j++) {
                beta[j] += step[j];
                size = Math.max(size, Math.abs(step[j]));
            }
            if (size < 1e-10) break;
        }
        return beta;
    }

    /** Solves a x = b for a symmetric positive definite a (Gaussian elimination, partial pivoting). */
    static double[] solve(double[][] a, double[] b) {
        int p = b.length;
        double[][] m = new double[p][p + 1];
        for (int i = 0; i < p; i++) {
            System.arraycopy(a[i], 0, m[i], 0, p);
            m[i][p] = b[i];
        }
        for (int c = 0; c < p; c++) {
            int piv = c;
            for (int r = c + 1; r < p; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
            double[] t = m[c];
            m[c] = m[piv];
            m[piv] = t;
            if (Math.abs(m[c][c]) < 1e-300) throw new IllegalStateException("logistic regression: singular system");
            for (int r = c + 1; r < p; r++) {
                double f = m[r][c] / m[c][c];
                for (int k = c; k <= p; k++) m[r][k] -= f * m[c][k];
            }
        }
        double[] x = new double[p];
        for (int i = p - 1; i >= 0; i--) {
            double s = m[i][p];
            for (int k = i + 1; k < p; k++) s -= m[i][k] * x[k];
            x[i] = s / m[i][i];
        }
        return x;
    }

    /** The decision value (log-odds of "adversarial") of one feature row. */
    double decision(double[] features) {
        double s = rawBias;
        for (int j = 0; j < rawWeights.length; j++) s += rawWeights[j] * features[j];
        return s;
    }

    /** Weights on the unstandardised features: decision = bias + sum_j weight_j * feature_j. */
    double[] weights() {
        return rawWeights.clone();
    }

    double bias() {
        return rawBias;
    }
}
