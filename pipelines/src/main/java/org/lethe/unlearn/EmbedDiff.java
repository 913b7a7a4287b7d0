package org.lethe.unlearn;

/** embed_diff: squared distance of the policy's hidden states to the reference's at the retain answer tokens. */
public final class EmbedDiff implements LossTerm {

    @Override
    public String name() {
        return "embed_diff";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.LABEL_TOKENS_TIMES_HIDDEN;
    }

    @Override
    public boolean needsRefModel() {
        return true;
    }

    @Override
    public boolean needsHiddenLayer() {
        return true;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = in.batch();
        return LossMath.maskedSquaredError(b.requireHidden(name()), b.requireRefHidden(name()).stopGradient(),
                b.labels());
    }
}
