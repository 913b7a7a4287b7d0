package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** npo: (2/beta) * softplus(-beta (NLL_theta - NLL_ref)) per forget sequence, i.e. -(2/beta) log sigmoid(...). */
public final class Npo implements LossTerm {

    private final double beta;

    public Npo(double beta) {
        this.beta = beta;
    }

    @Override
    public String name() {
        return "npo";
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
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray ref = b.requireRefLogits(name()).stopGradient();
        // NLL_theta - NLL_ref = logp_ref - logp_theta (summed answer log-probs).
        NDArray diff = LossMath.sequenceLogProbs(ref, b.labels())
                .sub(LossMath.sequenceLogProbs(b.logits(), b.labels()));
        NDArray perSeq = LossMath.negLogSigmoid(LossMath.times(diff, beta));
        return new TermValue(LossMath.times(perSeq.sum(), 2 / beta), LossMath.rows(b.labels()));
    }
}
