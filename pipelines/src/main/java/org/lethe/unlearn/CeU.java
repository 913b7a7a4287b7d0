package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import org.lethe.model.Scalars;

/**
 * ce_u: cross-entropy of the policy against the softmax of its own detached logits with the true
 * token's logit set to a large negative value, at forget answer tokens except the first of each
 * answer span.
 */
public final class CeU implements LossTerm {

    /** Stands in for -inf: finite in float32 so 0 * it stays 0 and softmax has no NaN. */
    static final double MASKED_LOGIT = -1e9;

    @Override
    public String name() {
        return "ce_u";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS_AFTER_FIRST;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray predicting = LossMath.predicting(b.logits());
        NDArray fixed = predicting.stopGradient();
        int vocab = (int) fixed.getShape().get(2);
        NDArray oneHot = LossMath.safeTargets(b.labels()).oneHot(vocab, DataType.FLOAT32);
        // Replace the true logit: keep the others, put MASKED_LOGIT where oneHot is 1.
        NDArray target = fixed.mul(LossMath.times(oneHot, -1).add(Scalars.like(fixed, 1)))
                .add(LossMath.times(oneHot, MASKED_LOGIT)).softmax(-1).stopGradient();
        NDArray ce = predicting.logSoftmax(-1).mul(target).sum(new int[] {-1}).neg();
        // Skip the first token of each answer span: a target whose own position is also a target.
        NDArray labels = b.labels();
        long t = labels.getShape().get(1);
        NDArray previousIsTarget = labels.get(":, :{}", t - 1).neq(LossMath.IGNORE).toType(DataType.FLOAT32, false);
        NDArray valid = LossMath.answerMask(labels).mul(previousIsTarget);
        return new TermValue(ce.mul(valid).sum(), LossMath.count(valid));
    }
}
