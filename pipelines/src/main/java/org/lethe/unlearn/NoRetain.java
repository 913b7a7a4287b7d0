package org.lethe.unlearn;

import ai.djl.ndarray.types.Shape;

/** none: no retain loss; a zero sum with a zero count. */
public final class NoRetain implements LossTerm {

    @Override
    public String name() {
        return "none";
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.NOTHING;
    }

    @Override
    public TermValue compute(TermInputs in) {
        return new TermValue(in.batch().logits().getManager().zeros(new Shape()), 0);
    }
}
