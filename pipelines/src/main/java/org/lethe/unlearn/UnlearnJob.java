package org.lethe.unlearn;

import org.lethe.distributed.Checkpoints;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.distributed.EpochPlan;
import org.lethe.distributed.LrSchedule;
import org.lethe.distributed.TrainingLoop;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.lethe.data.IngestedDataset;
import org.lethe.data.PromptTemplate;
import org.lethe.data.Refusals;
import org.lethe.data.SampleEncoder;
import org.lethe.distributed.TrainingSettings;
import org.lethe.model.ModelSettings;
import org.lethe.storage.Locations;
import org.lethe.store.Fingerprints;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

/**
 * The {@code unlearn} job: one method (a preset of forget and retain loss terms, see
 * {@link UnlearnSpec}) from a model directory on the forget/retain memberships of an ingested
 * dataset, data-parallel on Spark. Each forget row of a step is paired with one retain row: the
 * pairing, the refusal each sample gets and the retain answer its mismatched pair borrows are
 * pure functions of (seed, epoch, sample id), so retried tasks, resumed runs and other partition
 * counts see the same batches. Writes checkpoints (HF layout + AdamW moments + trainer state),
 * one {@code train_steps} row per step with every term, and a JSON summary.
 */
public final class UnlearnJob {

    private static final Logger LOG = LoggerFactory.getLogger(UnlearnJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the job did. */
    public record Summary(String runId, String method, List<String> terms, double lr, String checkpoint, long steps,
            long resumedFrom, long forgetSamples, long retainSamples, double firstLoss, double lastLoss,
            String modelFingerprint, String dataFingerprint) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("method", method);
            terms.forEach(o.putArray("terms")::add);
            o.put("lr", lr);
            o.put("checkpoint", checkpoint);
            o.put("steps", steps);
            o.put("resumed_from_step", resumedFrom);
            o.put("forget_samples", forgetSamples);
            o.put("retain_samples", retainSamples);
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

    public UnlearnJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /**
     * Which samples to forget instead of the request's forget split ({@code forgetIds}, a
     * {@code sample_id} column), and samples never to keep besides them ({@code excluded}, null for
     * none): how {@code continual} unlearns a request's selection while what earlier requests
     * forgot stays out of the retain data.
     */
    public record Selection(String label, Dataset<Row> forgetIds, Dataset<Row> excluded) {}

    public Summary run(UnlearnRequest request, String runId) {
        return run(request, runId, null);
    }

    /** Runs with the forget data of {@code selection} (null: the request's forget split). */
    public Summary run(UnlearnRequest request, String runId, Selection selection) {
        // Everything the config alone decides failed in UnlearnRequest.of, before Spark did any work.
        RunIds.validate(runId);
        UnlearnSpec spec = request.spec();
        UnlearnSpec.Samples chosen = spec.samples();
        TrainingSettings training = spec.training();
        long seed = training.seed();
        int batchSize = training.batchSize();
        int microBatch = training.microBatchSize();
        String output = training.output(store, runId);
        Optional<Checkpoints.Found> resume = training.resumeFrom(output);
        com.fasterxml.jackson.databind.JsonNode weightSettings =
                org.lethe.distributed.ResumeGuard.settings(request.provenance(), "unlearn");
        if (resume.isPresent()) {
            org.lethe.distributed.ResumeGuard.check(resume.get(), runId, request.configSha256(), weightSettings, "unlearn");
        }
        String modelDir = resume.isPresent() ? resume.get().dir() : spec.model();

        IngestedDataset data = IngestedDataset.open(store, request.data());
        Dataset<Row> examples = data.examples();
        String forgetSplit = selection == null ? chosen.forgetSplit() : selection.label();
        String retainSplit = chosen.retainSplit();
        Dataset<Row> forgetIds = selection == null ? data.ids(forgetSplit)
                : selection.forgetIds().select("sample_id").distinct();
        // A sample to forget is never also one to keep.
        Dataset<Row> retainIds = data.ids(retainSplit).except(forgetIds);
        if (selection != null && selection.excluded() != null) {
            retainIds = retainIds.except(selection.excluded().select("sample_id"));
        }
        if (chosen.skipForgotten()) {
            forgetIds = forgetIds.except(StatsSelection.forgotten(store, request.data().dataset(), chosen.statsRunId(),
                    chosen.retainStatsRunId()));
        }
        Dataset<Row> entangled = chosen.entangled() ? StatsSelection.pairs(store, chosen.statsRunId()) : null;
        String tokenizerSha = Fingerprints.sha256(new org.apache.hadoop.fs.Path(Locations.hadoopPath(spec.model()),
                "tokenizer.json"), spark.sparkContext().hadoopConfiguration());
        PromptTemplate template = spec.prompt();

        Dataset<Row> forgetEx = examples.join(forgetIds, "sample_id").persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> retainEx = examples.join(retainIds, "sample_id").persist(StorageLevel.MEMORY_AND_DISK());
        List<Dataset<Row>> cached = new ArrayList<>(List.of(forgetEx, retainEx));
        try {
            long nForget = forgetEx.count();
            if (nForget == 0) {
                String left = chosen.skipForgotten() ? " left after lethe.unlearn.skip_forgotten" : "";
                throw selection == null
                        ? data.noSamples("lethe.unlearn.forget_split", "split '" + forgetSplit + "'" + left)
                        : new IllegalArgumentException("forget selection " + request.data().describe()
                                + " has no samples in " + forgetSplit + left + "; its splits: " + data.splits());
            }
            long nRetain = spec.needsRetain() ? retainEx.count() : 0;
            if (spec.needsRetain() && nRetain == 0) {
                throw data.noSamples("lethe.unlearn.retain_split", "split '" + retainSplit + "' outside the forget"
                        + " split, and " + spec.method().name() + " needs them");
            }

            Dataset<Row> refusals = spec.needsRefusals() ? refusals(data, chosen.datasetRefusals()) : null;
            Dataset<Row> forgetRows = rows(forgetEx, refusals, spec.needsMismatch() ? retainEx : null, nRetain, seed,
                    spec.model(), template, tokenizerSha).persist(StorageLevel.MEMORY_AND_DISK());
            cached.add(forgetRows);
            boolean retainRows = spec.parts().stream().anyMatch(p -> !p.forget()
                    && LossObjective.rowsOf(p, p.build()) == LossObjective.Role.RETAIN);
            Dataset<Row> retain = retainRows ? rows(retainEx, spec.refusalsOnRetain() ? refusals : null, null, 0, seed,
                    spec.model(), template, tokenizerSha).persist(StorageLevel.MEMORY_AND_DISK()) : null;
            if (retain != null) {
                cached.add(retain);
            }
            Row fp = forgetRows.agg(expr("sum(xxhash64(sample_id, input_ids))")).head();
            String dataFingerprint = request.data().dataset() + "/" + request.data().dataRun() + "/" + forgetSplit + "/"
                    + retainSplit + "/" + (fp.isNullAt(0) ? 0 : fp.getLong(0));

            long perEpoch = EpochPlan.stepsPerEpoch(nForget, batchSize);
            LrSchedule schedule = training.lrSchedule(spec.warmupSteps(perEpoch), perEpoch);
            LossObjective objective = new LossObjective(spec.parts(), spec.layer(), new long[spec.parts().size()]);
            TrainingLoop.Result result;
            try (DataParallelTrainer trainer = trainer(modelDir, spec.modelSettings(), spec.trainer())) {
                LOG.info("unlearn {}: {} ({}), lr {}, {} forget / {} retain samples, {} steps of {}, {} parameters"
                        + " trained", runId, spec.method().name(), spec.parts(), spec.lr(), nForget, nRetain,
                        perEpoch * training.epochs(), batchSize, trainer.trainedParameters().size());
                TrainingLoop.Settings loop = training.loop("unlearn", runId, perEpoch, request.configSha256(), output,
                        schedule, trainer.model().config().hiddenSize(), weightSettings);
                long forgetCount = nForget;
                long retainCount = nRetain;
                result = TrainingLoop.run(spark, store, trainer, loop, objective,
                        epoch -> plan(forgetRows, retain, entangled, forgetCount, retainCount, seed, epoch, batchSize,
                                microBatch),
                        resume);
            }
            String checkpoint = result.checkpoint();
            return new Summary(runId, spec.method().name(), spec.parts().stream().map(LossObjective.Part::label).toList(),
                    spec.lr(), checkpoint, result.steps(), result.resumedFrom(), nForget, nRetain,
                    result.firstLoss(), result.lastLoss(), Checkpoints.weightsSha256(checkpoint, spark.sparkContext().hadoopConfiguration()),
                    dataFingerprint);
        } finally {
            cached.forEach(Dataset::unpersist);
        }
    }

    private DataParallelTrainer trainer(String modelDir, ModelSettings settings, DataParallelTrainer.Options options) {
        try {
            return new DataParallelTrainer(spark, modelDir, settings, options);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("trainable parameter pattern")) {
                throw new IllegalArgumentException("lethe.unlearn.trainable: " + e.getMessage(), e);
            }
            throw e;
        }
    }

    /**
     * (refusal_index, refusal_text): the dataset's ingested refusals when {@code ingested} and it
     * has any, else the built-in ones.
     */
    private Dataset<Row> refusals(IngestedDataset data, boolean ingested) {
        List<String> texts = new ArrayList<>();
        if (ingested && store.exists(Tables.REFUSALS)) {
            data.rowsOf(Tables.REFUSALS).orderBy("source_file", "line").select("text").collectAsList()
                    .forEach(r -> texts.add(r.getString(0)));
        }
        if (texts.isEmpty()) {
            texts.addAll(Refusals.builtIn());
        }
        LOG.info("unlearn: {} refusal answers", texts.size());
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            rows.add(RowFactory.create(i, texts.get(i)));
        }
        return spark.createDataFrame(rows, new StructType().add("refusal_index", DataTypes.IntegerType, false)
                .add("refusal_text", DataTypes.StringType, false));
    }

    /**
     * Training rows of {@code examples} (sample_id, input_ids, labels) with their alternatives: the
     * question with the sample's seeded refusal (when {@code refusals} is given) and with a seeded
     * retain sample's answer (when {@code mismatchSource} is given); null columns otherwise.
     */
    private Dataset<Row> rows(Dataset<Row> examples, Dataset<Row> refusals, Dataset<Row> mismatchSource, long nRetain,
            long seed, String modelDir, PromptTemplate template, String tokenizerSha) {
        Dataset<Row> base = SampleEncoder.trainingRows(spark, examples, modelDir, template, tokenizerSha);
        org.apache.spark.sql.types.DataType ints = DataTypes.createArrayType(DataTypes.IntegerType);
        Dataset<Row> out = base;
        if (refusals != null) {
            long n = refusals.count();
            Dataset<Row> withRefusal = examples
                    .withColumn("refusal_index", expr("CAST(pmod(xxhash64(" + seed + "L, 'refusal', sample_id), " + n
                            + ") AS INT)"))
                    .join(refusals, "refusal_index")
                    .withColumn("answer", col("refusal_text")).drop("refusal_index", "refusal_text");
            out = out.join(alternative(withRefusal, "refusal", modelDir, template, tokenizerSha), "sample_id");
        } else {
            out = out.withColumn("refusal_ids", lit(null).cast(ints)).withColumn("refusal_labels", lit(null).cast(ints));
        }
        if (mismatchSource != null) {
            // Retain answers in a seeded order; each forget sample borrows the one its hash picks.
            Dataset<Row> answers = EpochPlan.plan(spark, mismatchSource.select("sample_id", "answer"), seed, -1, 1, 1)
                    .select(col("position").as("mismatch_position"), col("answer").as("mismatch_answer"));
            Dataset<Row> withMismatch = examples
                    .withColumn("mismatch_position", expr("pmod(xxhash64(" + seed + "L, 'mismatch', sample_id), "
                            + nRetain + ")"))
                    .join(answers, "mismatch_position")
                    .withColumn("answer", col("mismatch_answer")).drop("mismatch_position", "mismatch_answer");
            out = out.join(alternative(withMismatch, "mismatch", modelDir, template, tokenizerSha), "sample_id");
        } else {
            out = out.withColumn("mismatch_ids", lit(null).cast(ints)).withColumn("mismatch_labels", lit(null).cast(ints));
        }
        return out.select("sample_id", "input_ids", "labels", "refusal_ids", "refusal_labels", "mismatch_ids",
                "mismatch_labels");
    }

    private Dataset<Row> alternative(Dataset<Row> examples, String prefix, String modelDir, PromptTemplate template,
            String tokenizerSha) {
        return SampleEncoder.trainingRows(spark, examples, modelDir, template, tokenizerSha)
                .select(col("sample_id"), col("input_ids").as(prefix + "_ids"), col("labels").as(prefix + "_labels"));
    }

    /**
     * One epoch's step rows: the forget samples in the epoch's seeded order cut into steps and
     * micro-batches, and (when a term reads retain rows) each paired with the next retain sample of
     * an endless sequence of seeded retain epochs: forget position p of epoch e takes retain
     * position e * |forget| + p, so every retain sample is used once before any is used twice.
     */
    static Dataset<Row> plan(Dataset<Row> forget, Dataset<Row> retain, long nForget, long nRetain, long seed, int epoch,
            int batchSize, int microBatch) {
        return plan(forget, retain, null, nForget, nRetain, seed, epoch, batchSize, microBatch);
    }

    /**
     * As above; with {@code entangled} (forget_sample_id, retain_sample_id, rank: a stats run's
     * influence_pairs) each forget sample is paired instead with its candidates that are retain
     * rows, in rank order cycling over epochs (epoch e takes candidate e mod n); forget samples
     * without candidates keep the seeded pairing. A pure function of ids, like the rest of the plan.
     */
    static Dataset<Row> plan(Dataset<Row> forget, Dataset<Row> retain, Dataset<Row> entangled, long nForget,
            long nRetain, long seed, int epoch, int batchSize, int microBatch) {
        SparkSession spark = forget.sparkSession();
        Dataset<Row> f = EpochPlan.plan(spark, forget, seed, epoch, batchSize, microBatch)
                .withColumn("role", lit("forget")).withColumn("pair_id", col("sample_id"));
        List<Column> columns = new ArrayList<>(List.of(col("step"), col("micro"), col("role"), col("pair_id")));
        for (String c : List.of("input_ids", "labels", "refusal_ids", "refusal_labels", "mismatch_ids",
                "mismatch_labels")) {
            columns.add(col(c));
        }
        Dataset<Row> forgetPart = f.select(columns.toArray(new Column[0]));
        if (retain == null) {
            return forgetPart;
        }
        long firstG = (long) epoch * nForget;
        long lastG = firstG + nForget - 1;
        Dataset<Row> order = null;
        for (long k = firstG / nRetain; k <= lastG / nRetain; k++) {
            // Retain epochs are seeded apart from forget epochs (seed + 1).
            Dataset<Row> part = EpochPlan.plan(spark, retain, seed + 1, Math.toIntExact(k), 1, 1)
                    .withColumn("g", col("position").plus(k * nRetain));
            order = order == null ? part : order.unionByName(part);
        }
        Dataset<Row> fSteps = f.select(col("step"), col("micro"), col("pair_id"), col("position").plus(firstG).as("g"));
        Dataset<Row> chosen = null;
        if (entangled != null) {
            Dataset<Row> candidates = entangled.join(retain.select(col("sample_id").as("retain_sample_id")),
                    "retain_sample_id");
            org.apache.spark.sql.expressions.WindowSpec byForget = org.apache.spark.sql.expressions.Window
                    .partitionBy("forget_sample_id");
            chosen = candidates
                    .withColumn("_r", org.apache.spark.sql.functions.row_number()
                            .over(byForget.orderBy(col("rank"), col("retain_sample_id"))))
                    .withColumn("_n", org.apache.spark.sql.functions.count(lit(1)).over(byForget))
                    .filter(col("_r").equalTo(org.apache.spark.sql.functions.pmod(lit(epoch), col("_n")).plus(1)))
                    .select(col("forget_sample_id").as("pair_id"), col("retain_sample_id"));
            fSteps = fSteps.join(chosen, "pair_id", "left_anti");
        }
        Dataset<Row> paired = fSteps.join(order.drop("step", "micro", "epoch", "position"), "g")
                .withColumn("role", lit("retain"));
        if (chosen != null) {
            Dataset<Row> retainRows = retain.withColumnRenamed("sample_id", "retain_sample_id");
            paired = paired.select(columns.toArray(new Column[0])).unionByName(
                    f.select(col("step"), col("micro"), col("pair_id")).join(chosen, "pair_id")
                            .join(retainRows, "retain_sample_id").withColumn("role", lit("retain"))
                            .select(columns.toArray(new Column[0])));
        }
        return forgetPart.unionByName(paired.select(columns.toArray(new Column[0])));
    }
}
