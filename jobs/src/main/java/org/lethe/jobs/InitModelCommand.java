package org.lethe.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lethe.config.LetheConfig;
import org.lethe.model.LanguageModel;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.text.ByteLevelTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe init-model}: a freshly initialized, seeded Llama in the Hugging Face layout. */
@Command(name = "init-model", mixinStandardHelpOptions = true,
    description = {
        "Write a freshly initialized (seeded) Llama model directory to train from scratch.",
        "Presets: tiny, demo, bench-25m. The vocabulary comes from --tokenizer (a tokenizer.json),",
        "else a byte-level tokenizer (259 ids) is written beside the model. Prints one JSON object."})
public final class InitModelCommand extends LetheCommand {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Model directory to write (replaced if present).")
    private Path out;

    @Option(names = "--preset", defaultValue = "demo", paramLabel = "NAME",
        description = "Architecture preset (default: ${DEFAULT-VALUE}).")
    private String preset;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json to pair with the model.")
    private Path tokenizer;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Initialization seed (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Override
    protected void run(LetheConfig config) throws Exception {
        Path tokFile = tokenizer;
        Path scratch = null;
        if (tokFile == null) {
            scratch = Files.createTempDirectory("lethe-tokenizer");
            tokFile = ByteLevelTokenizer.write(scratch);
        } else if (!Files.isRegularFile(tokFile)) {
            throw new IllegalArgumentException("--tokenizer " + tokFile + ": not a file");
        }
        try {
            int vocab = LmTokenizer.vocabularySize(tokFile);
            LlamaConfig architecture = ModelPresets.config(preset, vocab);
            try (LanguageModel lm = LanguageModel.fresh(architecture, ModelSettings.of(config), seed, tokFile)) {
                lm.save(out);
                ObjectNode result = JSON.createObjectNode();
                result.put("model", out.toAbsolutePath().toString());
                result.put("preset", preset);
                result.put("seed", seed);
                result.put("vocab_size", vocab);
                result.put("parameters", lm.block().parameterCount());
                out().println(result.toString());
            }
        } finally {
            if (scratch != null) {
                Files.deleteIfExists(scratch.resolve("tokenizer.json"));
                Files.deleteIfExists(scratch);
            }
        }
    }
}
