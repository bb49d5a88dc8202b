package org.advmia.data;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Deterministic split assignment for sources without one: items are shuffled with the split
 * seed, the first round(n * test) go to TEST, the next round(n * val) to VAL, the rest to
 * TRAIN; each split keeps the items' original order.
 */
final class Splits {
    private Splits() {}

    static Split[] assign(int n, double val, double test, long seed) {
        int[] perm = permutation(n, new SplittableRandom(seed ^ 0x5EED5EEDL));
        int nTest = (int) Math.round(n * test), nVal = (int) Math.round(n * val);
        Split[] out = new Split[n];
        for (int k = 0; k < n; k++) out[perm[k]] = k < nTest ? Split.TEST : k < nTest + nVal ? Split.VAL : Split.TRAIN;
        return out;
    }

    /** Groups item indices by split, in order. */
    static Map<Split, List<Integer>> group(Split[] splits) {
        Map<Split, List<Integer>> out = new EnumMap<>(Split.class);
        for (Split s : Split.values()) out.put(s, new ArrayList<>());
        for (int i = 0; i < splits.length; i++) out.get(splits[i]).add(i);
        return out;
    }

    /** A Fisher-Yates permutation of 0..n-1. */
    static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** A 64-bit mix of several values (SplitMix64 finaliser), for per-sample seeds. */
    static long mix(long... values) {
        long h = 0x9E3779B97F4A7C15L;
        for (long v : values) {
            h ^= v + 0x9E3779B97F4A7C15L + (h << 6) + (h >>> 2);
            h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
            h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
            h ^= h >>> 31;
        }
        return h;
    }
}
