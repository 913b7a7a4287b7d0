package org.lethe.eval;

/**
 * Per-sample memorization of a target answer under teacher forcing: exact memorization and
 * extraction strength (open-unlearning's {@code exact_memorization} and {@code extraction_strength}).
 * Inputs are, for each answer token, the model's argmax prediction given the true prefix and the label.
 */
public final class Memorization {

    private Memorization() {}

    /** The fraction of answer positions where the argmax prediction equals the label. */
    public static double exactMemorization(long[] predictions, long[] labels) {
        check(predictions, labels);
        int equal = 0;
        for (int i = 0; i < labels.length; i++) {
            if (predictions[i] == labels[i]) {
                equal++;
            }
        }
        return (double) equal / labels.length;
    }

    /**
     * 1 - k/|y| with k the smallest index such that {@code predictions[k:] == labels[k:]}: the share
     * of the answer the model completes on its own from a true prefix. k = |y| (strength 0) when
     * even the last token is mispredicted, as the definition's empty suffix implies; open-unlearning's
     * loop instead stops at k = |y| - 1 there and reports 1/|y|.
     */
    public static double extractionStrength(long[] predictions, long[] labels) {
        check(predictions, labels);
        int k = labels.length;
        while (k > 0 && predictions[k - 1] == labels[k - 1]) {
            k--;
        }
        return 1.0 - (double) k / labels.length;
    }

    private static void check(long[] predictions, long[] labels) {
        Args.nonEmpty(predictions, "predictions");
        Args.nonEmpty(labels, "labels");
        Args.sameLength(predictions.length, "predictions", labels.length, "labels");
    }
}
