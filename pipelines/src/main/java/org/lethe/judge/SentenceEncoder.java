package org.lethe.judge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.model.ModelSettings;
import org.lethe.model.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A sentence-embedding judge: a BERT-family encoder whose token states are mean-pooled over the
 * non-padding tokens (special tokens included), sentence-transformers' default, compared by cosine;
 * the similarity metric is {@code max(0, cos)}.
 *
 * <p>A sentence-transformers directory is read as sentence-transformers reads it: modules.json may
 * list only Transformer, Pooling (mean) and Normalize modules, sentence_bert_config.json's
 * max_seq_length and do_lower_case apply. A plain Hugging Face encoder directory is mean-pooled.
 */
public final class SentenceEncoder implements AutoCloseable {

    /** Texts per forward pass unless told otherwise. */
    public static final int DEFAULT_BATCH_SIZE = 32;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ST = "sentence_transformers.models.";
    /** Pooling modes other than the mean, which this judge does not compute. */
    private static final List<String> OTHER_POOLING = List.of("pooling_mode_cls_token",
            "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken");

    private final BertEncoder encoder;
    private final int batchSize;
    private final boolean lowerCase;
    private final boolean normalize;

    private SentenceEncoder(BertEncoder encoder, int batchSize, boolean lowerCase, boolean normalize) {
        this.encoder = encoder;
        this.batchSize = batchSize;
        this.lowerCase = lowerCase;
        this.normalize = normalize;
    }

    /** Loads a model directory with {@link #DEFAULT_BATCH_SIZE}. */
    public static SentenceEncoder load(Path dir, ModelSettings settings) {
        return load(dir, settings, DEFAULT_BATCH_SIZE);
    }

    /**
     * Loads a sentence-transformers or plain Hugging Face encoder directory; the device and dtype
     * come from {@code settings}. Errors name the file and key that are missing or unsupported.
     */
    public static SentenceEncoder load(Path dir, ModelSettings settings, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        Path modelDir = dir;
        boolean normalize = false;
        Path modules = dir.resolve("modules.json");
        if (Files.isRegularFile(modules)) {
            JsonNode list = readJson(modules);
            if (!list.isArray()) {
                throw new ModelFormatException(modules + ": expected a JSON array of modules");
            }
            for (JsonNode module : list) {
                String type = module.path("type").asText("");
                String path = module.path("path").asText("");
                switch (type) {
                    case ST + "Transformer" -> modelDir = dir.resolve(path);
                    case ST + "Pooling" -> checkMeanPooling(dir.resolve(path).resolve("config.json"));
                    case ST + "Normalize" -> normalize = true;
                    default -> throw new ModelFormatException(modules + ": module '" + type + "' ("
                            + module.path("name").asText("?") + ") is not supported: a sentence judge is"
                            + " a Transformer with mean Pooling and optional Normalize");
                }
            }
        }
        int maxSeqLength = Integer.MAX_VALUE;
        boolean lowerCase = false;
        Path stConfig = modelDir.resolve("sentence_bert_config.json");
        if (Files.isRegularFile(stConfig)) {
            JsonNode c = readJson(stConfig);
            JsonNode max = c.get("max_seq_length");
            if (max != null && !max.isNull()) {
                if (!max.canConvertToInt() || max.asInt() < 2) {
                    throw new ModelFormatException(stConfig + ": 'max_seq_length' must be an integer >= 2,"
                            + " got " + max);
                }
                maxSeqLength = max.asInt();
            }
            lowerCase = c.path("do_lower_case").asBoolean(false);
        }
        return new SentenceEncoder(BertEncoder.load(modelDir, settings, maxSeqLength, false, Map.of()),
                batchSize, lowerCase, normalize);
    }

    private static void checkMeanPooling(Path file) {
        if (!Files.isRegularFile(file)) {
            return; // sentence-transformers' Pooling defaults to the mean
        }
        JsonNode c = readJson(file);
        if (!c.path("pooling_mode_mean_tokens").asBoolean(true)) {
            throw new ModelFormatException(file + ": 'pooling_mode_mean_tokens' is false; only mean"
                    + " pooling is supported");
        }
        for (String key : OTHER_POOLING) {
            if (c.path(key).asBoolean(false)) {
                throw new ModelFormatException(file + ": '" + key + "' is true; only mean pooling"
                        + " (pooling_mode_mean_tokens alone) is supported");
            }
        }
    }

    private static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    /** The encoder underneath (its config, device, maximal length). */
    public BertEncoder encoder() {
        return encoder;
    }

    /**
     * One embedding per text (mean of the last hidden states over its non-padding tokens, in
     * float32; unit length when the directory's modules include Normalize), computed in batches.
     */
    public float[][] embed(List<String> texts) {
        float[][] out = new float[texts.size()][];
        for (int from = 0; from < texts.size(); from += batchSize) {
            List<String> chunk = texts.subList(from, Math.min(texts.size(), from + batchSize));
            float[][] pooled = embedBatch(chunk);
            System.arraycopy(pooled, 0, out, from, pooled.length);
        }
        return out;
    }

    private float[][] embedBatch(List<String> texts) {
        List<String> inputs = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            inputs.add(lowerCase && t != null ? t.toLowerCase(Locale.ROOT) : t);
        }
        EncodedBatch b = encoder.tokenizer().encode(inputs);
        int hidden = encoder.config().hiddenSize();
        float[] flat;
        try (NDManager m = encoder.manager().newSubManager()) {
            NDArray h = encoder.lastHiddenState(m, b).toType(DataType.FLOAT32, false);
            float[] maskValues = new float[b.mask().length];
            for (int i = 0; i < maskValues.length; i++) {
                maskValues[i] = b.mask()[i];
            }
            NDArray mask = m.create(maskValues, new Shape(b.batch(), b.length(), 1));
            NDArray summed = h.mul(mask).sum(new int[] {1});
            // sentence-transformers clamps the count at 1e-9; every row here has >= 1 real token.
            NDArray counts = mask.sum(new int[] {1});
            flat = summed.div(counts).toFloatArray();
        }
        float[][] out = new float[b.batch()][hidden];
        for (int i = 0; i < b.batch(); i++) {
            System.arraycopy(flat, i * hidden, out[i], 0, hidden);
            if (normalize) {
                double n = Math.max(norm(out[i]), 1e-12);
                for (int j = 0; j < hidden; j++) {
                    out[i][j] = (float) (out[i][j] / n);
                }
            }
        }
        return out;
    }

    /** cos(a_i, b_i) for every pair, in [-1, 1]; both lists are embedded in the same batches. */
    public float[] cosine(List<String> a, List<String> b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(a.size() + " texts on the left but " + b.size() + " on the right");
        }
        List<String> all = new ArrayList<>(a.size() * 2);
        all.addAll(a);
        all.addAll(b);
        float[][] e = embed(all);
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) cosine(e[i], e[a.size() + i]);
        }
        return out;
    }

    /** The similarity metric {@code max(0, cos(a_i, b_i))} for every pair. */
    public float[] similarity(List<String> a, List<String> b) {
        float[] cos = cosine(a, b);
        for (int i = 0; i < cos.length; i++) {
            cos[i] = (float) similarity(cos[i]);
        }
        return cos;
    }

    /** The similarity metric of a cosine: {@code max(0, cos)}. */
    public static double similarity(double cosine) {
        return Math.max(0.0, cosine);
    }

    /**
     * Cosine of two embeddings as sentence-transformers' cos_sim computes it: each vector divided
     * by max(norm, 1e-12), then the dot product (0 for a zero vector, never NaN).
     */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("embeddings of widths " + a.length + " and " + b.length);
        }
        double dot = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
        }
        return dot / (Math.max(norm(a), 1e-12) * Math.max(norm(b), 1e-12));
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    @Override
    public void close() {
        encoder.close();
    }
}
