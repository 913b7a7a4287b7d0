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
    public Normalization normalization() {
        return Normalization.SEQUENCES;
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
        NDArray diff = Tokens.sequenceLogProbs(ref, b.labels())
                .sub(Tokens.sequenceLogProbs(b.logits(), b.labels()));
        NDArray perSeq = Tokens.negLogSigmoid(Tokens.times(diff, beta));
        return new TermValue(Tokens.times(perSeq.sum(), 2 / beta), Tokens.rows(b.labels()), Normalization.SEQUENCES);
    }
}
