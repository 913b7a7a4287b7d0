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
    public Normalization normalization() {
        return Normalization.TOKENS;
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
        NDArray ref = Tokens.predicting(b.requireRefLogits(name())).stopGradient();
        int vocab = (int) ref.getShape().get(2);
        NDArray oneHot = Tokens.safeTargets(b.labels()).oneHot(vocab, DataType.FLOAT32);
        NDArray target = ref.sub(Tokens.times(oneHot, beta)).softmax(-1).stopGradient();
        NDArray ce = Tokens.predicting(b.logits()).logSoftmax(-1).mul(target).sum(new int[] {-1}).neg();
        NDArray valid = Tokens.answerMask(b.labels());
        return new TermValue(ce.mul(valid).sum(), Tokens.count(valid), Normalization.TOKENS);
    }
}
