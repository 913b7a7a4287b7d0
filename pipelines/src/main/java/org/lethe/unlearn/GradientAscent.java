package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** ga: minus the mean answer-token cross-entropy on forget data; the sum is the summed answer log-probability. */
public final class GradientAscent implements LossTerm {

    @Override
    public String name() {
        return "ga";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray valid = LossMath.answerMask(b.labels());
        // -CE = mean log p; the sum of log-probs divided by the token count is exactly that.
        NDArray sum = LossMath.targetLogProbs(b.logits(), b.labels()).mul(valid).sum();
        return new TermValue(sum, LossMath.count(valid));
    }
}
