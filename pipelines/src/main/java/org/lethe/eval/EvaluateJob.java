package org.lethe.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.lethe.data.IngestedDataset;
import org.lethe.distributed.ExecutorModelCache;
import org.lethe.eval.EvaluateRequest.ExtraSet;
import org.lethe.job.JobResult;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.apache.spark.sql.functions.col;

/**
 * The {@code evaluate} job: every per-sample metric ({@link SampleMetrics}) of one model on the
 * requested eval sets of an ingested dataset, batched on executors with the model cached once
 * per executor JVM, into {@code eval_samples} (replacing the run's rows for that step).
 *
 * <p>This class orchestrates; {@link EvalItems} chooses the items, {@link EvalPartitions} scores
 * them on executors, {@link CheckpointSelection} lists checkpoints and picks the best step.
 */
public final class EvaluateJob {

    private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * What the job did: {@code items} per eval set (TOFU roles by name, extra sets as {@code
     * <kind>_<role>}, e.g. {@code verbmem_forget}, {@code mcq_wmdp_bio}); {@code skipped}: per
     * {@code <split>_<metric>}, items that could not be scored (VerbMem passages of at most
     * {@code prompt_tokens} tokens: NULL values).
     */
    public record Summary(String runId, long step, String model, Map<String, Long> items, long values,
            Map<String, Long> skipped, List<EvalTables.Summary> aggregates) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("step", step);
            o.put("model", model);
            ObjectNode n = o.putObject("items");
            items.forEach(n::put);
            o.put("values", values);
            ObjectNode sk = o.putObject("skipped");
            skipped.forEach(sk::put);
            ObjectNode a = o.putObject("summary");
            for (EvalTables.Summary s : aggregates) {
                if (s.value() == null) {
                    a.putNull(s.metric());
                } else {
                    a.put(s.metric(), s.value());
                }
            }
            return o;
        }

        /** An aggregate's value by metric name (null when missing). */
        public Double value(String metric) {
            return aggregates.stream().filter(s -> s.metric().equals(metric)).findFirst()
                    .map(EvalTables.Summary::value).orElse(null);
        }
    }

    /**
     * Eval items chosen by sample id instead of by split: the forget set is {@code forgetIds} (a
     * {@code sample_id} column, in file order, capped at {@code max_samples}), and {@code excluded}
     * (null: none) leaves the other sets: how {@code continual} evaluates a cumulative forget set.
     */
    public record Items(Dataset<Row> forgetIds, Dataset<Row> excluded) {}

    /** The step {@code --select best} chose, with the values it was chosen by. */
    public record Selection(long step, double value, Double modelUtility, String rule) {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("step", step);
            o.put("value", value);
            if (modelUtility == null) {
                o.putNull("model_utility");
            } else {
                o.put("model_utility", modelUtility);
            }
            o.put("rule", rule);
            return o;
        }
    }

    private final SparkSession spark;
    private final TableStore store;

    public EvaluateJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /**
     * Evaluates {@code modelDir} as step {@code request.step()} of run {@code runId} and
     * aggregates the run's {@code eval_summary}, forget quality against {@code retainRun} (the
     * retain-only model's run, already evaluated; null: forget quality is missing).
     */
    public Summary run(EvaluateRequest request, String runId, String modelDir, String retainRun) {
        return run(request, runId, modelDir, retainRun, null);
    }

    /**
     * As {@link #run(EvaluateRequest, String, String, String)}, with the items of {@code selection}
     * (null: the requested sets).
     */
    public Summary run(EvaluateRequest request, String runId, String modelDir, String retainRun, Items selection) {
        RunIds.validate(runId);
        if (retainRun != null) {
            RunIds.validate(retainRun, "--retain-run");
        }
        if (!CheckpointSelection.isModelDir(modelDir)) {
            throw new IllegalArgumentException("--model: " + modelDir + " is not a model directory (no config.json)");
        }
        long step = CheckpointSelection.step(request.step(), modelDir);
        IngestedDataset data = IngestedDataset.open(store, request.data());
        String dataset = request.data().dataset();

        Dataset<Row> items = EvalItems.roleItems(data, request, selection);
        EvalItems.Extra extra = EvalItems.extraItems(store, request);
        items = items == null ? null : items.persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> extraItems = extra.items() == null ? null : extra.items().persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Map<String, Long> counts = new LinkedHashMap<>();
            if (items != null) {
                for (Row r : items.groupBy("split").count().collectAsList()) {
                    counts.put(r.getString(0), r.getLong(1));
                }
            }
            for (Map.Entry<String, String> roleSplit : request.sets().entrySet()) {
                String role = roleSplit.getKey();
                String split = roleSplit.getValue();
                if (!counts.containsKey(role)) {
                    if (role.equals("forget")) {
                        throw new IllegalArgumentException("lethe.eval.sets.forget: " + request.data().describe()
                                + " has no samples in split '" + split + "'");
                    }
                    LOG.warn("evaluate {}: eval set {} (split {}) is empty in dataset {}; its metrics will be missing",
                            runId, role, split, dataset);
                }
            }
            if (extraItems != null) {
                Map<String, Long> extraCounts = new LinkedHashMap<>();
                for (Row r : extraItems.groupBy("kind", "split").count().collectAsList()) {
                    extraCounts.put(r.getString(0) + "_" + r.getString(1), r.getLong(2));
                }
                for (ExtraSet set : request.extraSets()) {
                    Long n = extraCounts.get(set.name());
                    if (n == null) {
                        // A configured extra set is asked for by name: empty is a misconfiguration, not a missing metric
                        throw new IllegalArgumentException("lethe." + set.key() + ": " + set.source().data().describe()
                                + " has no samples in split '" + set.source().split() + "'"
                                + (set.kind().equals(ExtraSet.KNOWMEM) && request.muse().selfFewShot()
                                        ? " after its first lethe.eval.muse.few_shot items (the few-shot examples)" : ""));
                    }
                    counts.put(set.name(), n);
                }
            }
            SampleMetrics.Settings settings = new SampleMetrics.Settings(request.template(), request.maxNewTokens(),
                    request.miaK(), request.rougeStemming(), List.of("real_authors", "world_facts"),
                    List.of("real_authors", "world_facts"), request.miaGradientNorm());
            EvaluateRequest.Judges judges = request.judges();
            String key = "eval-" + UUID.randomUUID();
            JavaRDD<Row> values = null;
            if (items != null) {
                values = items.repartition(request.partitions(), col("sample_id"))
                        .select("split", "sample_id", "question", "answer", "paraphrased_answer", "perturbed_answers",
                                "paraphrased_question")
                        .javaRDD()
                        .mapPartitions(new EvalPartitions.Evaluate(key, modelDir, request.miaReferenceModel(),
                                request.model(), settings, request.batchSize(), runId, step, dataset,
                                judges.encoder(), judges.nli()));
            }
            if (extraItems != null) {
                // Same model key: the executors' cached model serves both passes
                JavaRDD<Row> more = extraItems.repartition(request.partitions(), col("sample_id"))
                        .select("kind", "split", "sample_id", "question", "answer", "perturbed_answers")
                        .javaRDD()
                        .mapPartitions(new EvalPartitions.EvaluateExtra(key, modelDir, request.model(),
                                request.template(), request.muse().settings(), extra.prefixes(), request.batchSize(),
                                runId, step, dataset));
                values = values == null ? more : values.union(more);
            }
            Dataset<Row> rows = spark.createDataFrame(values, EvalTables.SAMPLES_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK());
            try {
                long n = rows.count();
                EvalTables.writeSamples(store, rows);
                Map<String, Long> skipped = new LinkedHashMap<>();
                if (request.extraSets().stream().anyMatch(s -> s.kind().equals(ExtraSet.VERBMEM))) {
                    long tooShort = rows.filter(col("metric").equalTo(EvalTables.VERBMEM_ROUGE_L_F1)
                            .and(col("value").isNull())).count();
                    skipped.put(EvalTables.FORGET + "_" + EvalTables.VERBMEM_ROUGE_L_F1, tooShort);
                    if (tooShort > 0) {
                        LOG.warn("evaluate {}: {} VerbMem passages have at most lethe.eval.muse.prompt_tokens = {} tokens:"
                                + " no continuation to score, NULL values", runId, tooShort,
                                request.muse().settings().promptTokens());
                    }
                }
                LOG.info("evaluate {}: step {}: {} values for {}", runId, step, n, counts);
                boolean noEncoder = judges.encoder() == null;
                boolean noNli = judges.nli() == null;
                List<EvalTables.Summary> summary = EvalAggregation.summarizeToStore(store, runId, retainRun,
                        computed -> explainMissingJudges(computed, noEncoder, noNli));
                return new Summary(runId, step, modelDir, counts, n, skipped, summary.stream()
                        .filter(x -> x.step() == step).toList());
            } finally {
                rows.unpersist();
                ExecutorModelCache.release(key);
                ExecutorModelCache.release(key + "-reference");
            }
        } finally {
            if (items != null) {
                items.unpersist();
            }
            if (extraItems != null) {
                extraItems.unpersist();
            }
        }
    }

    /**
     * Evaluates {@code dir}: a model directory, or a training output directory whose
     * {@code checkpoint-<step>} subdirectories are evaluated in step order (unlearning curves).
     */
    public List<Summary> runAll(EvaluateRequest request, String runId, String dir, String retainRun) {
        List<Summary> out = new ArrayList<>();
        for (String model : CheckpointSelection.models(dir, request.step())) {
            out.add(run(request, runId, model, retainRun));
        }
        // What evaluating these models left in the executors' model caches (bounded by lethe.model.cache_*).
        for (org.lethe.distributed.ExecutorModelCache.Stats s
                : org.lethe.distributed.ExecutorModelCache.fromExecutors(spark.sparkContext())) {
            LOG.info("evaluate {}: executor {} model cache: {} model(s), {} bytes resident, high-water {} of {} bytes,"
                    + " {} eviction(s)", runId, s.executorId(), s.entries(), s.residentBytes(), s.highWaterBytes(),
                    s.maxBytes(), s.evictions());
        }
        return out;
    }

    /**
     * The best evaluated step of {@code runId} by {@code request.select()} ({@code
     * lethe.eval.select.*}): the highest metric among the steps whose model utility meets the
     * condition; ties go to the earlier step.
     */
    public Selection selectBest(EvaluateRequest request, String runId) {
        return CheckpointSelection.best(store, request.select(), runId);
    }

    /** Rewrites the reason of the judge metrics' NULL aggregates: no judge was configured. */
    private static List<EvalTables.Summary> explainMissingJudges(List<EvalTables.Summary> summary, boolean noEncoder,
            boolean noNli) {
        List<EvalTables.Summary> out = new ArrayList<>();
        for (EvalTables.Summary s : summary) {
            String reason = null;
            if (s.value() == null && noEncoder && s.metric().endsWith("_" + EvalTables.COSINE_SIMILARITY)) {
                reason = "no sentence-encoder judge configured (lethe.eval.judges.encoder)";
            } else if (s.value() == null && noNli && s.metric().endsWith("_" + EvalTables.ENTAILMENT)) {
                reason = "no NLI judge configured (lethe.eval.judges.nli)";
            }
            out.add(reason == null ? s : new EvalTables.Summary(s.runId(), s.step(), s.dataset(), s.split(), s.metric(),
                    null, s.n(), s.retainRunId(), reason, s.dependsOn()));
        }
        return out;
    }
}
