package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/** kl: KL(p_ref || p_theta) = sum_k p_ref (log p_ref - log p_theta) at each covered retain position. */
public final class Kl implements LossTerm {

    private final Positions positions;

    public Kl(Positions positions) {
        this.positions = positions;
    }

    @Override
    public String name() {
        return "kl";
    }

    @Override
    public CountBasis countBasis() {
        return positions.countBasis();
    }

    @Override
    public boolean needsRefModel() {
        return true;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        NDArray refLogp = LossMath.predicting(b.requireRefLogits(name())).stopGradient().logSoftmax(-1);
        NDArray logp = LossMath.predicting(b.logits()).logSoftmax(-1);
        NDArray kl = refLogp.exp().mul(refLogp.sub(logp)).sum(new int[] {-1});
        NDArray mask = positions.mask(b);
        return new TermValue(kl.mul(mask).sum(), LossMath.count(mask));
    }
}
