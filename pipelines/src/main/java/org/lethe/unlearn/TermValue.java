package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import org.lethe.model.Scalars;

/** An unnormalized loss sum with the count (in {@code unit}) that normalizes it. */
public record TermValue(NDArray sum, long count, Normalization unit) {

    /**
     * {@code sum / count}, on the autograd path; a zero count (a batch with nothing to score, or
     * the {@code none} retain term) yields the sum itself, which is then zero.
     */
    public NDArray mean() {
        if (count == 0) {
            return sum;
        }
        return sum.div(Scalars.like(sum, count));
    }
}
