package org.lethe.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lethe.model.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The architecture hyper-parameters of a Llama-family causal LM, read from and written to a
 * Hugging Face {@code config.json}.
 */
public final class LlamaConfig {

    /** Rope scaling used by Llama 3.x checkpoints (HF {@code rope_type = "llama3"}). */
    public record Llama3Scaling(
            double factor,
            double lowFreqFactor,
            double highFreqFactor,
            int originalMaxPositionEmbeddings) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final int vocabSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final int maxPositionEmbeddings;
    private final double rmsNormEps;
    private final double ropeTheta;
    private final Llama3Scaling llama3Scaling;
    private final boolean tieWordEmbeddings;
    private final boolean attentionBias;
    private final boolean mlpBias;
    private final double initializerRange;
    private final int bosTokenId;
    private final int eosTokenId;
    private final Integer padTokenId;

    private LlamaConfig(Builder b) {
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.intermediateSize = b.intermediateSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.numKeyValueHeads = b.numKeyValueHeads == 0 ? b.numAttentionHeads : b.numKeyValueHeads;
        this.headDim = b.headDim == 0 ? b.hiddenSize / Math.max(1, b.numAttentionHeads) : b.headDim;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.rmsNormEps = b.rmsNormEps;
        this.ropeTheta = b.ropeTheta;
        this.llama3Scaling = b.llama3Scaling;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.attentionBias = b.attentionBias;
        this.mlpBias = b.mlpBias;
        this.initializerRange = b.initializerRange;
        this.bosTokenId = b.bosTokenId;
        this.eosTokenId = b.eosTokenId;
        this.padTokenId = b.padTokenId;
        validate("config");
    }

    private void validate(String source) {
        positive(source, "vocab_size", vocabSize);
        positive(source, "hidden_size", hiddenSize);
        positive(source, "intermediate_size", intermediateSize);
        positive(source, "num_hidden_layers", numHiddenLayers);
        positive(source, "num_attention_heads", numAttentionHeads);
        positive(source, "num_key_value_heads", numKeyValueHeads);
        positive(source, "head_dim", headDim);
        positive(source, "max_position_embeddings", maxPositionEmbeddings);
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ModelFormatException(source + ": num_attention_heads (" + numAttentionHeads
                    + ") must be a multiple of num_key_value_heads (" + numKeyValueHeads + ")");
        }
        if (headDim % 2 != 0) {
            throw new ModelFormatException(
                    source + ": head_dim must be even for rotary embeddings, got " + headDim);
        }
        if (!(rmsNormEps > 0)) {
            throw new ModelFormatException(source + ": rms_norm_eps must be > 0, got " + rmsNormEps);
        }
        if (!(ropeTheta > 0)) {
            throw new ModelFormatException(source + ": rope_theta must be > 0, got " + ropeTheta);
        }
        for (String k : new String[] {"bos_token_id", "eos_token_id"}) {
            int id = k.startsWith("bos") ? bosTokenId : eosTokenId;
            if (id < 0 || id >= vocabSize) {
                throw new ModelFormatException(source + ": " + k + " = " + id
                        + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
    }

    private static void positive(String source, String key, long value) {
        if (value <= 0) {
            throw new ModelFormatException(source + ": '" + key + "' must be > 0, got " + value);
        }
    }

    /** Reads {@code config.json} from a model directory; errors name the file and the key. */
    public static LlamaConfig read(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file + ": not found (a Hugging Face model directory"
                    + " needs config.json)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        return fromJson(root, file.toString());
    }

    /** Parses a config JSON object; {@code source} names it in error messages. */
    public static LlamaConfig fromJson(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(source + ": expected a JSON object");
        }
        String modelType = text(root, source, "model_type", null);
        if (modelType == null) {
            throw new ModelFormatException(source + ": missing key 'model_type' (expected \"llama\")");
        }
        if (!"llama".equals(modelType)) {
            throw new ModelFormatException(source + ": unsupported model_type '" + modelType
                    + "' (Lethe implements the Llama architecture: model_type \"llama\")");
        }
        String act = text(root, source, "hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw new ModelFormatException(
                    source + ": unsupported hidden_act '" + act + "' (Llama uses \"silu\")");
        }
        Builder b = builder();
        b.vocabSize = requiredInt(root, source, "vocab_size");
        b.hiddenSize = requiredInt(root, source, "hidden_size");
        b.intermediateSize = requiredInt(root, source, "intermediate_size");
        b.numHiddenLayers = requiredInt(root, source, "num_hidden_layers");
        b.numAttentionHeads = requiredInt(root, source, "num_attention_heads");
        b.numKeyValueHeads = optInt(root, source, "num_key_value_heads", b.numAttentionHeads);
        b.headDim = optInt(root, source, "head_dim", 0);
        b.maxPositionEmbeddings = optInt(root, source, "max_position_embeddings", 2048);
        b.rmsNormEps = optDouble(root, source, "rms_norm_eps", 1e-6);
        b.tieWordEmbeddings = optBool(root, source, "tie_word_embeddings", false);
        b.attentionBias = optBool(root, source, "attention_bias", false);
        b.mlpBias = optBool(root, source, "mlp_bias", false);
        b.initializerRange = optDouble(root, source, "initializer_range", 0.02);
        b.bosTokenId = optTokenId(root, source, "bos_token_id", 1);
        b.eosTokenId = optTokenId(root, source, "eos_token_id", 2);
        JsonNode pad = root.get("pad_token_id");
        b.padTokenId = pad == null || pad.isNull() ? null : optTokenId(root, source, "pad_token_id", 0);
        readRope(root, source, b);
        return b.build();
    }

    /**
     * Rope settings exist in two forms: transformers < 4.45-ish {@code rope_theta} + {@code
     * rope_scaling}, and transformers 5 {@code rope_parameters}. Both are accepted.
     */
    private static void readRope(JsonNode root, String source, Builder b) {
        JsonNode params = root.get("rope_parameters");
        JsonNode scaling = root.get("rope_scaling");
        Double theta = null;
        if (params != null && params.isObject() && params.has("rope_theta")) {
            theta = number(params, source, "rope_parameters.rope_theta");
        } else if (root.has("rope_theta")) {
            theta = number(root, source, "rope_theta");
        }
        b.ropeTheta = theta == null ? 10000.0 : theta;
        JsonNode spec = params != null && params.isObject() ? params
                : scaling != null && scaling.isObject() ? scaling : null;
        if (spec == null) {
            return;
        }
        String prefix = spec == params ? "rope_parameters." : "rope_scaling.";
        JsonNode typeNode = spec.has("rope_type") ? spec.get("rope_type") : spec.get("type");
        String type = typeNode == null || typeNode.isNull() ? "default" : typeNode.asText();
        switch (type.toLowerCase(Locale.ROOT)) {
            case "default":
                break;
            case "llama3":
                b.llama3Scaling = new Llama3Scaling(
                        requiredNumber(spec, source, prefix, "factor"),
                        requiredNumber(spec, source, prefix, "low_freq_factor"),
                        requiredNumber(spec, source, prefix, "high_freq_factor"),
                        (int) requiredNumber(spec, source, prefix, "original_max_position_embeddings"));
                break;
            default:
                throw new ModelFormatException(source + ": unsupported " + prefix + "rope_type '"
                        + type + "' (supported: default, llama3)");
        }
    }

    private static double requiredNumber(JsonNode node, String source, String prefix, String key) {
        if (!node.has(key) || node.get(key).isNull()) {
            throw new ModelFormatException(source + ": missing key '" + prefix + key + "'");
        }
        return number(node, source, prefix + key);
    }

    private static Double number(JsonNode node, String source, String path) {
        String key = path.substring(path.lastIndexOf('.') + 1);
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw new ModelFormatException(
                    source + ": '" + path + "' must be a number, got " + v.toString());
        }
        return v.asDouble();
    }

    private static int requiredInt(JsonNode root, String source, String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            throw new ModelFormatException(source + ": missing key '" + key + "'");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ModelFormatException(
                    source + ": '" + key + "' must be an integer, got " + v.toString());
        }
        return v.asInt();
    }

    private static int optInt(JsonNode root, String source, String key, int dflt) {
        JsonNode v = root.get(key);
        return v == null || v.isNull() ? dflt : requiredInt(root, source, key);
    }

    private static int optTokenId(JsonNode root, String source, String key, int dflt) {
        JsonNode v = root.get(key);
        if (v != null && v.isArray()) {
            // Llama 3 lists several EOS ids; generation stops at the first one, the primary id.
            if (v.isEmpty()) {
                throw new ModelFormatException(source + ": '" + key + "' is an empty list");
            }
            v = v.get(0);
            if (!v.isIntegralNumber()) {
                throw new ModelFormatException(source + ": '" + key + "' must hold integers");
            }
            return v.asInt();
        }
        return optInt(root, source, key, dflt);
    }

    private static double optDouble(JsonNode root, String source, String key, double dflt) {
        Double d = number(root, source, key);
        return d == null ? dflt : d;
    }

    private static boolean optBool(JsonNode root, String source, String key, boolean dflt) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new ModelFormatException(
                    source + ": '" + key + "' must be true or false, got " + v.toString());
        }
        return v.asBoolean();
    }

    private static String text(JsonNode root, String source, String key, String dflt) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isTextual()) {
            throw new ModelFormatException(source + ": '" + key + "' must be a string, got " + v);
        }
        return v.asText();
    }

    /** The HF {@code config.json} for this configuration (both rope forms, for old and new readers). */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("LlamaForCausalLM");
        o.put("model_type", "llama");
        o.put("attention_bias", attentionBias);
        o.put("attention_dropout", 0.0);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        if (padTokenId == null) {
            o.putNull("pad_token_id");
        } else {
            o.put("pad_token_id", padTokenId);
        }
        o.put("head_dim", headDim);
        o.put("hidden_act", "silu");
        o.put("hidden_size", hiddenSize);
        o.put("initializer_range", initializerRange);
        o.put("intermediate_size", intermediateSize);
        o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("mlp_bias", mlpBias);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("pretraining_tp", 1);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        ObjectNode rope = o.putObject("rope_parameters");
        rope.put("rope_theta", ropeTheta);
        if (llama3Scaling == null) {
            rope.put("rope_type", "default");
            o.putNull("rope_scaling");
        } else {
            ObjectNode scaling = o.putObject("rope_scaling");
            for (ObjectNode n : new ObjectNode[] {rope, scaling}) {
                n.put("rope_type", "llama3");
                n.put("factor", llama3Scaling.factor());
                n.put("low_freq_factor", llama3Scaling.lowFreqFactor());
                n.put("high_freq_factor", llama3Scaling.highFreqFactor());
                n.put("original_max_position_embeddings",
                        llama3Scaling.originalMaxPositionEmbeddings());
            }
        }
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("torch_dtype", "float32");
        o.put("use_cache", true);
        o.put("vocab_size", vocabSize);
        return o;
    }

    /** Writes {@code config.json} into {@code dir}. */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), toJson());
    }

    public int vocabSize() { return vocabSize; }
    public int hiddenSize() { return hiddenSize; }
    public int intermediateSize() { return intermediateSize; }
    public int numHiddenLayers() { return numHiddenLayers; }
    public int numAttentionHeads() { return numAttentionHeads; }
    public int numKeyValueHeads() { return numKeyValueHeads; }
    public int headDim() { return headDim; }
    public int maxPositionEmbeddings() { return maxPositionEmbeddings; }
    public double rmsNormEps() { return rmsNormEps; }
    public double ropeTheta() { return ropeTheta; }
    /** The llama3 rope scaling, or null for the default rope. */
    public Llama3Scaling llama3Scaling() { return llama3Scaling; }
    public boolean tieWordEmbeddings() { return tieWordEmbeddings; }
    public boolean attentionBias() { return attentionBias; }
    public boolean mlpBias() { return mlpBias; }
    public double initializerRange() { return initializerRange; }
    public int bosTokenId() { return bosTokenId; }
    public int eosTokenId() { return eosTokenId; }
    /** The padding id, or null when the config names none (Llama's usual case). */
    public Integer padTokenId() { return padTokenId; }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a configuration in code, e.g. for a fresh model trained from scratch. */
    public static final class Builder {
        private int vocabSize;
        private int hiddenSize;
        private int intermediateSize;
        private int numHiddenLayers;
        private int numAttentionHeads;
        private int numKeyValueHeads;
        private int headDim;
        private int maxPositionEmbeddings = 2048;
        private double rmsNormEps = 1e-5;
        private double ropeTheta = 10000.0;
        private Llama3Scaling llama3Scaling;
        private boolean tieWordEmbeddings = true;
        private boolean attentionBias;
        private boolean mlpBias;
        private double initializerRange = 0.02;
        private int bosTokenId = 1;
        private int eosTokenId = 2;
        private Integer padTokenId;

        public Builder setVocabSize(int v) { vocabSize = v; return this; }
        public Builder setHiddenSize(int v) { hiddenSize = v; return this; }
        public Builder setIntermediateSize(int v) { intermediateSize = v; return this; }
        public Builder setNumHiddenLayers(int v) { numHiddenLayers = v; return this; }
        public Builder setNumAttentionHeads(int v) { numAttentionHeads = v; return this; }
        public Builder optNumKeyValueHeads(int v) { numKeyValueHeads = v; return this; }
        public Builder optHeadDim(int v) { headDim = v; return this; }
        public Builder optMaxPositionEmbeddings(int v) { maxPositionEmbeddings = v; return this; }
        public Builder optRmsNormEps(double v) { rmsNormEps = v; return this; }
        public Builder optRopeTheta(double v) { ropeTheta = v; return this; }
        public Builder optLlama3Scaling(Llama3Scaling v) { llama3Scaling = v; return this; }
        public Builder optTieWordEmbeddings(boolean v) { tieWordEmbeddings = v; return this; }
        public Builder optAttentionBias(boolean v) { attentionBias = v; return this; }
        public Builder optMlpBias(boolean v) { mlpBias = v; return this; }
        public Builder optInitializerRange(double v) { initializerRange = v; return this; }
        public Builder optBosTokenId(int v) { bosTokenId = v; return this; }
        public Builder optEosTokenId(int v) { eosTokenId = v; return this; }
        public Builder optPadTokenId(Integer v) { padTokenId = v; return this; }

        public LlamaConfig build() {
            return new LlamaConfig(this);
        }
    }
}
