package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Scalar tensors for arithmetic on the autograd path.
 *
 * <p>DJL's {@code x.mul(2f)} creates the scalar from a Java direct buffer (torch {@code from_blob})
 * and closes it as soon as the op returns. When autograd saved that scalar for the backward pass
 * (mul, div), a garbage collection before backward frees the buffer and the gradient reads freed
 * memory: silently wrong, run-to-run different gradients. Scalars made here are allocated by
 * torch itself and live in the operand's manager until it closes.
 */
public final class Scalars {

    private Scalars() {}

    /** A 0-d tensor holding {@code value}, with {@code like}'s dtype, device and manager. */
    public static NDArray like(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType());
    }
}
