package org.lethe.judge;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.lethe.model.ModelSettings;
import org.lethe.model.Scalars;
import org.lethe.model.io.CheckpointTensors;
import org.lethe.model.io.ModelFormatException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A BERT-family encoder (BERT, RoBERTa, XLM-RoBERTa; post-LN, exact GELU, absolute positions)
 * loaded for inference from a Hugging Face directory: {@code config.json}, {@code model.safetensors}
 * (or a sharded index) and {@code tokenizer.json}. Weights are plain arrays that never require
 * gradients; every forward pass lives in a sub-manager the caller closes.
 */
public final class BertEncoder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(BertEncoder.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final BertConfig config;
    private final Path dir;
    private final String prefix;
    private final NDManager manager;
    private final Map<String, NDArray> weights;
    private final JudgeTokenizer tokenizer;
    private final DataType dtype;

    private BertEncoder(BertConfig config, Path dir, String prefix, NDManager manager,
            Map<String, NDArray> weights, JudgeTokenizer tokenizer, DataType dtype) {
        this.config = config;
        this.dir = dir;
        this.prefix = prefix;
        this.manager = manager;
        this.weights = weights;
        this.tokenizer = tokenizer;
        this.dtype = dtype;
    }

    /**
     * Loads the body, with the pooler ({@code [prefix]pooler.dense}) when {@code pooler}, plus the
     * {@code head} tensors (full checkpoint names and their expected shapes). Inputs are truncated
     * to the smallest of {@code maxLengthCap}, the position table and tokenizer_config.json's
     * model_max_length. Every tensor is checked before any is read; a failure frees what was read.
     */
    static BertEncoder load(Path dir, ModelSettings settings, int maxLengthCap, boolean pooler,
            Map<String, Shape> head) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model directory");
        }
        BertConfig config = BertConfig.read(dir);
        int maxLength = Math.min(Math.min(maxLengthCap, config.maxLength()), tokenizerMaxLength(dir));
        if (!Files.isRegularFile(dir.resolve(CheckpointTensors.SINGLE_FILE))
                && !Files.isRegularFile(dir.resolve(CheckpointTensors.INDEX_FILE))
                && Files.isRegularFile(dir.resolve("pytorch_model.bin"))) {
            throw new ModelFormatException(dir + ": only pytorch_model.bin is present; judges read"
                    + " safetensors (convert it, e.g. save_pretrained(safe_serialization=True))");
        }
        try (CheckpointTensors tensors = CheckpointTensors.open(dir)) {
            Path file = tensors.files().size() == 1
                    ? tensors.files().get(0) : dir.resolve(CheckpointTensors.INDEX_FILE);
            String prefix = prefix(tensors, config, file);
            LinkedHashMap<String, Shape> expected = bodyShapes(config, prefix, pooler);
            expected.putAll(head);
            for (Map.Entry<String, Shape> e : expected.entrySet()) {
                checkTensor(tensors, file, config, e.getKey(), e.getValue());
            }
            JudgeTokenizer tokenizer = JudgeTokenizer.load(dir, config, maxLength);
            NDManager manager = null;
            try {
                Device device = settings.resolveDevice();
                DataType dtype = settings.dataType();
                manager = NDManager.newBaseManager(device, "PyTorch");
                Map<String, NDArray> weights = new LinkedHashMap<>();
                for (String name : expected.keySet()) {
                    NDArray a = tensors.read(manager, name, dtype);
                    if (!a.getDevice().equals(device)) {
                        NDArray moved = a.toDevice(device, false);
                        a.close();
                        a = moved;
                    }
                    weights.put(name, a);
                }
                LOG.info("loaded judge encoder {} ({} {} layers, prefix '{}', {} on {})", dir,
                        config.family().modelType(), config.numHiddenLayers(), prefix, dtype, device);
                return new BertEncoder(config, dir, prefix, manager, weights, tokenizer, dtype);
            } catch (RuntimeException e) {
                if (manager != null) {
                    manager.close();
                }
                tokenizer.close();
                throw e;
            }
        }
    }

    /** tokenizer_config.json's model_max_length, or no limit (its huge "unset" value included). */
    private static int tokenizerMaxLength(Path dir) {
        Path file = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return Integer.MAX_VALUE;
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode v = root == null ? null : root.get("model_max_length");
        if (v == null || !v.isNumber() || v.asDouble() <= 0 || v.asDouble() >= Integer.MAX_VALUE) {
            return Integer.MAX_VALUE;
        }
        return v.asInt();
    }

    /** "" or the base-model prefix a *ForSequenceClassification checkpoint puts before the body. */
    private static String prefix(CheckpointTensors tensors, BertConfig config, Path file) {
        String base = config.family() == BertConfig.Family.BERT ? "bert." : "roberta.";
        String probe = "embeddings.word_embeddings.weight";
        for (String p : new String[] {"", base}) {
            if (tensors.has(p + probe)) {
                return p;
            }
        }
        throw new ModelFormatException(file + ": missing tensor '" + probe + "' (nor '" + base + probe
                + "'): not a " + config.family().modelType() + " checkpoint as " + config.file()
                + " declares");
    }

    private static LinkedHashMap<String, Shape> bodyShapes(BertConfig c, String p, boolean pooler) {
        long h = c.hiddenSize();
        LinkedHashMap<String, Shape> s = new LinkedHashMap<>();
        s.put(p + "embeddings.word_embeddings.weight", new Shape(c.vocabSize(), h));
        s.put(p + "embeddings.position_embeddings.weight", new Shape(c.maxPositionEmbeddings(), h));
        s.put(p + "embeddings.token_type_embeddings.weight", new Shape(c.typeVocabSize(), h));
        layerNorm(s, p + "embeddings.LayerNorm", h);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String l = p + "encoder.layer." + i + ".";
            linear(s, l + "attention.self.query", h, h);
            linear(s, l + "attention.self.key", h, h);
            linear(s, l + "attention.self.value", h, h);
            linear(s, l + "attention.output.dense", h, h);
            layerNorm(s, l + "attention.output.LayerNorm", h);
            linear(s, l + "intermediate.dense", c.intermediateSize(), h);
            linear(s, l + "output.dense", h, c.intermediateSize());
            layerNorm(s, l + "output.LayerNorm", h);
        }
        if (pooler) {
            linear(s, p + "pooler.dense", h, h);
        }
        return s;
    }

    /** Adds {@code name.weight} (out, in) and {@code name.bias} (out). */
    static void linear(Map<String, Shape> shapes, String name, long out, long in) {
        shapes.put(name + ".weight", new Shape(out, in));
        shapes.put(name + ".bias", new Shape(out));
    }

    private static void layerNorm(Map<String, Shape> shapes, String name, long width) {
        shapes.put(name + ".weight", new Shape(width));
        shapes.put(name + ".bias", new Shape(width));
    }

    private static void checkTensor(CheckpointTensors tensors, Path file, BertConfig config, String name,
            Shape shape) {
        if (!tensors.has(name)) {
            throw new ModelFormatException(file + ": missing tensor '" + name + "' (expected shape "
                    + shape + " for the " + config.family().modelType() + " model " + config.file()
                    + " describes)");
        }
        long[] actual = tensors.info(name).shape();
        if (!Arrays.equals(actual, shape.getShape())) {
            throw new ModelFormatException(file + ": tensor '" + name + "' has shape "
                    + new Shape(actual) + ", expected " + shape + " from " + config.file());
        }
    }

    /** The configuration read from the directory's config.json. */
    public BertConfig config() {
        return config;
    }

    /** The model directory. */
    public Path directory() {
        return dir;
    }

    /** Where the weights live and every forward pass runs. */
    public Device device() {
        return manager.getDevice();
    }

    /** The compute data type. */
    public DataType dataType() {
        return dtype;
    }

    /** The longest input in tokens (special tokens included); longer inputs are truncated. */
    public int maxLength() {
        return tokenizer.maxLength();
    }

    /** "" or the base-model prefix of the checkpoint's tensor names ({@code bert.}, {@code roberta.}). */
    public String tensorPrefix() {
        return prefix;
    }

    JudgeTokenizer tokenizer() {
        return tokenizer;
    }

    /** The manager owning the weights; forward passes run in its sub-managers. */
    NDManager manager() {
        return manager;
    }

    /** A loaded tensor by its full checkpoint name. */
    NDArray weight(String name) {
        NDArray a = weights.get(name);
        if (a == null) {
            throw new IllegalStateException("tensor '" + name + "' was not loaded from " + dir);
        }
        return a;
    }

    private NDArray body(String name) {
        return weight(prefix + name);
    }

    /**
     * The last hidden state (batch, length, hidden) in the compute dtype, attached to {@code m}
     * (a sub-manager of {@link #manager()}); padded positions hold values no caller may read.
     */
    NDArray lastHiddenState(NDManager m, EncodedBatch b) {
        Shape shape = new Shape(b.batch(), b.length());
        NDArray ids = m.create(b.ids(), shape);
        NDArray types = m.create(b.typeIds(), shape);
        NDArray positions = m.create(positionIds(b), shape);
        NDArray h = embed(ids, "word_embeddings")
                .add(embed(positions, "position_embeddings"))
                .add(embed(types, "token_type_embeddings"));
        h = layerNorm(h, "embeddings.LayerNorm");
        NDArray bias = attentionBias(m, b);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            h = layer(h, "encoder.layer." + i + ".", bias);
        }
        return h;
    }

    /** BERT counts positions from 0; RoBERTa from pad + 1 over non-padding ids (HF's rule), pad at pad. */
    private long[] positionIds(EncodedBatch b) {
        long[] pos = new long[b.ids().length];
        long pad = config.padTokenId();
        for (int i = 0; i < b.batch(); i++) {
            long count = 0;
            for (int t = 0; t < b.length(); t++) {
                int at = i * b.length() + t;
                if (!config.family().offsetPositions()) {
                    pos[at] = t;
                } else if (b.ids()[at] != pad) {
                    pos[at] = pad + ++count;
                } else {
                    pos[at] = pad;
                }
            }
        }
        return pos;
    }

    private NDArray embed(NDArray ids, String table) {
        // The lookup's result attaches to the ids' manager (the per-call one).
        return Embedding.embedding(ids, body("embeddings." + table + ".weight"), SparseFormat.DENSE)
                .singletonOrThrow();
    }

    /** Additive key-padding bias (batch, 1, 1, length): 0 for real keys, the dtype's lowest value else. */
    private NDArray attentionBias(NDManager m, EncodedBatch b) {
        float lowest = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        float[] bias = new float[b.mask().length];
        for (int i = 0; i < bias.length; i++) {
            bias[i] = b.mask()[i] == 0 ? lowest : 0f;
        }
        NDArray f32 = m.create(bias, new Shape(b.batch(), 1, 1, b.length()));
        return dtype == DataType.FLOAT32 ? f32 : f32.toType(dtype, false);
    }

    private NDArray layer(NDArray h, String l, NDArray bias) {
        long batch = h.getShape().get(0);
        long length = h.getShape().get(1);
        NDArray q = heads(linear(h, l + "attention.self.query"));
        NDArray k = heads(linear(h, l + "attention.self.key"));
        NDArray v = heads(linear(h, l + "attention.self.value"));
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2));
        scores = scores.mul(Scalars.like(scores, 1.0 / Math.sqrt(config.headDim()))).add(bias);
        NDArray context = scores.softmax(-1).matMul(v)
                .transpose(0, 2, 1, 3).reshape(batch, length, config.hiddenSize());
        NDArray attended = layerNorm(linear(context, l + "attention.output.dense").add(h),
                l + "attention.output.LayerNorm");
        NDArray inner = Activation.gelu(linear(attended, l + "intermediate.dense"));
        return layerNorm(linear(inner, l + "output.dense").add(attended), l + "output.LayerNorm");
    }

    /** (batch, length, hidden) to (batch, heads, length, head_dim). */
    private NDArray heads(NDArray x) {
        return x.reshape(x.getShape().get(0), x.getShape().get(1), config.numAttentionHeads(), config.headDim())
                .transpose(0, 2, 1, 3);
    }

    private NDArray linear(NDArray x, String name) {
        return linearFull(x, prefix + name);
    }

    /** {@code x W^T + b} for the tensors {@code name.weight} / {@code name.bias} (full names). */
    NDArray linearFull(NDArray x, String name) {
        return Linear.linear(x, weight(name + ".weight"), weight(name + ".bias")).singletonOrThrow();
    }

    private NDArray layerNorm(NDArray x, String name) {
        return LayerNorm.layerNorm(x, new Shape(config.hiddenSize()), body(name + ".weight"),
                body(name + ".bias"), (float) config.layerNormEps()).singletonOrThrow();
    }

    /** BERT's pooler: {@code tanh(dense(h[:, 0]))} on the first ([CLS]) token; needs a pooler load. */
    NDArray pooled(NDArray hidden) {
        return linearFull(hidden.get(":, 0, :"), prefix + "pooler.dense").tanh();
    }

    /** Frees the weights and the tokenizer. */
    @Override
    public void close() {
        try {
            tokenizer.close();
        } finally {
            manager.close();
        }
    }
}
