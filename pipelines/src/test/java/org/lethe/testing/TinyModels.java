package org.lethe.testing;

import java.io.IOException;
import java.nio.file.Path;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;

/** Freshly initialized "tiny" Llama models for a generated benchmark's tokenizer, as job tests use them. */
public final class TinyModels {

    private TinyModels() {}

    /**
     * Saves a seeded "tiny" model sized to {@code benchmark/tokenizer.json}'s vocabulary (and carrying
     * that tokenizer) to {@code out}; returns {@code out}.
     */
    public static Path save(Path benchmark, long seed, Path out) throws IOException {
        Path tokenizer = benchmark.resolve("tokenizer.json");
        try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config("tiny", LmTokenizer.vocabularySize(tokenizer)),
                ModelSettings.defaults(), seed, tokenizer)) {
            lm.save(out);
        }
        return out;
    }
}
