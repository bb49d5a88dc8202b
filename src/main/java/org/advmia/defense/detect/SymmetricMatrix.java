package org.advmia.defense.detect;

/** Inverse of a symmetric positive definite matrix by Cholesky factorisation, in double. */
final class SymmetricMatrix {
    private SymmetricMatrix() {}

    static double[][] inverse(double[][] a) {
        int n = a.length;
        double[][] l = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = a[i][j];
                for (int k = 0; k < j; k++) s -= l[i][k] * l[j][k];
                if (i == j) {
                    if (!(s > 0)) {
                        throw new IllegalStateException("covariance is not positive definite (pivot " + i + " = " + s + ")");
                    }
                    l[i][i] = Math.sqrt(s);
                } else {
                    l[i][j] = s / l[j][j];
                }
            }
        }
        // inv(A) = inv(L)^T inv(L); columns of inv(L) by forward substitution.
        double[][] li = new double[n][n];
        for (int c = 0; c < n; c++) {
            for (int i = c; i < n; i++) {
                double s = i == c ? 1 : 0;
                for (int k = c; k < i; k++) s -= l[i][k] * li[k][c];
                li[i][c] = s / l[i][i];
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = i; k < n; k++) s += li[k][i] * li[k][j];
                inv[i][j] = s;
                inv[j][i] = s;
            }
        }
        return inv;
    }
}
