package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** ap: -(1/beta) log sigmoid(beta [NLL(idk | q_r) - NLL(a_r | q_r)]) per retain sequence: prefer answering over refusing. */
public final class Ap implements LossTerm {

    private final double beta;

    public Ap(double beta) {
        this.beta = beta;
    }

    @Override
    public String name() {
        return "ap";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ROWS;
    }

    @Override
    public Alternative alternative() {
        return Alternative.REFUSAL;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView answer = in.batch();
        BatchView refusal = in.requireAlternative(name());
        // NLL(idk) - NLL(a) = logp(a) - logp(idk).
        NDArray x = LossMath.sequenceLogProbs(answer.logits(), answer.labels())
                .sub(LossMath.sequenceLogProbs(refusal.logits(), refusal.labels()));
        NDArray perSeq = LossMath.negLogSigmoid(LossMath.times(x, beta));
        return new TermValue(LossMath.times(perSeq.sum(), 1 / beta), LossMath.rows(answer.labels()));
    }
}
