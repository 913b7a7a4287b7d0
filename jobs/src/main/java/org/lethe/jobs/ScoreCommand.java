package org.lethe.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.lethe.config.LetheConfig;
import org.lethe.model.LanguageModel;
import org.lethe.storage.LocalModels;
import org.lethe.storage.ModelCacheSettings;
import org.lethe.model.ModelSettings;
import org.lethe.model.LmScorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe score}: per-token negative log-likelihood of a text under a local model. */
@Command(name = "score", mixinStandardHelpOptions = true,
    description = {
        "Per-token negative log-likelihood of a text under a local model.",
        "Teacher-forced, BOS prepended. Prints one JSON object: input_ids, token_nll (one per",
        "predicted token, i.e. len(input_ids) - 1) and mean_nll."})
public final class ScoreCommand extends LetheCommand {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--model", required = true, paramLabel = "DIR",
        description = "Hugging Face model directory (config.json, model.safetensors, tokenizer.json): a local"
            + " path or a Hadoop URI (hdfs://, s3a://...), read through the node's model cache.")
    private String model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text to score.")
    private String text;

    @Override
    protected void run(LetheConfig config) {
        try (LanguageModel lm = LocalModels.load(model, ModelCacheSettings.of(config),
                d -> LanguageModel.load(d, ModelSettings.of(config)))) {
            long[] ids = lm.tokenizer().encode(text, true);
            if (ids.length < 2) {
                throw new IllegalArgumentException("--text must hold at least one token to score");
            }
            float[] logProbs = LmScorer.tokenLogProbs(lm, List.of(ids)).get(0);
            ObjectNode result = JSON.createObjectNode();
            ArrayNode idArray = result.putArray("input_ids");
            for (long id : ids) {
                idArray.add(id);
            }
            ArrayNode nll = result.putArray("token_nll");
            double sum = 0;
            for (float lp : logProbs) {
                nll.add(-lp);
                sum += -lp;
            }
            result.put("mean_nll", sum / logProbs.length);
            out().println(result.toString());
        }
    }
}
