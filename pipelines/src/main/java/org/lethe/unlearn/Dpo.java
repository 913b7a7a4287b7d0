package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/**
 * dpo: -(2/beta) log sigmoid(beta [(logp(idk) - logp(a)) - (logp_ref(idk) - logp_ref(a))]) per forget
 * sequence, the refusal preferred over the forget answer.
 */
public final class Dpo implements LossTerm {

    private final double beta;

    public Dpo(double beta) {
        this.beta = beta;
    }

    @Override
    public String name() {
        return "dpo";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ROWS;
    }

    @Override
    public boolean needsRefModel() {
        return true;
    }

    @Override
    public Alternative alternative() {
        return Alternative.REFUSAL;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView lose = in.batch();
        BatchView win = in.requireAlternative(name());
        NDArray policy = LossMath.sequenceLogProbs(win.logits(), win.labels())
                .sub(LossMath.sequenceLogProbs(lose.logits(), lose.labels()));
        NDArray ref = LossMath.sequenceLogProbs(win.requireRefLogits(name()).stopGradient(), win.labels())
                .sub(LossMath.sequenceLogProbs(lose.requireRefLogits(name()).stopGradient(), lose.labels()));
        NDArray perSeq = LossMath.negLogSigmoid(LossMath.times(policy.sub(ref), beta));
        return new TermValue(LossMath.times(perSeq.sum(), 2 / beta), LossMath.rows(lose.labels()));
    }
}
