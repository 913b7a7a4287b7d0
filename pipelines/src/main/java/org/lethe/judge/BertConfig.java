package org.lethe.judge;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.model.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The hyper-parameters of a BERT-family encoder (BERT, RoBERTa, XLM-RoBERTa) read from a Hugging
 * Face {@code config.json}, with the label names of a sequence-classification head.
 *
 * @param file the config.json it was read from (named by every error about the model)
 * @param family the architecture variant ({@code model_type})
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param intermediateSize {@code intermediate_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings}
 * @param typeVocabSize {@code type_vocab_size} (1 for RoBERTa: every token has type 0)
 * @param layerNormEps {@code layer_norm_eps}
 * @param padTokenId {@code pad_token_id}: the id padding uses; RoBERTa's position ids count from it
 * @param id2label label names by class index, empty when the config declares none
 */
public record BertConfig(
        Path file,
        Family family,
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        int maxPositionEmbeddings,
        int typeVocabSize,
        double layerNormEps,
        int padTokenId,
        List<String> id2label) {

    /** The architectures read here, by their {@code model_type}. */
    public enum Family {
        BERT("bert"),
        ROBERTA("roberta"),
        XLM_ROBERTA("xlm-roberta");

        private final String modelType;

        Family(String modelType) {
            this.modelType = modelType;
        }

        /** The {@code model_type} value in config.json. */
        public String modelType() {
            return modelType;
        }

        /**
         * Whether position ids start after the padding id ({@code padding_idx + 1}) and are
         * counted over non-padding tokens, as in fairseq and HF's RoBERTa.
         */
        public boolean offsetPositions() {
            return this != BERT;
        }
    }

    /** What errors list as supported. */
    static final String SUPPORTED = "bert, roberta, xlm-roberta";

    private static final ObjectMapper JSON = new ObjectMapper();

    public BertConfig {
        id2label = List.copyOf(id2label);
        positive(file, "vocab_size", vocabSize);
        positive(file, "hidden_size", hiddenSize);
        positive(file, "num_hidden_layers", numHiddenLayers);
        positive(file, "num_attention_heads", numAttentionHeads);
        positive(file, "intermediate_size", intermediateSize);
        positive(file, "max_position_embeddings", maxPositionEmbeddings);
        positive(file, "type_vocab_size", typeVocabSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ModelFormatException(file + ": hidden_size (" + hiddenSize
                    + ") must be a multiple of num_attention_heads (" + numAttentionHeads + ")");
        }
        if (!(layerNormEps > 0)) {
            throw new ModelFormatException(file + ": 'layer_norm_eps' must be > 0, got " + layerNormEps);
        }
        if (padTokenId < 0 || padTokenId >= vocabSize) {
            throw new ModelFormatException(file + ": pad_token_id = " + padTokenId
                    + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        // Fields are assigned only after this compact constructor: compute from the parameters.
        int usable = family.offsetPositions() ? maxPositionEmbeddings - padTokenId - 1 : maxPositionEmbeddings;
        if (usable < 2) {
            throw new ModelFormatException(file + ": max_position_embeddings = " + maxPositionEmbeddings
                    + " leaves room for " + usable + " token(s)"
                    + (family.offsetPositions() ? " after the padding offset (pad_token_id + 1)" : ""));
        }
    }

    private static void positive(Path file, String key, long value) {
        if (value <= 0) {
            throw new ModelFormatException(file + ": '" + key + "' must be > 0, got " + value);
        }
    }

    /** Width of one attention head. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * The longest token sequence the position table can encode: max_position_embeddings, less
     * the {@code pad_token_id + 1} positions RoBERTa reserves.
     */
    public int maxLength() {
        return family.offsetPositions() ? maxPositionEmbeddings - padTokenId - 1 : maxPositionEmbeddings;
    }

    /** Reads {@code config.json} from a model directory; errors name the file and the key. */
    public static BertConfig read(Path modelDir) {
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
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file + ": expected a JSON object");
        }
        Family family = family(file, root);
        String act = root.path("hidden_act").asText("gelu");
        if (!act.equals("gelu")) {
            throw new ModelFormatException(file + ": hidden_act '" + act + "' is not supported"
                    + " (only 'gelu', the exact erf form BERT and RoBERTa use)");
        }
        String positions = root.path("position_embedding_type").asText("absolute");
        if (!positions.equals("absolute")) {
            throw new ModelFormatException(file + ": position_embedding_type '" + positions
                    + "' is not supported (only 'absolute')");
        }
        if (root.path("is_decoder").asBoolean(false)) {
            throw new ModelFormatException(file + ": is_decoder = true: a judge must be a bidirectional encoder");
        }
        int defaultPad = family == Family.BERT ? 0 : 1;
        return new BertConfig(
                file,
                family,
                requiredInt(file, root, "vocab_size"),
                requiredInt(file, root, "hidden_size"),
                requiredInt(file, root, "num_hidden_layers"),
                requiredInt(file, root, "num_attention_heads"),
                requiredInt(file, root, "intermediate_size"),
                requiredInt(file, root, "max_position_embeddings"),
                optionalInt(file, root, "type_vocab_size", 2),
                optionalDouble(file, root, "layer_norm_eps", 1e-12),
                optionalInt(file, root, "pad_token_id", defaultPad),
                labels(file, root));
    }

    private static Family family(Path file, JsonNode root) {
        JsonNode type = root.get("model_type");
        if (type == null || !type.isTextual()) {
            throw new ModelFormatException(file + ": missing key 'model_type' (supported: " + SUPPORTED + ")");
        }
        String t = type.asText();
        for (Family f : Family.values()) {
            if (f.modelType.equals(t)) {
                return f;
            }
        }
        String lower = t.toLowerCase(Locale.ROOT);
        String why = lower.startsWith("deberta")
                ? " (DeBERTa-v2/v3 use disentangled relative-position attention, which is not"
                        + " implemented yet)"
                : "";
        throw new ModelFormatException(file + ": model_type '" + t + "' is not supported" + why
                + "; supported: " + SUPPORTED);
    }

    private static int requiredInt(Path file, JsonNode root, String key) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            throw new ModelFormatException(file + ": missing key '" + key + "'");
        }
        return intValue(file, key, v);
    }

    private static int optionalInt(Path file, JsonNode root, String key, int fallback) {
        JsonNode v = root.get(key);
        return v == null || v.isNull() ? fallback : intValue(file, key, v);
    }

    private static int intValue(Path file, String key, JsonNode v) {
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new ModelFormatException(file + ": '" + key + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static double optionalDouble(Path file, JsonNode root, String key, double fallback) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw new ModelFormatException(file + ": '" + key + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    /** id2label as a dense list: keys must be exactly 0..n-1. */
    private static List<String> labels(Path file, JsonNode root) {
        JsonNode node = root.get("id2label");
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isObject()) {
            throw new ModelFormatException(file + ": 'id2label' must be an object of class index to label");
        }
        Map<Integer, String> byId = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new ModelFormatException(file + ": id2label key '" + e.getKey() + "' is not a class index");
            }
            if (!e.getValue().isTextual()) {
                throw new ModelFormatException(file + ": id2label[" + id + "] must be a string, got " + e.getValue());
            }
            byId.put(id, e.getValue().asText());
        }
        List<String> labels = new ArrayList<>(byId.values());
        int expected = 0;
        for (int id : byId.keySet()) {
            if (id != expected++) {
                throw new ModelFormatException(file + ": id2label keys must be 0.." + (byId.size() - 1)
                        + ", got " + byId.keySet());
            }
        }
        return labels;
    }
}
