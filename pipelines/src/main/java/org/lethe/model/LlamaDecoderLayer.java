package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** One pre-norm decoder layer: attention and SwiGLU MLP, each around a residual connection. */
public final class LlamaDecoderLayer extends ShapePreservingBlock {

    final RmsNorm inputLayernorm;
    final LlamaAttention selfAttn;
    final RmsNorm postAttentionLayernorm;
    final LlamaMlp mlp;
    private final int index;

    LlamaDecoderLayer(LlamaConfig c, int index) {
        this.index = index;
        inputLayernorm = addChildBlock("input_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
        selfAttn = addChildBlock("self_attn", new LlamaAttention(c));
        postAttentionLayernorm = addChildBlock(
                "post_attention_layernorm", new RmsNorm(c.hiddenSize(), c.rmsNormEps()));
        mlp = addChildBlock("mlp", new LlamaMlp(c));
    }

    /** Runs the layer; see {@link LlamaAttention#forward} for the arguments. */
    public NDArray forward(ParameterStore ps, NDArray x, NDArray cos, NDArray sin, NDArray bias,
            KvCache cache, boolean training) {
        NDArray attn = selfAttn.forward(
                ps, inputLayernorm.forward(ps, x, training), cos, sin, bias, cache, index, training);
        NDArray h = x.add(attn);
        return h.add(mlp.forward(ps, postAttentionLayernorm.forward(ps, h, training), training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        return new NDList(forward(ps, in.get(0), in.get(1), in.get(2), in.get(3), null, training));
    }
}
