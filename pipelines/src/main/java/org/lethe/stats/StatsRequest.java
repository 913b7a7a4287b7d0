package org.lethe.stats;

import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.data.PromptTemplate;
import org.lethe.job.JobRequest;
import org.lethe.job.RequestBuilder;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What a {@code stats} run computes: the validated {@code lethe.stats.*} settings, with the model
 * settings and prompt template the samples are encoded and scored under.
 *
 * @param data the ingested dataset and its ingest run
 * @param splits role (forget, retain, holdout; in {@link StatsJob#ROLES} order) to split, non-empty
 * @param gradient {@code [lora]} or parameter-name patterns
 * @param lora the adapters the gradient is taken of with {@code [lora]}, else null
 * @param provenance the config this request was built from (for the {@code runs} row only)
 */
public record StatsRequest(IngestedDataset.Ref data, Map<String, String> splits, int batchSize, int partitions,
        int projectionDim, int projectionBlock, int topM, int searchBlockSize, long seed, List<String> gradient,
        LoraSettings lora, double miaK, ModelSettings model, PromptTemplate template, LetheConfig provenance)
        implements JobRequest {

    public StatsRequest {
        splits = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(splits));
        gradient = List.copyOf(gradient);
    }

    /** Reads and checks {@code lethe.stats.*}; errors name the key. */
    public static StatsRequest of(LetheConfig config) {
        String dataset = config.getString("stats.dataset");
        if (dataset.isBlank()) {
            throw new IllegalArgumentException("lethe.stats.dataset must be set");
        }
        IngestedDataset.Ref data = IngestedDataset.Ref.of(dataset, config.getString("stats.data_run_id"));
        Map<String, String> splits = new LinkedHashMap<>();
        for (String role : StatsJob.ROLES) {
            String s = config.getString("stats.splits." + role);
            if (!s.isBlank()) {
                splits.put(role, s);
            }
        }
        if (splits.isEmpty()) {
            throw new IllegalArgumentException("lethe.stats.splits: no split is configured");
        }
        for (String key : List.of("batch_size", "partitions", "projection_dim", "projection_block", "top_m",
                "search_block_size")) {
            if (config.getInt("stats." + key) <= 0) {
                throw new IllegalArgumentException("lethe.stats." + key + " must be > 0, got "
                        + config.getInt("stats." + key));
            }
        }
        double k = config.getDouble("stats.mia_k");
        if (!(k > 0 && k <= 1)) {
            throw new IllegalArgumentException("lethe.stats.mia_k must be in (0, 1], got " + k);
        }
        List<String> gradient = config.getStringList("stats.gradient");
        if (gradient.isEmpty()) {
            throw new IllegalArgumentException("lethe.stats.gradient must be [lora] or parameter-name patterns");
        }
        LoraSettings lora = null;
        if (gradient.contains("lora")) {
            if (gradient.size() != 1) {
                throw new IllegalArgumentException("lethe.stats.gradient: 'lora' cannot be combined with"
                        + " parameter patterns, got " + gradient);
            }
            lora = LoraSettings.of(config);
            if (lora == null) {
                int rank = config.getInt("stats.lora_rank");
                if (rank <= 0) {
                    throw new IllegalArgumentException("lethe.stats.lora_rank must be > 0 when lethe.lora.rank is 0"
                            + " and lethe.stats.gradient = [lora], got " + rank);
                }
                try {
                    lora = new LoraSettings(rank, config.getDouble("lora.alpha"),
                            config.getStringList("lora.target_modules"), config.getLong("lora.seed"));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("lethe.lora: " + e.getMessage(), e);
                }
            }
        } else {
            for (String p : gradient) {
                try {
                    Pattern.compile(p);
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("lethe.stats.gradient: '" + p + "' is not a regular"
                            + " expression: " + e.getDescription(), e);
                }
            }
        }
        return new StatsRequest(data, splits, config.getInt("stats.batch_size"), config.getInt("stats.partitions"),
                config.getInt("stats.projection_dim"), config.getInt("stats.projection_block"),
                config.getInt("stats.top_m"), config.getInt("stats.search_block_size"), config.getLong("stats.seed"),
                gradient, lora, k, ModelSettings.of(config), PromptTemplate.of(config), config);
    }

    /** A builder of the request {@code base} gives with the values set on it. */
    public static Builder builder(LetheConfig base) {
        return new Builder(base);
    }

    /** A builder of this request with values changed (its validation and provenance are the factory's). */
    public Builder toBuilder() {
        return new Builder(provenance);
    }

    /** Derives a stats request from a config, as {@code --set stats.*} would. */
    public static final class Builder extends RequestBuilder<StatsRequest, Builder> {

        private Builder(LetheConfig base) {
            super(base);
        }

        /** {@code lethe.stats.dataset}. */
        public Builder dataset(String dataset) {
            return set("stats.dataset", dataset);
        }

        /** {@code lethe.stats.data_run_id} (empty: the dataset's default ingest run). */
        public Builder dataRunId(String dataRunId) {
            return set("stats.data_run_id", dataRunId);
        }

        /** {@code lethe.stats.splits.holdout} (empty: no holdout split is described). */
        public Builder holdoutSplit(String split) {
            return set("stats.splits.holdout", split);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected StatsRequest build(LetheConfig derived) {
            return of(derived);
        }
    }
}
