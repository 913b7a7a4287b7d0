package org.lethe.jobs;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.lethe.config.LetheConfig;
import org.lethe.model.LanguageModel;
import org.lethe.storage.LocalModels;
import org.lethe.storage.ModelCacheSettings;
import org.lethe.model.GenerateSettings;
import org.lethe.model.GreedyDecoder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe generate}: greedy continuation of one prompt with a local Hugging Face model. */
@Command(name = "generate", mixinStandardHelpOptions = true,
    description = {
        "Greedy continuation of a prompt with a local Hugging Face model.",
        "Prints the continuation's text, or with --ids its token ids separated by spaces. An empty",
        "prompt starts from BOS alone; EOS ends the continuation early and is not printed."})
public final class GenerateCommand extends LetheCommand {

    @Option(names = "--model", required = true, paramLabel = "DIR",
        description = "Hugging Face model directory (config.json, model.safetensors, tokenizer.json): a local"
            + " path or a Hadoop URI (hdfs://, s3a://...), read through the node's model cache.")
    private String model;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The prompt (may be empty).")
    private String prompt;

    @Option(names = "--max-new-tokens", paramLabel = "N",
        description = "Exact number of new tokens unless EOS comes first (default: lethe.generate.max_new_tokens).")
    private Integer maxNewTokens;

    @Option(names = "--ids", description = "Print the generated token ids instead of text.")
    private boolean ids;

    @Override
    protected void run(LetheConfig config) {
        GenerateSettings settings = GenerateSettings.of(config, maxNewTokens);
        try (LanguageModel lm = LocalModels.load(model, ModelCacheSettings.of(config),
                d -> LanguageModel.load(d, settings.model()))) {
            long[] promptIds = lm.tokenizer().encode(prompt, true);
            long[] generated = GreedyDecoder.generate(lm, List.of(promptIds), settings.maxNewTokens(), true).get(0);
            out().println(ids
                ? Arrays.stream(generated).mapToObj(Long::toString).collect(Collectors.joining(" "))
                : lm.tokenizer().decode(generated));
        }
    }
}
