package org.lethe.model.io;

import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a safetensors header says about one tensor: its name, element type, shape and size in
 * bytes.
 *
 * @param name the tensor's name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype the safetensors type name as written in the header, e.g. {@code BF16}
 * @param shape the dimensions, outermost first (row-major); empty for a scalar
 * @param byteSize the size of the tensor's data in the file
 */
public record TensorInfo(String name, String dtype, long[] shape, long byteSize) {

    /** Copies the shape so the record stays immutable. */
    public TensorInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /** The dimensions, outermost first; a copy, so callers may change it. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The shape as a DJL {@link Shape}. */
    public Shape djlShape() {
        return new Shape(shape);
    }

    /** The number of elements (1 for a scalar). */
    public long numElements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && dtype.equals(t.dtype)
                && Arrays.equals(shape, t.shape)
                && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), byteSize);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " (" + byteSize + " bytes)";
    }
}
