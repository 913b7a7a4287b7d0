package org.lethe.unlearn;

/**
 * What a loss term reads for one micro-batch: its own batch (forget data for forget terms, retain
 * data for retain terms) and, for terms that ask for one, the alternative batch (see
 * {@link Alternative}) with the same rows in the same order.
 */
public record TermInputs(BatchView batch, BatchView alternative) {

    /** Inputs without an alternative batch. */
    public static TermInputs of(BatchView batch) {
        return new TermInputs(batch, null);
    }

    BatchView requireAlternative(String term) {
        if (alternative == null) {
            throw new IllegalArgumentException("loss term '" + term + "' needs an alternative batch");
        }
        if (batch != null && alternative.labels().getShape().get(0) != batch.labels().getShape().get(0)) {
            throw new IllegalArgumentException("loss term '" + term + "': alternative batch has "
                    + alternative.labels().getShape().get(0) + " rows, batch has "
                    + batch.labels().getShape().get(0));
        }
        return alternative;
    }
}
