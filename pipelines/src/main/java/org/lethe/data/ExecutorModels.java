package org.lethe.data;

import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-JVM cache of model tokenizers, keyed by model directory: tasks on an executor load a
 * tokenizer once, never per task or per row. The directory must be readable where tasks run.
 */
public final class ExecutorModels {

    private static final Map<String, LmTokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private ExecutorModels() {}

    /** The tokenizer of the model directory {@code modelDir} (config.json + tokenizer.json). */
    public static LmTokenizer tokenizer(String modelDir) {
        return TOKENIZERS.computeIfAbsent(modelDir, dir -> {
            Path p = Paths.get(dir);
            return LmTokenizer.load(p.resolve("tokenizer.json"), LlamaConfig.read(p));
        });
    }
}
