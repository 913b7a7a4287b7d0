package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Root-mean-square layer normalization as in Llama (statistics in float32, no mean centring). */
public final class RmsNorm extends ShapePreservingBlock {

    private final Parameter weight;
    private final float eps;

    RmsNorm(int size, double eps) {
        this.eps = (float) eps;
        this.weight = addParameter(Parameter.builder()
                .setName("weight")
                .setType(Parameter.Type.GAMMA)
                .optShape(new Shape(size))
                .build());
    }

    Parameter weight() {
        return weight;
    }

    /** Normalizes the last axis of {@code x} and scales it by the learned weight. */
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray w = ps.getValue(weight, x.getDevice(), training);
        NDArray xf = x.toType(DataType.FLOAT32, false);
        NDArray variance = xf.square().mean(new int[] {-1}, true);
        NDArray normed = xf.div(variance.add(eps).sqrt());
        return w.getDataType() == DataType.FLOAT32 && x.getDataType() == DataType.FLOAT32
                ? normed.mul(w)
                : normed.toType(x.getDataType(), false).mul(w);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
