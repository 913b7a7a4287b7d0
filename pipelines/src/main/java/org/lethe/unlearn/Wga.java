package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** wga: -p_t^beta * CE_t summed over forget answer tokens, p_t = exp(-CE_t) held constant. */
public final class Wga implements LossTerm {

    private final double beta;

    public Wga(double beta) {
        this.beta = beta;
    }

    @Override
    public String name() {
        return "wga";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray logp = LossMath.targetLogProbs(b.logits(), b.labels());
        // p^beta = exp(beta * log p), detached: the weight only scales the gradient of log p.
        NDArray weight = LossMath.times(logp.stopGradient(), beta).exp();
        NDArray valid = LossMath.answerMask(b.labels());
        // -(w * CE) = w * log p.
        return new TermValue(logp.mul(weight).mul(valid).sum(), LossMath.count(valid));
    }
}
