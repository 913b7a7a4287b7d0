package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** The SwiGLU feed-forward block: {@code down(silu(gate(x)) * up(x))}. */
public final class LlamaMlp extends ShapePreservingBlock {

    final Projection gate;
    final Projection up;
    final Projection down;

    LlamaMlp(LlamaConfig c) {
        int h = c.hiddenSize();
        int f = c.intermediateSize();
        boolean b = c.mlpBias();
        gate = new Projection(addParameter(Projection.weightParam("gate_proj", f, h)),
                b ? addParameter(Projection.biasParam("gate_proj", f)) : null);
        up = new Projection(addParameter(Projection.weightParam("up_proj", f, h)),
                b ? addParameter(Projection.biasParam("up_proj", f)) : null);
        down = new Projection(addParameter(Projection.weightParam("down_proj", h, f)),
                b ? addParameter(Projection.biasParam("down_proj", h)) : null);
    }

    /** Applies the block to (batch, seq, hidden) activations. */
    public NDArray forward(ParameterStore ps, NDArray x, boolean training) {
        NDArray g = gate.apply(ps, x, training);
        NDArray activated = g.mul(Activation.sigmoid(g));
        return down.apply(ps, activated.mul(up.apply(ps, x, training)), training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, inputs.singletonOrThrow(), training));
    }
}
