package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** Which predicting positions a per-position term covers. */
public enum Positions {
    /** Positions whose next token is an answer target (labels[:, t + 1] != -100). */
    ANSWER,
    /** Positions whose next token is a real token (mask[:, t + 1] == 1): prompt and answer, not padding. */
    ALL;

    CountBasis countBasis() {
        return this == ANSWER ? CountBasis.ANSWER_TARGETS : CountBasis.PREDICTING_POSITIONS;
    }

    NDArray mask(BatchView b) {
        return this == ANSWER ? LossMath.answerMask(b.labels()) : LossMath.nonPaddingMask(b.mask());
    }
}
