package org.advmia.attack;

import org.advmia.backend.Norm;

/**
 * What the adversary may do, as data: perturb each input by at most eps in the given norm,
 * staying inside the box [lo, hi] (pixel range).
 */
public record ThreatModel(Norm norm, double eps, double lo, double hi) {
    public ThreatModel {
        if (norm == null) throw new IllegalArgumentException("threat model: norm is missing");
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("threat model: eps must be a finite number >= 0, got " + eps);
        }
        if (!(lo < hi)) throw new IllegalArgumentException("threat model: box [" + lo + ", " + hi + "] is empty");
    }

    public static ThreatModel linf(double eps) {
        return new ThreatModel(Norm.LINF, eps, 0, 1);
    }

    public static ThreatModel l2(double eps) {
        return new ThreatModel(Norm.L2, eps, 0, 1);
    }

    public ThreatModel withEps(double e) {
        return new ThreatModel(norm, e, lo, hi);
    }

    /** Parses "8/255", "0.031" or "1e-2"; the error names the flag. */
    public static double parseEps(String s, String flag) {
        String t = s.trim();
        try {
            int slash = t.indexOf('/');
            double v = slash < 0 ? Double.parseDouble(t)
                    : Double.parseDouble(t.substring(0, slash)) / Double.parseDouble(t.substring(slash + 1));
            if (!(v >= 0) || Double.isInfinite(v)) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " '" + s + "': expected a number >= 0 such as 8/255 or 0.031");
        }
    }

    @Override
    public String toString() {
        return (norm == Norm.LINF ? "Linf" : "L2") + " eps=" + eps + " box=[" + lo + ", " + hi + "]";
    }
}
