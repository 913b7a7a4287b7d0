package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import org.lethe.model.Scalars;

/** satimp: -p_t^b1 (1 - p_t)^b2 CE_t summed over forget answer tokens, p_t held constant. */
public final class SatImp implements LossTerm {

    private final double beta1;
    private final double beta2;

    public SatImp(double beta1, double beta2) {
        this.beta1 = beta1;
        this.beta2 = beta2;
    }

    @Override
    public String name() {
        return "satimp";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray logp = LossMath.targetLogProbs(b.logits(), b.labels());
        NDArray p = logp.stopGradient().exp();
        NDArray weight = p.pow(Scalars.like(p, beta1))
                .mul(Scalars.like(p, 1).sub(p).pow(Scalars.like(p, beta2))).stopGradient();
        NDArray valid = LossMath.answerMask(b.labels());
        return new TermValue(logp.mul(weight).mul(valid).sum(), LossMath.count(valid));
    }
}
