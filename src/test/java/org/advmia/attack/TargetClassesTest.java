package org.advmia.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How targeted evaluations choose their targets. */
class TargetClassesTest {
    @Test
    void nextAndFixedFollowTheirDefinitions() {
        float[] y = {0, 1, 2, 3, 3};
        assertArrayEquals(new float[] {1, 2, 3, 0, 0}, TargetClasses.parse("next", "--t", 0).choose(y, null, 4, 1, 0));
        assertArrayEquals(new float[] {2, 2, 2, 2, 2}, TargetClasses.parse("2", "--t", 0).choose(y, null, 4, 1, 0));
    }

    @Test
    void randomNeverPicksTheLabelCoversTheOtherClassesAndRepeatsWithTheSeed() {
        int n = 4000, k = 5;
        float[] y = new float[n];
        for (int i = 0; i < n; i++) y[i] = i % k;
        TargetClasses t = TargetClasses.parse("random", "--t", 42);
        float[] a = t.choose(y, null, k, 1, 3), b = TargetClasses.parse("random", "--t", 42).choose(y, null, k, 1, 3);
        assertArrayEquals(a, b, "same seed and batch, same targets");
        assertNotEquals(java.util.Arrays.toString(a), java.util.Arrays.toString(t.choose(y, null, k, 1, 4)),
                "another batch index draws other targets");
        int[][] count = new int[k][k];
        for (int i = 0; i < n; i++) {
            assertNotEquals(y[i], a[i], "sample " + i + " targeted at its own label");
            count[(int) y[i]][(int) a[i]]++;
        }
        // 800 draws per label over 4 other classes: each expected 200, sd ~12; 140 is 5 sd below.
        for (int c = 0; c < k; c++) for (int d = 0; d < k; d++) if (c != d) assertTrue(count[c][d] > 140, c + "->" + d);
    }

    @Test
    void leastLikelyIsTheArgminOfTheCleanLogitsPerSampleAndPerPixel() {
        // Classification: [N=2, K=3].
        float[] z = {0.5f, -2f, 1f, 3f, 2f, -1f};
        assertArrayEquals(new float[] {1, 2},
                TargetClasses.parse("least-likely", "--t", 0).choose(new float[] {0, 0}, z, 3, 1, 0));
        // Segmentation: [N=1, K=2, P=3 pixels], class-major per sample.
        float[] zs = {1f, -1f, 0f, 0f, 2f, -5f};
        assertArrayEquals(new float[] {1, 0, 1},
                TargetClasses.parse("least-likely", "--t", 0).choose(new float[] {0, 1, 0}, zs, 2, 3, 0));
    }

    @Test
    void badValuesAndInapplicableModesAreRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TargetClasses.parse("sideways", "--targeted", 0));
        assertTrue(e.getMessage().contains("--targeted 'sideways'") && e.getMessage().contains("least-likely"));
        assertThrows(IllegalArgumentException.class, () -> TargetClasses.parse("-1", "--targeted", 0));
        e = assertThrows(IllegalArgumentException.class,
                () -> TargetClasses.parse("7", "--targeted", 0).requireApplicable(4, false, "--targeted"));
        assertTrue(e.getMessage().contains("0..3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TargetClasses.parse("random", "--targeted", 0).requireApplicable(2, true, "--targeted"));
        assertTrue(e.getMessage().contains("segmentation"), e.getMessage());
        assertEquals("least-likely", TargetClasses.parse("Least-Likely", "--t", 0).describe());
    }
}
