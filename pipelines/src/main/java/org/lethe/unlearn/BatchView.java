package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/**
 * One right-padded sequence batch as a loss term sees it: the policy's float32 logits (B, T, V),
 * labels (B, T) with -100 on non-targets (logits[:, t] predicts labels[:, t + 1]), the attention
 * mask (B, T), and optionally the reference model's logits and hidden states of policy and reference
 * at the chosen layer (B, T, H); optional fields are null when absent.
 */
public record BatchView(NDArray logits, NDArray labels, NDArray mask, NDArray refLogits,
        NDArray hidden, NDArray refHidden) {

    /** A view with only the policy's logits. */
    public static BatchView of(NDArray logits, NDArray labels, NDArray mask) {
        return new BatchView(logits, labels, mask, null, null, null);
    }

    /** This view with the reference model's logits (treated as constants). */
    public BatchView withRefLogits(NDArray ref) {
        return new BatchView(logits, labels, mask, ref, hidden, refHidden);
    }

    /** This view with hidden states of the policy and (possibly null) reference at one layer. */
    public BatchView withHidden(NDArray policy, NDArray ref) {
        return new BatchView(logits, labels, mask, refLogits, policy, ref);
    }

    NDArray requireRefLogits(String term) {
        return require(refLogits, term, "the reference model's logits");
    }

    NDArray requireHidden(String term) {
        return require(hidden, term, "the policy's hidden states");
    }

    NDArray requireRefHidden(String term) {
        return require(refHidden, term, "the reference model's hidden states");
    }

    private static NDArray require(NDArray a, String term, String what) {
        if (a == null) {
            throw new IllegalArgumentException("loss term '" + term + "' needs " + what);
        }
        return a;
    }
}
