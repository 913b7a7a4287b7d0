package org.lethe.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lethe.model.io.CheckpointTensors;
import org.lethe.model.io.LocalFiles;
import org.lethe.model.io.ModelFormatException;
import org.lethe.model.io.SafetensorsFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * A loaded Llama causal LM: the DJL block with its parameters on one device, its tokenizer, and
 * Hugging Face directory IO (full models, and PEFT LoRA adapters over a base model directory).
 * Closing it frees all native memory it owns.
 */
public final class LanguageModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LanguageModel.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Files beside the weights that describe the tokenizer and generation; copied on save. */
    private static final List<String> SIDE_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "generation_config.json");
    /** Tensors some checkpoints carry that are recomputed here, not learned. */
    private static final String ROTARY_BUFFER_SUFFIX = "rotary_emb.inv_freq";
    /** HF's default shard size for save_pretrained. */
    public static final long DEFAULT_MAX_SHARD_BYTES = 5L * 1000 * 1000 * 1000;

    private final LlamaConfig config;
    private final NDManager manager;
    private final LlamaBlock block;
    private final ParameterStore parameterStore;
    private final LmTokenizer tokenizer;
    private final Path sourceDir;
    /** The HF directory the base weights were loaded from as given (null: fresh or merged weights). */
    private Path baseDir;
    /** Owns the LoRA matrices while adapters are attached. */
    private NDManager loraManager;

    private LanguageModel(LlamaConfig config, NDManager manager, LlamaBlock block,
            LmTokenizer tokenizer, Path sourceDir, Path baseDir) {
        this.config = config;
        this.manager = manager;
        this.block = block;
        this.parameterStore = new ParameterStore(manager, false);
        this.tokenizer = tokenizer;
        this.sourceDir = sourceDir;
        this.baseDir = baseDir;
    }

    /**
     * Loads a Hugging Face model directory ({@code config.json}, {@code model.safetensors} or a
     * sharded index, optional {@code tokenizer.json}), or a PEFT LoRA adapter directory
     * ({@code adapter_config.json}, {@code adapter_model.safetensors}): then the base model its
     * {@code base_model_name_or_path} names (absolute, or relative to {@code dir}) with the adapter
     * attached. Everything is validated before any weight is read, and a failure part-way frees
     * what was read: nothing is ever half-loaded.
     */
    public static LanguageModel load(Path dir, ModelSettings settings) {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model directory");
        }
        if (PeftAdapter.isAdapterDir(dir)) {
            return loadAdapter(dir, settings);
        }
        LlamaConfig config = LlamaConfig.read(dir);
        Path tokFile = dir.resolve("tokenizer.json");
        LmTokenizer tokenizer = Files.exists(tokFile) ? LmTokenizer.load(tokFile, config) : null;
        Device device = settings.resolveDevice();
        DataType dtype = settings.dataType();
        LlamaBlock block = new LlamaBlock(config);
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        try (CheckpointTensors tensors = CheckpointTensors.open(dir)) {
            checkTensors(tensors, block, dir);
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            for (String name : block.hfParameters().keySet()) {
                NDArray a = tensors.read(manager, name, dtype);
                arrays.put(name, a.getDevice().equals(device) ? a : a.toDevice(device, false));
            }
            block.bind(manager, arrays);
            LOG.info("loaded {} ({} parameters, {} on {})", dir, block.parameterCount(), dtype, device);
            return new LanguageModel(config, manager, block, tokenizer, dir, dir);
        } catch (RuntimeException e) {
            manager.close();
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
    }

    private static LanguageModel loadAdapter(Path dir, ModelSettings settings) {
        PeftAdapter.Config adapter = PeftAdapter.readConfig(dir);
        Path weights = dir.resolve(PeftAdapter.WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new ModelFormatException(weights + ": not found (an adapter directory holds "
                    + PeftAdapter.CONFIG_FILE + " and " + PeftAdapter.WEIGHTS_FILE + ")");
        }
        // Shapes come from the base's config.json alone: a broken adapter fails before the base loads.
        Map<String, Shape> shapes = new LlamaBlock(LlamaConfig.read(adapter.baseDir()))
                .loraShapes(adapter.settings());
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            PeftAdapter.checkTensors(file, shapes, adapter);
            LanguageModel lm = load(adapter.baseDir(), settings);
            NDManager m = lm.manager.newSubManager();
            try {
                Map<String, NDArray> arrays = new LinkedHashMap<>();
                for (String name : shapes.keySet()) {
                    NDArray a = file.read(m, name, settings.dataType());
                    arrays.put(name, a.getDevice().equals(lm.device()) ? a : a.toDevice(lm.device(), false));
                }
                lm.attach(adapter.settings(), m, arrays);
                LOG.info("attached LoRA adapter {} (r = {}, {}) to {}", dir, adapter.settings().rank(),
                        adapter.settings().targetModules(), adapter.baseDir());
                return lm;
            } catch (RuntimeException e) {
                lm.close();
                throw e;
            }
        }
    }

    /**
     * Attaches freshly initialized LoRA adapters as PEFT does: every A (rank x in) uniform in
     * +-1/sqrt(in) (kaiming-uniform with a = sqrt(5)) drawn from {@code settings.seed()} and the
     * matrix's PEFT name, every B zero, so the model's outputs are unchanged. The base weights
     * are frozen; {@link LlamaBlock#trainableParameters()} becomes the adapters.
     *
     * <p>A saved adapter refers to the directory the base was loaded from, so attach to weights
     * that are still those of that directory.
     */
    public void attachLora(LoraSettings settings) {
        NDManager m = manager.newSubManager();
        try {
            DataType dtype = dataType();
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : block.loraShapes(settings).entrySet()) {
                Shape shape = e.getValue();
                arrays.put(e.getKey(), e.getKey().endsWith(".lora_A.weight")
                        ? kaimingUniform(m, e.getKey(), shape, settings.seed(), dtype)
                        : m.zeros(shape, dtype));
            }
            attach(settings, m, arrays);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private void attach(LoraSettings settings, NDManager m, Map<String, NDArray> arrays) {
        if (loraManager != null) {
            throw new IllegalStateException("a LoRA adapter is already attached to this model");
        }
        block.attachLora(settings, m, arrays);
        loraManager = m;
    }

    /** U(-1/sqrt(in), 1/sqrt(in)), one stream per PEFT name: independent of order and device. */
    private static NDArray kaimingUniform(NDManager m, String name, Shape shape, long seed, DataType dtype) {
        SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        double bound = 1.0 / Math.sqrt(shape.get(1));
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((2 * rng.nextDouble() - 1) * bound);
        }
        try (NDArray raw = m.create(values, shape)) {
            NDArray typed = raw.toType(dtype, false);
            // toType to the same type is the same storage: copy so the parameter owns torch memory.
            return typed == raw ? raw.duplicate() : typed;
        }
    }

    /** The attached adapters' settings, if any. */
    public Optional<LoraSettings> loraSettings() {
        return block.loraSettings();
    }

    /**
     * Folds the adapters into the base weights ({@code W + scale * B A}) and frees them: the model
     * is a plain one again, all of it trainable, and {@link #save(Path)} writes the full HF layout.
     */
    public void mergeLora() {
        if (loraManager == null) {
            throw new IllegalStateException("no LoRA adapter is attached to this model");
        }
        block.mergeLora();
        loraManager.close();
        loraManager = null;
        baseDir = null; // the weights are no longer those of the directory they came from
    }

    /** Every tensor the architecture needs exists with the right shape; nothing unknown is left over. */
    private static void checkTensors(CheckpointTensors tensors, LlamaBlock block, Path dir) {
        for (Map.Entry<String, Parameter> e : block.hfParameters().entrySet()) {
            if (!tensors.has(e.getKey())) {
                throw new ModelFormatException(dir + ": missing tensor '" + e.getKey() + "' (expected shape "
                        + e.getValue().getShape() + " for this config.json)");
            }
            Shape actual = new Shape(tensors.info(e.getKey()).shape());
            if (!actual.equals(e.getValue().getShape())) {
                throw new ModelFormatException(dir + ": tensor '" + e.getKey() + "' has shape " + actual
                        + " but config.json implies " + e.getValue().getShape());
            }
        }
        for (String name : tensors.names()) {
            boolean known = block.hfParameters().containsKey(name)
                    || name.endsWith(ROTARY_BUFFER_SUFFIX)
                    || (name.equals("lm_head.weight") && block.config().tieWordEmbeddings());
            if (!known) {
                throw new ModelFormatException(dir + ": unexpected tensor '" + name
                        + "' (not part of the architecture config.json describes)");
            }
        }
    }

    /**
     * A freshly initialized model (HF Llama init: normal(0, initializer_range) weights, unit norm
     * weights, zero biases), reproducible from {@code seed} independently of device and order.
     *
     * @param tokenizerFile optional tokenizer.json to pair with the model (null for none)
     */
    public static LanguageModel fresh(LlamaConfig config, ModelSettings settings, long seed, Path tokenizerFile) {
        LmTokenizer tokenizer = tokenizerFile == null ? null : LmTokenizer.load(tokenizerFile, config);
        Device device = settings.resolveDevice();
        DataType dtype = settings.dataType();
        LlamaBlock block = new LlamaBlock(config);
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        try {
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : block.hfParameters().entrySet()) {
                arrays.put(e.getKey(), initialValue(manager, e.getKey(), e.getValue(), config, seed)
                        .toType(dtype, false));
            }
            block.bind(manager, arrays);
            return new LanguageModel(config, manager, block, tokenizer,
                    tokenizerFile == null ? null : tokenizerFile.getParent(), null);
        } catch (RuntimeException e) {
            manager.close();
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        }
    }

    private static NDArray initialValue(NDManager m, String name, Parameter p, LlamaConfig c, long seed) {
        Shape shape = p.getShape();
        switch (p.getType()) {
            case GAMMA:
                return m.ones(shape);
            case BIAS:
                return m.zeros(shape);
            default:
                // One stream per parameter name: values do not depend on creation order or device.
                SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
                float[] values = new float[Math.toIntExact(shape.size())];
                double std = c.initializerRange();
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (gaussian(rng) * std);
                }
                return m.create(values, shape);
        }
    }

    /** Standard normal by Box-Muller from a splittable stream (java.util.Random is not splittable). */
    private static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /**
     * Writes the model as a Hugging Face directory: config.json, model.safetensors (sharded past
     * {@code maxShardBytes}) with HF parameter names, and the tokenizer files it was loaded with.
     * With LoRA attached it writes the PEFT adapter directory instead (adapter_config.json naming
     * the base directory, adapter_model.safetensors); see {@link #saveAdapter}.
     * The directory is replaced atomically: a failed save leaves the previous contents.
     */
    public void save(Path dir, long maxShardBytes) {
        if (loraManager != null) {
            saveAdapter(dir);
            return;
        }
        commit(dir, tmp -> {
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : block.hfParameters().entrySet()) {
                arrays.put(e.getKey(), e.getValue().getArray());
            }
            CheckpointTensors.write(tmp, arrays, maxShardBytes);
            ObjectNode cfg = config.toJson();
            cfg.put("torch_dtype", dtypeName(settingsDtype()));
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve("config.json").toFile(), cfg);
            copySideFiles(tmp);
        });
    }

    /**
     * Writes the attached adapters in PEFT's layout: adapter_model.safetensors (float32, PEFT
     * names) and adapter_config.json whose base_model_name_or_path is the base directory as it
     * was given to {@link #load} when that was absolute, else that directory relative to
     * {@code dir} (so loading the adapter finds the same base). Replaced atomically.
     */
    private void saveAdapter(Path dir) {
        if (baseDir == null) {
            throw new IllegalStateException("cannot save a LoRA adapter to " + dir + ": the base weights"
                    + " were not loaded from a model directory, so base_model_name_or_path would name"
                    + " nothing (save the base model and load it from there first)");
        }
        String base = baseDir.isAbsolute() ? baseDir.toString()
                : dir.toAbsolutePath().normalize().relativize(baseDir.toAbsolutePath().normalize()).toString();
        LoraSettings settings = block.loraSettings().orElseThrow();
        commit(dir, tmp -> {
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            block.trainableParameters().forEach((k, p) -> arrays.put(k, p.getArray()));
            PeftAdapter.write(tmp, settings, base, arrays);
        });
    }

    /** Writes the files of a directory into a staging sibling. */
    private interface StagedWrite {
        void write(Path staging) throws IOException;
    }

    /** Stages {@code dir}'s new contents beside it, then swaps it in by rename. */
    private static void commit(Path dir, StagedWrite write) {
        Path parent = dir.toAbsolutePath().getParent();
        Path tmp = parent.resolve("." + dir.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(parent);
            Files.createDirectories(tmp);
            write.write(tmp);
            replaceDirectory(tmp, dir);
        } catch (IOException e) {
            LocalFiles.deleteTree(tmp);
            throw new UncheckedIOException("cannot save model to " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            LocalFiles.deleteTree(tmp);
            throw e;
        }
    }

    /** {@link #save(Path, long)} with HF's default 5 GB shards. */
    public void save(Path dir) {
        save(dir, DEFAULT_MAX_SHARD_BYTES);
    }

    private void copySideFiles(Path tmp) throws IOException {
        boolean wroteGeneration = false;
        if (sourceDir != null) {
            for (String f : SIDE_FILES) {
                Path src = sourceDir.resolve(f);
                if (Files.isRegularFile(src)) {
                    Files.copy(src, tmp.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    wroteGeneration |= f.equals("generation_config.json");
                }
            }
        }
        if (!wroteGeneration) {
            ObjectNode gen = JSON.createObjectNode();
            gen.put("bos_token_id", config.bosTokenId());
            gen.put("eos_token_id", config.eosTokenId());
            JSON.writerWithDefaultPrettyPrinter()
                    .writeValue(tmp.resolve("generation_config.json").toFile(), gen);
        }
    }

    private static void replaceDirectory(Path tmp, Path dir) throws IOException {
        Path old = null;
        if (Files.exists(dir)) {
            old = dir.resolveSibling("." + dir.getFileName() + ".old-" + UUID.randomUUID());
            Files.move(dir, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        if (old != null) {
            if (!LocalFiles.deleteTree(old)) {
                LOG.warn("could not delete the previous model directory {}", old);
            }
        }
    }

    private DataType settingsDtype() {
        return block.hfParameters().values().iterator().next().getArray().getDataType();
    }

    private static String dtypeName(DataType t) {
        switch (t) {
            case BFLOAT16:
                return "bfloat16";
            case FLOAT16:
                return "float16";
            default:
                return "float32";
        }
    }

    public LlamaConfig config() {
        return config;
    }

    /** The DJL block. */
    public LlamaBlock block() {
        return block;
    }

    /** The parameter store forward passes read parameters through. */
    public ParameterStore parameterStore() {
        return parameterStore;
    }

    /** The manager that owns the parameters; per-call work uses sub-managers of it. */
    public NDManager manager() {
        return manager;
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The compute dtype of the parameters. */
    public DataType dataType() {
        return settingsDtype();
    }

    /** The tokenizer, or an error naming the model directory when it has none. */
    public LmTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new IllegalStateException((sourceDir == null ? "this model" : sourceDir.toString())
                    + " has no tokenizer.json");
        }
        return tokenizer;
    }

    /** The directory this model was loaded from (null for a fresh model without tokenizer). */
    public Path sourceDir() {
        return sourceDir;
    }

    @Override
    public void close() {
        block.closeBuffers();
        manager.close();
        if (tokenizer != null) {
            tokenizer.close();
        }
    }
}
