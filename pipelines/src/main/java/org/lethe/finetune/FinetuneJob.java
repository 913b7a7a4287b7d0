package org.lethe.finetune;

import org.lethe.distributed.Checkpoints;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.distributed.EpochPlan;
import org.lethe.distributed.LrSchedule;
import org.lethe.distributed.TrainingLoop;
import org.lethe.unlearn.LossObjective;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.lethe.config.LetheConfig;
import org.lethe.data.PromptTemplate;
import org.lethe.data.SampleEncoder;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

/**
 * The {@code finetune} job: language modeling on the answer tokens of ingested samples (TOFU's
 * encoding), data-parallel on Spark, from a model directory or a fresh seeded model; writes the
 * final checkpoint in the Hugging Face layout and one {@code train_steps} row per step.
 */
public final class FinetuneJob {

    private static final Logger LOG = LoggerFactory.getLogger(FinetuneJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();


    /** What the job did. */
    public record Summary(String runId, String checkpoint, long steps, long resumedFrom, long samples,
            double firstLoss, double lastLoss, String modelFingerprint, String dataFingerprint) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("checkpoint", checkpoint);
            o.put("steps", steps);
            o.put("resumed_from_step", resumedFrom);
            o.put("samples", samples);
            // NaN when a resumed run had nothing left to do: JSON has no NaN, so null.
            if (Double.isNaN(firstLoss)) {
                o.putNull("first_loss");
                o.putNull("last_loss");
            } else {
                o.put("first_loss", firstLoss);
                o.put("last_loss", lastLoss);
            }
            o.put("model_fingerprint", modelFingerprint);
            o.put("data_fingerprint", dataFingerprint);
            return o;
        }
    }

    private final SparkSession spark;
    private final TableStore store;
    private final LetheConfig config;

    public FinetuneJob(SparkSession spark, TableStore store, LetheConfig config) {
        this.spark = spark;
        this.store = store;
        this.config = config;
    }

    public Summary run(String runId) throws IOException {
        return run(runId, null);
    }

    /**
     * Fine-tunes on the configured splits without the samples of {@code excluded} (a {@code
     * sample_id} column; null: none): a retain-only model for a forget selection.
     */
    public Summary run(String runId, Dataset<Row> excluded) throws IOException {
        org.lethe.store.RunIds.validate(runId);
        String dataset = required("train.dataset");
        List<String> splits = config.getStringList("train.splits");
        if (splits.isEmpty()) {
            throw new IllegalArgumentException("lethe.train.splits is empty: name the splits to train on");
        }
        String dataRun = config.getString("train.data_run_id").isEmpty() ? "ingest-" + dataset
                : config.getString("train.data_run_id");
        int epochs = positive("train.epochs");
        int batchSize = positive("train.batch_size");
        int microBatch = positive("train.micro_batch_size");
        int partitions = positive("train.partitions");
        long seed = config.getLong("train.seed");
        Path output = Checkpoints.output(store, config, "train.output", runId);
        ModelSettings settings = ModelSettings.of(config);
        Optional<Checkpoints.Found> resume = config.getBoolean("train.resume") ? Checkpoints.latest(output)
                : Optional.empty();
        if (resume.isPresent() && !resume.get().configSha256().equals(config.sha256())) {
            LOG.warn("finetune {}: resuming from {} written under a different config", runId, resume.get().dir());
        }
        String modelDir = resume.isPresent() ? resume.get().dir().toString() : startingModel(settings, output);
        long every = config.getLong("train.checkpoint_every_steps");
        long maxSteps = config.getLong("train.max_steps");

        // The samples of the splits, encoded with this model's tokenizer.
        if (!store.exists("memberships") || !store.exists("examples")) {
            throw new IllegalArgumentException("no ingested data under " + store.root() + ": run `lethe ingest` first");
        }
        Dataset<Row> ids = store.read("memberships")
                .filter(col("run_id").equalTo(dataRun).and(col("dataset").equalTo(dataset))
                        .and(col("split").isin(splits.toArray())))
                .select("sample_id").distinct();
        if (excluded != null) {
            ids = ids.except(excluded.select("sample_id"));
        }
        Dataset<Row> examples = store.read("examples")
                .filter(col("run_id").equalTo(dataRun).and(col("dataset").equalTo(dataset)))
                .join(ids, "sample_id");
        String tokenizerSha = fingerprint(Paths.get(modelDir, "tokenizer.json"));
        Dataset<Row> encoded = SampleEncoder.trainingRows(spark, examples, modelDir, PromptTemplate.of(config),
                tokenizerSha).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long samples = encoded.count();
            if (samples == 0) {
                throw new IllegalArgumentException("dataset '" + dataset + "' (ingest run " + dataRun + ") has no"
                        + " samples in splits " + splits);
            }
            Row fp = encoded.agg(expr("sum(xxhash64(sample_id, input_ids))")).head();
            String dataFingerprint = dataset + "/" + dataRun + "/" + splits + "/" + (fp.isNullAt(0) ? 0 : fp.getLong(0));
            long perEpoch = EpochPlan.stepsPerEpoch(samples, batchSize);
            LrSchedule schedule = new LrSchedule(config.getDouble("train.lr"), config.getString("train.schedule"),
                    config.getLong("train.warmup_steps"), perEpoch * epochs);
            AdamW.Settings optimizer = new AdamW.Settings(0.9, 0.999, 1e-8, config.getDouble("train.weight_decay"));
            LossObjective objective = new LossObjective(
                    List.of(new LossObjective.Part("nll", false, "nll", Map.of(), 1.0)), 0, new long[1]);
            TrainingLoop.Result result;
            try (DataParallelTrainer trainer = new DataParallelTrainer(spark, modelDir, settings,
                    new DataParallelTrainer.Options(optimizer, config.getDouble("train.max_grad_norm"), partitions,
                            List.of(), null, null, 0, config.getLong("model.max_full_parameters"),
                            DataParallelTrainer.Options.lora(config),
                    DataParallelTrainer.Reduce.parse(config.getString("train.reduce"), "lethe.train.reduce")))) {
                TrainingLoop.Settings loop = new TrainingLoop.Settings("finetune", runId, epochs, perEpoch, maxSteps,
                        every, seed, config.sha256(), output, schedule, trainer.model().config().hiddenSize());
                result = TrainingLoop.run(spark, store, trainer, loop, objective,
                        epoch -> LossObjective.plainRows(EpochPlan.plan(spark, encoded, seed, epoch, batchSize,
                                microBatch), LossObjective.Role.RETAIN), resume);
            }
            Path checkpoint = result.checkpoint();
            return new Summary(runId, checkpoint.toString(), result.steps(), result.resumedFrom(), samples,
                    result.firstLoss(), result.lastLoss(),
                    fingerprint(Checkpoints.weightsFile(checkpoint)), dataFingerprint);
        } finally {
            encoded.unpersist();
        }
    }

    /** {@code train.model}, or a fresh seeded model written under the output directory. */
    private String startingModel(ModelSettings settings, Path output) {
        String model = config.getString("train.model");
        if (!model.isEmpty()) {
            return model;
        }
        String tokenizer = required("train.tokenizer");
        Path init = output.resolveSibling(output.getFileName() + "-init");
        try (LanguageModel fresh = LanguageModel.fresh(ModelPresets.config(config.getString("train.init_preset"),
                LmTokenizer.vocabularySize(Paths.get(tokenizer))), settings, config.getLong("train.init_seed"),
                Paths.get(tokenizer))) {
            fresh.save(init);
        }
        return init.toString();
    }

    private String fingerprint(Path localFile) {
        return org.lethe.store.Fingerprints.sha256(new org.apache.hadoop.fs.Path(localFile.toUri()),
                spark.sparkContext().hadoopConfiguration());
    }

    private String required(String key) {
        String v = config.getString(key);
        if (v.isEmpty()) {
            throw new IllegalArgumentException("lethe." + key + " must be set");
        }
        return v;
    }

    private int positive(String key) {
        int v = config.getInt(key);
        if (v <= 0) {
            throw new IllegalArgumentException("lethe." + key + " must be > 0, got " + v);
        }
        return v;
    }

}
