package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;

/**
 * A bias-optional linear map {@code y = x W^T + b} whose parameters belong to the enclosing block,
 * so they carry the Hugging Face names ({@code q_proj.weight}, ...), plus an optional low-rank
 * adapter added to its output.
 */
final class Projection {

    final Parameter weight;
    final Parameter bias;
    /** The attached LoRA adapter, or null. */
    LoraAdapter lora;

    Projection(Parameter weight, Parameter bias) {
        this.weight = weight;
        this.bias = bias;
    }

    static Parameter weightParam(String name, long out, long in) {
        return Parameter.builder()
                .setName(name + ".weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(out, in))
                .build();
    }

    static Parameter biasParam(String name, long out) {
        return Parameter.builder()
                .setName(name + ".bias")
                .setType(Parameter.Type.BIAS)
                .optShape(new Shape(out))
                .build();
    }

    NDArray apply(ParameterStore ps, NDArray x, boolean training) {
        NDArray w = ps.getValue(weight, x.getDevice(), training);
        // Linear.linear attaches its result to the input's manager, never to the parameter's.
        NDArray y = bias == null
                ? Linear.linear(x, w).singletonOrThrow()
                : Linear.linear(x, w, ps.getValue(bias, x.getDevice(), training)).singletonOrThrow();
        return lora == null ? y : y.add(lora.apply(ps, x, training));
    }

    /** Input and output widths: the weight is (out, in). */
    long inFeatures() {
        return weight.getShape().get(1);
    }

    long outFeatures() {
        return weight.getShape().get(0);
    }
}
