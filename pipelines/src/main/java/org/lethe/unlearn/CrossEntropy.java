package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/**
 * Mean answer-token cross-entropy of one batch: retain {@code nll} on the retain batch, forget
 * {@code idk} on the refusal batch, retain {@code mismatch} on forget questions with retain answers.
 */
public final class CrossEntropy implements LossTerm {

    private final String name;
    private final Alternative source;

    /** @param source NONE to read the term's own batch, otherwise the alternative batch it reads */
    public CrossEntropy(String name, Alternative source) {
        this.name = name;
        this.source = source;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CountBasis countBasis() {
        return CountBasis.ANSWER_TARGETS;
    }

    @Override
    public boolean countsAlternative() {
        return source != Alternative.NONE;
    }

    @Override
    public boolean readsOwnBatch() {
        return source == Alternative.NONE;
    }

    @Override
    public Alternative alternative() {
        return source;
    }

    @Override
    public TermValue compute(TermInputs in) {
        BatchView b = source == Alternative.NONE ? in.batch() : in.requireAlternative(name);
        NDArray valid = LossMath.answerMask(b.labels());
        NDArray sum = LossMath.targetLogProbs(b.logits(), b.labels()).mul(valid).sum().neg();
        return new TermValue(sum, LossMath.count(valid));
    }
}
