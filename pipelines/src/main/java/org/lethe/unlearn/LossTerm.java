package org.lethe.unlearn;

/** One forget or retain loss term: what it needs and how it turns a micro-batch into a sum and a count. */
public interface LossTerm {

    /** The stable name used in config keys, flags and table columns. */
    String name();

    /** What {@link TermValue#count()} counts, per row of the batch the count is taken on. */
    CountBasis countBasis();

    /**
     * Whether the count is taken on the alternative batch ({@link #alternative()}) rather than the
     * term's own batch.
     */
    default boolean countsAlternative() {
        return false;
    }

    /**
     * Whether the term reads its own batch ({@link TermInputs#batch()}); terms that read only the
     * alternative batch (idk, mismatch) return false, so no forward pass is spent on it.
     */
    default boolean readsOwnBatch() {
        return true;
    }

    /** Whether {@link BatchView#refLogits()} (or {@link BatchView#refHidden()}) must be filled. */
    default boolean needsRefModel() {
        return false;
    }

    /** Whether {@link BatchView#hidden()} must be filled with hidden states at the chosen layer. */
    default boolean needsHiddenLayer() {
        return false;
    }

    /** Which alternative batch {@link TermInputs#alternative()} must hold. */
    default Alternative alternative() {
        return Alternative.NONE;
    }

    /**
     * The term's unnormalized sum over this micro-batch (a 0-d array on the autograd path, attached
     * to the manager of the input logits) and the count it is to be divided by once all partitions'
     * sums and counts have been added up.
     */
    TermValue compute(TermInputs in);
}
