package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * undial: cross-entropy of the policy against softmax(z_ref - beta * onehot(y)) at forget answer
 * tokens, the target being the reference's distribution with the true token pushed down (a constant).
 */
public final class Undial implements LossTerm {

    private final double beta;

    public Undial(double beta) {
        this.beta = beta;
    }

    @Override
    public String name() {
        return "undial";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS;
    }

    @Override
    public boolean needsRefModel() {
        return true;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray ref = LossMath.predicting(b.requireRefLogits(name())).stopGradient();
        int vocab = (int) ref.getShape().get(2);
        NDArray oneHot = LossMath.safeTargets(b.labels()).oneHot(vocab, DataType.FLOAT32);
        NDArray target = ref.sub(LossMath.times(oneHot, beta)).softmax(-1).stopGradient();
        NDArray ce = LossMath.predicting(b.logits()).logSoftmax(-1).mul(target).sum(new int[] {-1}).neg();
        NDArray valid = LossMath.answerMask(b.labels());
        return new TermValue(ce.mul(valid).sum(), LossMath.count(valid));
    }
}
