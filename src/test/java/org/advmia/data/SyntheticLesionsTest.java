package org.advmia.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticLesionsTest {
    @Test
    void specSelectsSizeChannelsCountsAndSeed() {
        Dataset d = DataSpec.open("synthetic:lesions?size=32&channels=1&n=100&val=20&test=30&seed=3");
        DatasetInfo i = d.info();
        assertEquals(List.of(1, 32, 32, 2), List.of(i.channels(), i.height(), i.width(), i.classes()));
        assertEquals(List.of("benign", "malignant"), i.classNames());
        assertEquals(List.of(100, 20, 30), List.of(d.size(Split.TRAIN), d.size(Split.VAL), d.size(Split.TEST)));
        Dataset defaults = DataSpec.open("synthetic:lesions");
        assertEquals(List.of(5000, 1000, 1000), List.of(defaults.size(Split.TRAIN), defaults.size(Split.VAL),
                defaults.size(Split.TEST)));
        assertEquals(List.of(3, 28), List.of(defaults.info().channels(), defaults.info().height()));
        Dataset seg = DataSpec.open("synthetic:lesion-seg?size=40&n=10");
        assertEquals(Task.SEGMENTATION, seg.info().task());
        assertEquals(40 * 40, seg.get(Split.TRAIN, 0).label().length);
    }

    @Test
    void samplesArePureFunctionsOfSeedSplitAndIndex() {
        Dataset a = DataSpec.open("synthetic:lesions?size=28&n=50&seed=1");
        Dataset b = DataSpec.open("synthetic:lesions?size=28&n=50&seed=1");
        Dataset c = DataSpec.open("synthetic:lesions?size=28&n=50&seed=2");
        Sample late = a.get(Split.TRAIN, 40);
        for (int i = 0; i < 10; i++) a.get(Split.VAL, i);
        assertArrayEquals(late.image(), b.get(Split.TRAIN, 40).image(), "independent of access order");
        assertArrayEquals(late.label(), a.label(Split.TRAIN, 40));
        assertFalse(Arrays.equals(late.image(), c.get(Split.TRAIN, 40).image()), "seed matters");
        assertFalse(Arrays.equals(a.get(Split.TRAIN, 0).image(), a.get(Split.TEST, 0).image()), "splits differ");
    }

    @Test
    void imagesAreEightBitInRangeAndMasksMarkTheDarkerLesion() {
        Dataset seg = DataSpec.open("synthetic:lesion-seg?size=48&channels=1&n=40");
        int darker = 0;
        for (int i = 0; i < 40; i++) {
            Sample s = seg.get(Split.TRAIN, i);
            double in = 0, out = 0;
            int nIn = 0;
            for (int p = 0; p < s.image().length; p++) {
                float v = s.image()[p];
                assertTrue(v >= 0 && v <= 1);
                assertEquals(Pixels.U8[Pixels.toByte(v)], v, "8-bit value");
                float m = s.label()[p];
                assertTrue(m == 0 || m == 1);
                if (m == 1) {
                    in += v;
                    nIn++;
                } else {
                    out += v;
                }
            }
            assertTrue(nIn > 48 && nIn < 48 * 48 - 48, "lesion covers part of the image: " + nIn);
            if (in / nIn < out / (s.image().length - nIn)) darker++;
        }
        assertTrue(darker >= 36, "lesions are mostly darker than the skin: " + darker + " of 40");
    }

    /**
     * The designed ambiguity: even the latent severity, which the image shows only through noisy
     * cues, separates the classes only about 84% of the time (Phi(1)); classes are balanced.
     */
    @Test
    void classesOverlapByDesign() {
        SyntheticLesions d = (SyntheticLesions) DataSpec.open("synthetic:lesions?n=20000&seed=9");
        int correct = 0, malignant = 0, n = d.size(Split.TRAIN);
        double threshold = (SyntheticLesions.BENIGN_MEAN + SyntheticLesions.MALIGNANT_MEAN) / 2;
        for (int i = 0; i < n; i++) {
            int y = (int) d.label(Split.TRAIN, i)[0];
            malignant += y;
            if ((d.severity(Split.TRAIN, i) > threshold ? 1 : 0) == y) correct++;
        }
        double bayes = correct / (double) n, frac = malignant / (double) n;
        assertTrue(bayes > 0.82 && bayes < 0.86, "Bayes accuracy from the latent severity: " + bayes);
        assertTrue(frac > 0.48 && frac < 0.52, "class balance: " + frac);
    }

    /** The dark-pixel fraction of an image: a crude lesion-area feature. */
    static double darkFraction(float[] img) {
        float lo = 1, hi = 0;
        for (float v : img) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        int dark = 0;
        for (float v : img) if (v < (lo + hi) / 2) dark++;
        return dark / (double) img.length;
    }

    /**
     * A cheap learnability proxy: one hand-made feature (the lesion's area) with a threshold fit
     * on TRAIN is clearly above chance on VAL but far from perfect.
     */
    @Test
    void oneFeatureThresholdIsAboveChanceButFarFromPerfect() {
        Dataset d = DataSpec.open("synthetic:lesions?size=28&channels=1&n=2000&val=1000&seed=5");
        double[] f = new double[2000];
        int[] y = new int[2000];
        for (int i = 0; i < 2000; i++) {
            f[i] = darkFraction(d.get(Split.TRAIN, i).image());
            y[i] = (int) d.label(Split.TRAIN, i)[0];
        }
        double best = 0, threshold = 0;
        for (int k = 0; k < 2000; k += 4) {
            int correct = 0;
            for (int i = 0; i < 2000; i++) if ((f[i] > f[k] ? 1 : 0) == y[i]) correct++;
            if (correct > best) {
                best = correct;
                threshold = f[k];
            }
        }
        int correct = 0;
        for (int i = 0; i < 1000; i++) {
            if ((darkFraction(d.get(Split.VAL, i).image()) > threshold ? 1 : 0) == (int) d.label(Split.VAL, i)[0]) correct++;
        }
        double acc = correct / 1000.0;
        System.out.printf("synthetic lesions: lesion-area threshold, val accuracy %.3f%n", acc);
        assertTrue(acc > 0.6 && acc < 0.85, "threshold on the lesion area: val accuracy " + acc);
    }
}
