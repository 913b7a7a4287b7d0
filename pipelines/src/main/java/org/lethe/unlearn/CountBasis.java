package org.lethe.unlearn;

/**
 * What a loss term's count counts, so the data-parallel driver can compute every term's GLOBAL
 * count for a logical batch from the token ids and labels alone, before any executor runs the
 * model: each executor then backpropagates {@code coeff * sum / globalCount}, and partition
 * gradients simply add. {@link #count(long[], int)} agrees with the count
 * {@link LossTerm#compute(TermInputs)} reports for the same rows (checked for every registered
 * term by the contract tests).
 */
public enum CountBasis {
    /** Positions that predict an answer token: labels[t + 1] != -100 for t in [0, len - 1). */
    ANSWER_TARGETS,
    /** As {@link #ANSWER_TARGETS}, skipping the first token of each answer span (labels[t] != -100 too). */
    ANSWER_TARGETS_AFTER_FIRST,
    /** Positions that predict a real token: len - 1 per row. */
    PREDICTING_POSITIONS,
    /** One per row. */
    ROWS,
    /** Answer tokens themselves (labels[t] != -100, no shift) times the hidden size. */
    LABEL_TOKENS_TIMES_HIDDEN,
    /** Always zero (the {@code none} retain term). */
    NOTHING;

    /**
     * The count of one unpadded row.
     *
     * @param labels the row's labels (-100 where not a target), as long as its token ids
     * @param hidden the model's hidden size (used by {@link #LABEL_TOKENS_TIMES_HIDDEN} only)
     */
    public long count(long[] labels, int hidden) {
        long n = 0;
        switch (this) {
            case ANSWER_TARGETS -> {
                for (int t = 1; t < labels.length; t++) {
                    n += labels[t] != LossMath.IGNORE ? 1 : 0;
                }
            }
            case ANSWER_TARGETS_AFTER_FIRST -> {
                for (int t = 1; t < labels.length; t++) {
                    n += labels[t] != LossMath.IGNORE && labels[t - 1] != LossMath.IGNORE ? 1 : 0;
                }
            }
            case PREDICTING_POSITIONS -> n = Math.max(0, labels.length - 1);
            case ROWS -> n = 1;
            case LABEL_TOKENS_TIMES_HIDDEN -> {
                for (long l : labels) {
                    n += l != LossMath.IGNORE ? 1 : 0;
                }
                n *= hidden;
            }
            case NOTHING -> n = 0;
            default -> throw new AssertionError(this);
        }
        return n;
    }
}
