package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Llama decoder as a DJL block: token embedding, decoder layers, final RMSNorm and a tied or
 * untied LM head. Its parameters are addressable by their Hugging Face names; optional LoRA
 * adapters on the projections are addressable by their PEFT names.
 */
public final class LlamaBlock extends AbstractBlock {

    /** Additive attention mask value: exp(-1e9) underflows to exactly 0 in float32 softmax. */
    private static final float MASKED = -1e9f;
    /** What PEFT's state dict puts before a module's HF path (PeftModel -> LoraModel -> model). */
    static final String PEFT_PREFIX = "base_model.model.";

    private final LlamaConfig config;
    private final Parameter embedTokens;
    private final List<LlamaDecoderLayer> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final Parameter lmHead;
    private final LinkedHashMap<String, Parameter> byHfName = new LinkedHashMap<>();
    /** Every projection by its HF module path (model.layers.0.self_attn.q_proj), in PEFT order. */
    private final LinkedHashMap<String, Projection> projections = new LinkedHashMap<>();
    private final LinkedHashMap<String, Parameter> loraByPeftName = new LinkedHashMap<>();
    private LoraSettings lora;
    private NDArray invFreq;

    /** Builds the (uninitialized) architecture for a configuration. */
    public LlamaBlock(LlamaConfig config) {
        this.config = config;
        embedTokens = addParameter(Parameter.builder()
                .setName("embed_tokens.weight")
                .setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(config.vocabSize(), config.hiddenSize()))
                .build());
        byHfName.put("model.embed_tokens.weight", embedTokens);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            LlamaDecoderLayer layer = addChildBlock("layers." + i, new LlamaDecoderLayer(config, i));
            layers.add(layer);
            String p = "model.layers." + i + ".";
            register(p + "self_attn.", layer.selfAttn.q, "q_proj");
            register(p + "self_attn.", layer.selfAttn.k, "k_proj");
            register(p + "self_attn.", layer.selfAttn.v, "v_proj");
            register(p + "self_attn.", layer.selfAttn.o, "o_proj");
            register(p + "mlp.", layer.mlp.gate, "gate_proj");
            register(p + "mlp.", layer.mlp.up, "up_proj");
            register(p + "mlp.", layer.mlp.down, "down_proj");
            byHfName.put(p + "input_layernorm.weight", layer.inputLayernorm.weight());
            byHfName.put(p + "post_attention_layernorm.weight", layer.postAttentionLayernorm.weight());
        }
        norm = addChildBlock("norm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
        byHfName.put("model.norm.weight", norm.weight());
        if (config.tieWordEmbeddings()) {
            lmHead = null;
        } else {
            lmHead = addParameter(Parameter.builder()
                    .setName("lm_head.weight")
                    .setType(Parameter.Type.WEIGHT)
                    .optShape(new Shape(config.vocabSize(), config.hiddenSize()))
                    .build());
            byHfName.put("lm_head.weight", lmHead);
        }
    }

    private void register(String prefix, Projection p, String name) {
        projections.put(prefix + name, p);
        byHfName.put(prefix + name + ".weight", p.weight);
        if (p.bias != null) {
            byHfName.put(prefix + name + ".bias", p.bias);
        }
    }

    /** The configuration this block was built for. */
    public LlamaConfig config() {
        return config;
    }

    /** Every base-model parameter by its Hugging Face name, in checkpoint order. */
    public Map<String, Parameter> hfParameters() {
        return Collections.unmodifiableMap(byHfName);
    }

    /**
     * The parameters training updates: {@link #hfParameters()} for a plain model; with LoRA
     * attached only the adapters, by PEFT name
     * ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight}, then its
     * {@code lora_B}), layer by layer in PEFT's state-dict order.
     */
    public Map<String, Parameter> trainableParameters() {
        return lora == null ? hfParameters() : Collections.unmodifiableMap(loraByPeftName);
    }

    /** The attached adapters' settings, if any. */
    public Optional<LoraSettings> loraSettings() {
        return Optional.ofNullable(lora);
    }

    /** The PEFT name of the A ({@code a == true}) or B matrix of the projection at {@code module}. */
    static String loraName(String module, boolean a) {
        return PEFT_PREFIX + module + (a ? ".lora_A.weight" : ".lora_B.weight");
    }

    /**
     * The shape of every adapter matrix {@code settings} asks for, by PEFT name in PEFT order:
     * A is (rank, in), B is (out, rank). Needs no arrays, so adapters can be checked before any
     * weight is read.
     */
    Map<String, Shape> loraShapes(LoraSettings settings) {
        LinkedHashMap<String, Shape> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, Projection> e : projections.entrySet()) {
            if (settings.targets(kind(e.getKey()))) {
                Projection p = e.getValue();
                shapes.put(loraName(e.getKey(), true), new Shape(settings.rank(), p.inFeatures()));
                shapes.put(loraName(e.getKey(), false), new Shape(p.outFeatures(), settings.rank()));
            }
        }
        return shapes;
    }

    private static String kind(String module) {
        return module.substring(module.lastIndexOf('.') + 1);
    }

    /**
     * Attaches adapters and freezes the base: {@code arrays} holds one array per name of
     * {@link #loraShapes} (ownership passes to the adapter parameters, which require gradients);
     * every base parameter stops requiring gradients, so backward passes compute none for it.
     */
    void attachLora(LoraSettings settings, NDManager manager, Map<String, NDArray> arrays) {
        if (lora != null) {
            throw new IllegalStateException("a LoRA adapter is already attached (" + lora + ")");
        }
        Map<String, Shape> shapes = loraShapes(settings);
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            NDArray a = arrays.get(e.getKey());
            if (a == null || !a.getShape().equals(e.getValue())) {
                throw new IllegalArgumentException("LoRA array '" + e.getKey() + "' is "
                        + (a == null ? "missing" : "of shape " + a.getShape()) + ", expected " + e.getValue());
            }
        }
        for (Map.Entry<String, Projection> e : projections.entrySet()) {
            if (settings.targets(kind(e.getKey()))) {
                Parameter a = loraParameter(loraName(e.getKey(), true), arrays, manager);
                Parameter b = loraParameter(loraName(e.getKey(), false), arrays, manager);
                loraByPeftName.put(a.getName(), a);
                loraByPeftName.put(b.getName(), b);
                e.getValue().lora = new LoraAdapter(a, b, settings.scale());
            }
        }
        for (Parameter p : byHfName.values()) {
            p.freeze(true);
        }
        lora = settings;
    }

    private static Parameter loraParameter(String name, Map<String, NDArray> arrays, NDManager manager) {
        NDArray array = arrays.get(name);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT)
                .optShape(array.getShape()).optInitializer((m, shape, type) -> array).build();
        p.initialize(manager, array.getDataType());
        return p;
    }

    /**
     * Folds every adapter into its base weight ({@code W += scale * B A}, as PEFT's
     * merge_and_unload) and detaches the adapters: the block is a plain model again, every base
     * parameter trainable. The adapter arrays are not closed (their manager belongs to the caller).
     */
    void mergeLora() {
        if (lora == null) {
            throw new IllegalStateException("no LoRA adapter is attached");
        }
        for (Projection p : projections.values()) {
            if (p.lora != null) {
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    p.weight.getArray().addi(p.lora.delta());
                }
            }
        }
        for (Projection p : projections.values()) {
            p.lora = null;
        }
        loraByPeftName.clear();
        lora = null;
        for (Parameter p : byHfName.values()) {
            p.freeze(false);
        }
    }

    /**
     * Gives every parameter its array and creates the rotary tables' inverse frequencies on the
     * manager's device. {@code arrays} must hold one array per HF name, already in the compute
     * dtype; ownership passes to the parameters.
     */
    void bind(NDManager manager, Map<String, NDArray> arrays) {
        for (Map.Entry<String, Parameter> e : byHfName.entrySet()) {
            NDArray a = arrays.get(e.getKey());
            if (a == null) {
                throw new IllegalArgumentException("no array for parameter " + e.getKey());
            }
            e.getValue().setInitializer((m, shape, type) -> a);
            e.getValue().initialize(manager, a.getDataType());
        }
        invFreq = Rope.inverseFrequencies(manager, config);
    }

    /** Number of parameters (tied embeddings counted once). */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : byHfName.values()) {
            n += p.getShape().size();
        }
        return n;
    }

    /**
     * Final hidden states (batch, seq, hidden) for a batch of token ids.
     *
     * @param ids (batch, seq) int64 token ids
     * @param positions (batch, seq) int64 position ids
     * @param keyMask (batch, past + seq) 1 for real tokens, 0 for padding (int or float)
     * @param cache KV cache to use and extend, or null for a stateless pass
     */
    public NDArray hiddenStates(ParameterStore ps, NDArray ids, NDArray positions, NDArray keyMask,
            KvCache cache, boolean training) {
        return norm.forward(ps, run(ps, ids, positions, keyMask, cache, layers.size(), training), training);
    }

    /**
     * The output (residual stream, before any norm) of decoder layer {@code layer} (0-based), as
     * HF's {@code hidden_states[layer + 1]}; only the layers up to it run. RMU steers it.
     */
    public NDArray layerOutput(ParameterStore ps, NDArray ids, NDArray positions, NDArray keyMask, int layer,
            boolean training) {
        if (layer < 0 || layer >= layers.size()) {
            throw new IllegalArgumentException("layer " + layer + " is outside the model's "
                    + layers.size() + " decoder layers (0.." + (layers.size() - 1) + ")");
        }
        return run(ps, ids, positions, keyMask, null, layer + 1, training);
    }

    private NDArray run(ParameterStore ps, NDArray ids, NDArray positions, NDArray keyMask, KvCache cache,
            int upTo, boolean training) {
        NDArray w = ps.getValue(embedTokens, ids.getDevice(), training);
        NDArray h = Embedding.embedding(ids, w, SparseFormat.DENSE).singletonOrThrow();
        NDList cosSin;
        NDArray bias;
        if (KvCache.isStep(cache, ids.getShape().get(1))) {
            // One new token: tables gathered from the cache's, a bias from the mask alone.
            checkMaskWidth(keyMask, cache.pastLength(), 1);
            bias = cache.stepBias(keyMask, ids.getManager());
            cosSin = cache.stepRope(positions, invFreq, config, w.getDataType(), ids.getManager());
        } else {
            cosSin = Rope.cosSin(positions, invFreq, w.getDataType());
            bias = attentionBias(ids, keyMask, cache == null ? 0 : cache.pastLength());
        }
        for (int i = 0; i < upTo; i++) {
            h = layers.get(i).forward(ps, h, cosSin.get(0), cosSin.get(1), bias, cache, training);
        }
        return h;
    }

    /** The final RMSNorm applied to a last-layer output (what {@link #hiddenStates} returns). */
    public NDArray finalNorm(ParameterStore ps, NDArray lastLayerOutput, boolean training) {
        return norm.forward(ps, lastLayerOutput, training);
    }

    /** Logits (batch, seq, vocab) from final hidden states, in float32. */
    public NDArray logits(ParameterStore ps, NDArray hidden, boolean training) {
        Parameter head = lmHead == null ? embedTokens : lmHead;
        NDArray w = ps.getValue(head, hidden.getDevice(), training);
        return Linear.linear(hidden, w).singletonOrThrow().toType(DataType.FLOAT32, false);
    }

    /** Logits (batch, seq, vocab) for token ids; see {@link #hiddenStates}. */
    public NDArray logits(ParameterStore ps, NDArray ids, NDArray positions, NDArray keyMask,
            KvCache cache, boolean training) {
        return logits(ps, hiddenStates(ps, ids, positions, keyMask, cache, training), training);
    }

    /** Causal + key-padding mask as an additive float32 bias (batch, 1, seq, past + seq). */
    private static NDArray attentionBias(NDArray ids, NDArray keyMask, long past) {
        NDManager m = ids.getManager();
        long batch = ids.getShape().get(0);
        long seq = ids.getShape().get(1);
        long total = past + seq;
        checkMaskWidth(keyMask, past, seq);
        NDArray keyPos = m.arange(0f, (float) total).reshape(1, 1, 1, total);
        NDArray queryPos = m.arange((float) past, (float) total).reshape(1, 1, seq, 1);
        NDArray allowed = keyPos.lte(queryPos)
                .logicalAnd(keyMask.reshape(batch, 1, 1, total).gt(0));
        return allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-MASKED);
    }

    private static void checkMaskWidth(NDArray keyMask, long past, long seq) {
        if (keyMask.getShape().get(1) != past + seq) {
            throw new IllegalArgumentException("attention mask covers " + keyMask.getShape().get(1)
                    + " positions, expected past (" + past + ") + new (" + seq + ") = " + (past + seq));
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList in, boolean training, PairList<String, Object> params) {
        return new NDList(logits(ps, in.get(0), in.get(1), in.get(2), null, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape ids = inputShapes[0];
        return new Shape[] {new Shape(ids.get(0), ids.get(1), config.vocabSize())};
    }

    /** Releases the non-parameter buffers; parameters are closed with their manager. */
    void closeBuffers() {
        if (invFreq != null) {
            invFreq.close();
            invFreq = null;
        }
    }
}
