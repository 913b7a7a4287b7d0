package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import org.lethe.model.Scalars;

/** simnpo: -(2/beta) log sigmoid(beta (NLL_theta / |a| - delta)) per forget sequence, without a reference model. */
public final class SimNpo implements LossTerm {

    private final double beta;
    private final double delta;

    public SimNpo(double beta, double delta) {
        this.beta = beta;
        this.delta = delta;
    }

    @Override
    public String name() {
        return "simnpo";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ROWS;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray valid = LossMath.answerMask(b.labels());
        NDArray nll = LossMath.targetLogProbs(b.logits(), b.labels()).mul(valid).sum(new int[] {1}).neg();
        // A row without answer tokens has NLL 0; dividing by 1 keeps it finite instead of 0/0.
        NDArray lengths = valid.sum(new int[] {1}).maximum(Scalars.like(valid, 1));
        NDArray x = nll.div(lengths).sub(Scalars.like(nll, delta));
        NDArray perSeq = LossMath.negLogSigmoid(LossMath.times(x, beta));
        return new TermValue(LossMath.times(perSeq.sum(), 2 / beta), LossMath.rows(b.labels()));
    }
}
