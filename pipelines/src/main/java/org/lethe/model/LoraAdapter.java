package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

/**
 * The low-rank update of one projection, {@code scale * (x A^T) B^T}, with A (rank x in) and B
 * (out x rank) as PEFT's {@code lora_A} / {@code lora_B}.
 */
final class LoraAdapter {

    final Parameter a;
    final Parameter b;
    final double scale;

    LoraAdapter(Parameter a, Parameter b, double scale) {
        this.a = a;
        this.b = b;
        this.scale = scale;
    }

    /** The update for activations {@code x}; attached to x's manager, like every per-call result. */
    NDArray apply(ParameterStore ps, NDArray x, boolean training) {
        NDArray down = Linear.linear(x, ps.getValue(a, x.getDevice(), training)).singletonOrThrow();
        NDArray up = Linear.linear(down, ps.getValue(b, x.getDevice(), training)).singletonOrThrow();
        // A torch-allocated scalar: autograd keeps it for the backward pass (see Scalars).
        return up.mul(Scalars.like(up, scale));
    }

    /** {@code scale * B A} (out x in) in the manager of B's array: what merging adds to W. */
    NDArray delta() {
        NDArray product = b.getArray().matMul(a.getArray());
        return product.mul(Scalars.like(product, scale));
    }
}
