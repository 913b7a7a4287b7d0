package org.lethe.text;

import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;

import org.lethe.storage.LocalModels;
import org.lethe.storage.Locations;

import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A serializable reference to a model's tokenizer that Spark tasks resolve to one
 * {@link LmTokenizer} per executor JVM, loaded on first use.
 *
 * <p>Only the model directory's path travels with the task; the native tokenizer lives in a
 * static cache keyed by that path and is shared by every task of the JVM (HF tokenizers encode
 * concurrently). A local directory must be readable at the same path on every executor; one on a
 * Hadoop file system (hdfs://, s3a://...) is read through each node's model cache.
 */
public final class ExecutorTokenizer implements Serializable {

    private static final long serialVersionUID = 1L;

    // Never evicted: a JVM loads a handful of tokenizers at most, each a few MB of native memory.
    private static final Map<String, LmTokenizer> LOADED = new ConcurrentHashMap<>();

    private final String modelDir;

    /** A reference to the tokenizer of the Hugging Face model directory {@code modelDir}. */
    public ExecutorTokenizer(Path modelDir) {
        this.modelDir = modelDir.toAbsolutePath().normalize().toString();
    }

    /**
     * A reference to the tokenizer of the model directory at {@code location}: a local path (made
     * absolute) or any Hadoop URI, read through this node's model cache ({@link LocalModels}).
     */
    public ExecutorTokenizer(String location) {
        this.modelDir = Locations.isLocal(location) ? Locations.localPath(location).toAbsolutePath().normalize()
                .toString() : location;
    }

    /**
     * Loads the tokenizer now, on the caller's JVM: call it on the driver so a wrong path or a
     * tokenizer that does not fit the model fails before any task is scheduled.
     */
    public ExecutorTokenizer check() {
        get();
        return this;
    }

    /** This JVM's tokenizer for the model directory, loaded on first use. */
    public LmTokenizer get() {
        return LOADED.computeIfAbsent(modelDir, ExecutorTokenizer::load);
    }

    /** Number of tokens of {@code text} (no BOS/EOS). */
    public int count(String text) {
        return get().encode(text, false).length;
    }

    /** The model directory as given (absolute). */
    public String modelDir() {
        return modelDir;
    }

    private static LmTokenizer load(String dir) {
        if (Locations.isLocal(dir) && !Files.isDirectory(Locations.localPath(dir))) {
            throw new IllegalArgumentException(dir + ": model directory not found (it must hold"
                    + " config.json and tokenizer.json, at the same path on every executor)");
        }
        return LocalModels.load(dir, path -> LmTokenizer.load(path.resolve("tokenizer.json"), LlamaConfig.read(path)));
    }
}
