package org.advmia.attack;

/**
 * What the attacker knows about the target, the survey's four knowledge settings, as data. The
 * setting decides which model an attack may differentiate or query; the target itself is only
 * ever used to score the result.
 *
 * <ul>
 *   <li>{@code white-box}: weights, architecture and gradients of the target itself.</li>
 *   <li>{@code semi-white-box}: no access to the target, but a surrogate trained on the same training
 *       data with the same recipe and a different architecture or seed; the attack is white-box on
 *       the surrogate and transferred.</li>
 *   <li>{@code black-box}: only the target's output scores, through queries (score-based attacks:
 *       square, simba); no gradients, no weights.</li>
 *   <li>{@code no-box}: no query to the target and none of its training data: the attack is crafted
 *       on a surrogate trained, naturally, on data disjoint from the target's training split (the
 *       benchmark uses the dataset's validation split), then transferred; what the attacker holds is
 *       a few samples of the same problem, as in Li et al., "Practical No-box Adversarial Examples
 *       against Large-scale DNNs", NeurIPS 2020.</li>
 * </ul>
 */
public enum KnowledgeSetting {
    WHITE_BOX("white-box"), SEMI_WHITE_BOX("semi-white-box"), BLACK_BOX("black-box"), NO_BOX("no-box");

    private final String key;

    KnowledgeSetting(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    /** Whether the attack is crafted on a surrogate rather than on the target. */
    public boolean usesSurrogate() {
        return this == SEMI_WHITE_BOX || this == NO_BOX;
    }

    public static KnowledgeSetting parse(String s, String where) {
        for (KnowledgeSetting k : values()) if (k.key.equalsIgnoreCase(s.trim())) return k;
        throw new IllegalArgumentException(where + ": unknown setting '" + s + "'. Valid settings: white-box,"
                + " semi-white-box, black-box, no-box");
    }

    /**
     * Throws when an attack does not fit the setting: black-box takes score-based attacks only;
     * semi-white-box and no-box need a surrogate, the others must not have one.
     */
    public void check(String attack, boolean hasSurrogate, String surrogateFlag) {
        if (this == BLACK_BOX && !Attacks.isScoreBased(attack)) {
            throw new IllegalArgumentException("setting black-box allows only score-based attacks (square, simba), not "
                    + attack);
        }
        if (usesSurrogate() && !hasSurrogate) {
            throw new IllegalArgumentException("setting " + key + " crafts on a surrogate: give " + surrogateFlag);
        }
        if (!usesSurrogate() && hasSurrogate) {
            throw new IllegalArgumentException(surrogateFlag + " applies to the semi-white-box and no-box settings,"
                    + " not " + key);
        }
    }
}
