package org.lethe.unlearn;

/** Which second sequence batch a loss term reads besides the term's own data. */
public enum Alternative {
    /** None: the term reads only its own batch. */
    NONE,
    /** The same questions paired with a refusal answer ("I don't know"). */
    REFUSAL,
    /** Forget questions paired with (seeded, mismatched) retain answers. */
    MISMATCHED_ANSWER
}
