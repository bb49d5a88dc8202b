package org.advmia.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * The three splits every dataset has. Model selection (checkpoints, early stopping, tuning)
 * reads {@link #VAL}; {@link #TEST} is for the final report only.
 */
public enum Split {
    TRAIN, VAL, TEST;

    /** The lower-case name used in files and specs: train, val, test. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Split parse(String s) {
        String t = s.trim().toLowerCase(Locale.ROOT);
        for (Split sp : values()) if (sp.key().equals(t)) return sp;
        if (t.equals("validation") || t.equals("valid")) return VAL;
        throw new IllegalArgumentException("split '" + s + "': expected one of "
                + Arrays.toString(Arrays.stream(values()).map(Split::key).toArray()));
    }
}
