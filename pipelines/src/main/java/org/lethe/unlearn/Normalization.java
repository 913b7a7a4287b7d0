package org.lethe.unlearn;

/** The unit of a loss term's count: what its unnormalized sum is divided by. */
public enum Normalization {
    /** Answer (target) tokens: the sum is over tokens, the count is the number of target tokens. */
    TOKENS,
    /** Sequences: the sum is over rows of the batch, the count is the number of rows. */
    SEQUENCES,
    /** Positions (or positions x hidden units): the count says how many elements were summed. */
    POSITIONS
}
