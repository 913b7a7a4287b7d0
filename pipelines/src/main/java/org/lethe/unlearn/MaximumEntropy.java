package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import org.lethe.model.Scalars;

/** me: KL(uniform || p_theta) = -log V - (1/V) sum_k log p_k at each covered position of forget data. */
public final class MaximumEntropy implements LossTerm {

    private final Positions positions;

    public MaximumEntropy(Positions positions) {
        this.positions = positions;
    }

    @Override
    public String name() {
        return "me";
    }

    @Override
    public CountBasis countBasis() {
        return positions.countBasis();
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray logp = LossMath.predicting(b.logits()).logSoftmax(-1);
        long vocab = logp.getShape().get(2);
        NDArray kl = logp.mean(new int[] {-1}).neg()
                .sub(Scalars.like(logp, Math.log(vocab)));
        NDArray mask = positions.mask(b);
        return new TermValue(kl.mul(mask).sum(), LossMath.count(mask));
    }
}
