package org.lethe.finetune;

import org.lethe.config.LetheConfig;
import org.lethe.data.IngestedDataset;
import org.lethe.data.PromptTemplate;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.distributed.TrainingSettings;
import org.lethe.job.JobRequest;
import org.lethe.job.RequestBuilder;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelSettings;

import java.util.List;

/**
 * A validated {@code finetune} request ({@code lethe.train.*}): the starting model (a directory, or
 * a seeded preset with a tokenizer), the ingested splits to train on, and how to train.
 *
 * @param training the shared training settings of {@code lethe.train}
 * @param model the model directory to start from; empty: a fresh {@code initPreset} model
 * @param tokenizer the tokenizer.json a fresh model carries (set whenever {@code model} is empty)
 * @param trainer the trainer options: {@code training}'s, with {@code lethe.lora} and
 *     {@code lethe.model.max_full_parameters}
 * @param provenance the config this request was built from (runs row, checkpoints' config_sha256)
 */
public record FinetuneRequest(TrainingSettings training, String model, String initPreset, long initSeed,
        String tokenizer, IngestedDataset.Ref data, List<String> splits, ModelSettings modelSettings,
        DataParallelTrainer.Options trainer, PromptTemplate prompt, LetheConfig provenance) implements JobRequest {

    public FinetuneRequest {
        splits = List.copyOf(splits);
    }

    /** Reads and checks {@code lethe.train.*} (and the model, LoRA and prompt settings it trains with). */
    public static FinetuneRequest of(LetheConfig config) {
        String dataset = required("train.dataset", config.getString("train.dataset"));
        List<String> splits = config.getStringList("train.splits");
        if (splits.isEmpty()) {
            throw new IllegalArgumentException("lethe.train.splits is empty: name the splits to train on");
        }
        TrainingSettings training = TrainingSettings.of(config, "train");
        String model = config.getString("train.model");
        String tokenizer = config.getString("train.tokenizer");
        if (model.isEmpty()) {
            required("train.tokenizer", tokenizer);
        }
        LoraSettings lora = LoraSettings.of(config);
        DataParallelTrainer.Options trainer = training.trainerOptions()
                .withMaxTrainedParameters(config.getLong("model.max_full_parameters")).withLora(lora);
        return new FinetuneRequest(training, model, config.getString("train.init_preset"),
                config.getLong("train.init_seed"), tokenizer,
                IngestedDataset.Ref.of(dataset, config.getString("train.data_run_id")), splits,
                ModelSettings.of(config), trainer, PromptTemplate.of(config), config);
    }

    private static String required(String key, String v) {
        if (v.isEmpty()) {
            throw new IllegalArgumentException("lethe." + key + " must be set");
        }
        return v;
    }

    /** A builder deriving requests from {@code base}. */
    public static Builder builder(LetheConfig base) {
        return new Builder(base);
    }

    /** A builder deriving requests from this one's config. */
    public Builder toBuilder() {
        return new Builder(provenance);
    }

    /** This request starting from the model directory {@code dir}. */
    public FinetuneRequest withModel(String dir) {
        return toBuilder().model(dir).build();
    }

    /** This request training on {@code splits}. */
    public FinetuneRequest withSplits(List<String> splits) {
        return toBuilder().splits(splits).build();
    }

    /** This request writing its checkpoints under {@code dir}. */
    public FinetuneRequest withOutput(String dir) {
        return toBuilder().output(dir).build();
    }

    /**
     * Derives a request from a config with {@code lethe.train.*} values set on top, validated as
     * {@link #of} validates, with the fingerprint {@code --set} of the same values gives.
     */
    public static final class Builder extends RequestBuilder<FinetuneRequest, Builder> {

        private Builder(LetheConfig base) {
            super(base);
        }

        public Builder model(String dir) {
            return set("train.model", dir);
        }

        public Builder dataset(String dataset) {
            return set("train.dataset", dataset);
        }

        /** The dataset's ingest run id (empty: its default run). */
        public Builder dataRunId(String runId) {
            return set("train.data_run_id", runId);
        }

        public Builder tokenizer(String file) {
            return set("train.tokenizer", file);
        }

        public Builder initPreset(String preset) {
            return set("train.init_preset", preset);
        }

        public Builder initSeed(long seed) {
            return set("train.init_seed", seed);
        }

        public Builder splits(List<String> splits) {
            return set("train.splits", List.copyOf(splits));
        }

        public Builder epochs(int epochs) {
            return set("train.epochs", epochs);
        }

        public Builder batchSize(int size) {
            return set("train.batch_size", size);
        }

        public Builder microBatchSize(int size) {
            return set("train.micro_batch_size", size);
        }

        public Builder lr(double lr) {
            return set("train.lr", lr);
        }

        /** constant, linear or cosine. */
        public Builder schedule(String schedule) {
            return set("train.schedule", schedule);
        }

        public Builder warmupSteps(long steps) {
            return set("train.warmup_steps", steps);
        }

        public Builder resume(boolean resume) {
            return set("train.resume", resume);
        }

        /** Stop after this global step (0: all epochs). */
        public Builder maxSteps(long steps) {
            return set("train.max_steps", steps);
        }

        /** The checkpoint directory (empty: under the table root). */
        public Builder output(String dir) {
            return set("train.output", dir);
        }

        @Override
        protected Builder self() {
            return this;
        }

        @Override
        protected FinetuneRequest build(LetheConfig derived) {
            return of(derived);
        }
    }
}
