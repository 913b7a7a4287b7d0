package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;

/**
 * An unnormalized loss sum with its count (what the term's {@link CountBasis} counts): nothing
 * divides here, because {@link LossObjective} divides by the count of the whole step, summed over
 * every partition.
 */
public record TermValue(NDArray sum, long count) {}
