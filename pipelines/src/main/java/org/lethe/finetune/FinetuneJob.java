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
import org.lethe.data.IngestedDataset;
import org.lethe.data.SampleEncoder;
import org.lethe.distributed.TrainingSettings;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.storage.Locations;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    public FinetuneJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    public Summary run(FinetuneRequest request, String runId) throws IOException {
        return run(request, runId, null);
    }

    /**
     * Fine-tunes on the request's splits without the samples of {@code excluded} (a {@code
     * sample_id} column; null: none): a retain-only model for a forget selection.
     */
    public Summary run(FinetuneRequest request, String runId, Dataset<Row> excluded) throws IOException {
        RunIds.validate(runId);
        TrainingSettings training = request.training();
        List<String> splits = request.splits();
        String output = training.output(store, runId);
        Optional<Checkpoints.Found> resume = training.resumeFrom(output);
        com.fasterxml.jackson.databind.JsonNode weightSettings =
                org.lethe.distributed.ResumeGuard.settings(request.provenance(), "train");
        if (resume.isPresent()) {
            org.lethe.distributed.ResumeGuard.check(resume.get(), runId, request.configSha256(), weightSettings, "train");
        }
        String modelDir = resume.isPresent() ? resume.get().dir() : startingModel(request, output);

        // The samples of the splits, encoded with this model's tokenizer.
        IngestedDataset data = IngestedDataset.open(store, request.data());
        Dataset<Row> ids = data.ids(splits);
        if (excluded != null) {
            ids = ids.except(excluded.select("sample_id"));
        }
        Dataset<Row> examples = data.examples().join(ids, "sample_id");
        String tokenizerSha = org.lethe.store.Fingerprints.sha256(new org.apache.hadoop.fs.Path(
                Locations.hadoopPath(modelDir), "tokenizer.json"), spark.sparkContext().hadoopConfiguration());
        Dataset<Row> encoded = SampleEncoder.trainingRows(spark, examples, modelDir, request.prompt(),
                tokenizerSha).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long samples = encoded.count();
            if (samples == 0) {
                throw new IllegalArgumentException(request.data().describe() + " has no samples in splits " + splits);
            }
            Row fp = encoded.agg(expr("sum(xxhash64(sample_id, input_ids))")).head();
            String dataFingerprint = request.data().dataset() + "/" + request.data().dataRun() + "/" + splits + "/"
                    + (fp.isNullAt(0) ? 0 : fp.getLong(0));
            long perEpoch = EpochPlan.stepsPerEpoch(samples, training.batchSize());
            LrSchedule schedule = training.lrSchedule(training.warmupSteps(), perEpoch);
            LossObjective objective = new LossObjective(
                    List.of(LossObjective.Part.of(false, "nll", 1.0, Map.of())), 0, new long[1]);
            TrainingLoop.Result result;
            try (DataParallelTrainer trainer = new DataParallelTrainer(spark, modelDir, request.modelSettings(),
                    request.trainer())) {
                TrainingLoop.Settings loop = training.loop("finetune", runId, perEpoch, request.configSha256(), output,
                        schedule, trainer.model().config().hiddenSize(), weightSettings);
                long seed = training.seed();
                int batchSize = training.batchSize();
                int microBatch = training.microBatchSize();
                result = TrainingLoop.run(spark, store, trainer, loop, objective,
                        epoch -> LossObjective.plainRows(EpochPlan.plan(spark, encoded, seed, epoch, batchSize,
                                microBatch), LossObjective.Role.RETAIN), resume);
            }
            String checkpoint = result.checkpoint();
            return new Summary(runId, checkpoint, result.steps(), result.resumedFrom(), samples,
                    result.firstLoss(), result.lastLoss(),
                    Checkpoints.weightsSha256(checkpoint, spark.sparkContext().hadoopConfiguration()), dataFingerprint);
        } finally {
            encoded.unpersist();
        }
    }

    /**
     * The request's model, or a fresh seeded model committed beside the output location as
     * {@code <output>-init} (written locally first when the output is remote).
     */
    private static String startingModel(FinetuneRequest request, String output) {
        if (!request.model().isEmpty()) {
            return request.model();
        }
        Path tokenizer = Paths.get(request.tokenizer());
        String init = output + "-init";
        try (LanguageModel fresh = LanguageModel.fresh(ModelPresets.config(request.initPreset(),
                LmTokenizer.vocabularySize(tokenizer)), request.modelSettings(), request.initSeed(), tokenizer)) {
            return Checkpoints.commit(init, new org.apache.hadoop.fs.Path(init).getName(), fresh::save);
        }
    }
}
