package org.lethe.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.storage.StorageLevel;
import org.lethe.config.LetheConfig;
import org.lethe.data.PromptTemplate;
import org.lethe.distributed.ExecutorModelCache;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;

/**
 * The {@code evaluate} job: every per-sample metric ({@link SampleMetrics}) of one model on the
 * configured eval sets of an ingested dataset, batched on executors with the model cached once
 * per executor JVM, into {@code eval_samples} (replacing the run's rows for that step).
 */
public final class EvaluateJob {

    private static final Logger LOG = LoggerFactory.getLogger(EvaluateJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Kinds of the extra eval sets ({@code lethe.eval.muse}, {@code lethe.eval.mcq_sets}). */
    static final String VERBMEM = "verbmem";
    static final String KNOWMEM = "knowmem";
    static final String MCQ = "mcq";
    private static final java.util.regex.Pattern SET_NAME = java.util.regex.Pattern.compile("[a-z][a-z0-9_]*");

    /** The roles of the eval sets, in {@code lethe.eval.sets} order. */
    public static final List<String> ROLES = List.of("forget", "retain", "real_authors", "world_facts", "holdout");

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

    private final SparkSession spark;
    private final TableStore store;
    private final LetheConfig config;

    public EvaluateJob(SparkSession spark, TableStore store, LetheConfig config) {
        this.spark = spark;
        this.store = store;
        this.config = config;
    }

    /**
     * Evaluates {@code modelDir} as step {@code lethe.eval.step} of run {@code runId} and
     * aggregates the run's {@code eval_summary}, forget quality against {@code retainRun} (the
     * retain-only model's run, already evaluated; null: forget quality is missing).
     */
    public Summary run(String runId, String modelDir, String retainRun) {
        return run(runId, modelDir, retainRun, null);
    }

    /**
     * Eval items chosen by sample id instead of by split: the forget set is {@code forgetIds} (a
     * {@code sample_id} column, in file order, capped at {@code max_samples}), and {@code excluded}
     * (null: none) leaves the other sets: how {@code continual} evaluates a cumulative forget set.
     */
    public record Items(Dataset<Row> forgetIds, Dataset<Row> excluded) {}

    /** As {@link #run(String, String, String)}, with the items of {@code selection} (null: the configured sets). */
    public Summary run(String runId, String modelDir, String retainRun, Items selection) {
        RunIds.validate(runId);
        if (retainRun != null) {
            RunIds.validate(retainRun, "--retain-run");
        }
        String dataset = config.getString("eval.dataset");
        if (dataset.isBlank()) {
            throw new IllegalArgumentException("lethe.eval.dataset must be set");
        }
        if (!Files.isRegularFile(Paths.get(modelDir, "config.json"))
                && !Files.isRegularFile(Paths.get(modelDir, "adapter_config.json"))) {
            throw new IllegalArgumentException("--model: " + modelDir + " is not a model directory (no config.json)");
        }
        String reference = config.getString("eval.mia_reference_model");
        if (!reference.isBlank() && !Files.isRegularFile(Paths.get(reference, "config.json"))) {
            throw new IllegalArgumentException("lethe.eval.mia_reference_model: " + reference
                    + " is not a model directory (no config.json)");
        }
        int maxSamples = positive("eval.max_samples");
        int batchSize = positive("eval.batch_size");
        int partitions = positive("eval.partitions");
        int maxNew = config.getInt("eval.max_new_tokens");
        if (maxNew < 0) {
            throw new IllegalArgumentException("lethe.eval.max_new_tokens must be >= 0, got " + maxNew);
        }
        double k = config.getDouble("eval.mia_k");
        if (!(k > 0 && k <= 1)) {
            throw new IllegalArgumentException("lethe.eval.mia_k must be in (0, 1], got " + k);
        }
        long step = step(modelDir);
        String encoder = config.getString("eval.judges.encoder");
        String nli = config.getString("eval.judges.nli");
        for (String[] judge : new String[][] {{"eval.judges.encoder", encoder}, {"eval.judges.nli", nli}}) {
            if (!judge[1].isBlank() && !Files.isRegularFile(Paths.get(judge[1], "config.json"))) {
                throw new IllegalArgumentException("lethe." + judge[0] + ": " + judge[1]
                        + " is not a model directory (no config.json)");
            }
        }
        String dataRun = config.getString("eval.data_run_id").isEmpty() ? "ingest-" + dataset
                : config.getString("eval.data_run_id");
        if (!store.exists("memberships") || !store.exists("examples")) {
            throw new IllegalArgumentException("no ingested data under " + store.root() + ": run `lethe ingest` first");
        }

        // The first max_samples items of each configured set, by file line.
        Dataset<Row> members = store.read("memberships")
                .filter(col("run_id").equalTo(dataRun).and(col("dataset").equalTo(dataset)));
        Dataset<Row> examples = store.read("examples")
                .filter(col("run_id").equalTo(dataRun).and(col("dataset").equalTo(dataset)))
                .select("sample_id", "question", "answer", "paraphrased_answer", "perturbed_answers",
                        "paraphrased_question");
        Dataset<Row> items = null;
        for (String role : ROLES) {
            String split = config.getString("eval.sets." + role);
            if (split.isBlank()) {
                continue;
            }
            Dataset<Row> set = members.filter(col("split").equalTo(split));
            if (selection != null && role.equals("forget")) {
                // Each selected sample once, at its first place in the files.
                set = members.join(selection.forgetIds().select("sample_id").distinct(), "sample_id")
                        .groupBy("sample_id").agg(org.apache.spark.sql.functions.min(
                                org.apache.spark.sql.functions.struct("source_file", "line", "passage")).as("at"))
                        .select(col("sample_id"), col("at.source_file"), col("at.line"), col("at.passage"));
            } else if (selection != null && selection.excluded() != null) {
                set = set.join(selection.excluded().select(col("sample_id").as("excluded_id")),
                        col("sample_id").equalTo(col("excluded_id")), "left_anti");
            }
            set = set.withColumn("rank", row_number().over(Window.orderBy("source_file", "line", "passage")))
                    .filter(col("rank").leq(maxSamples))
                    .select(lit(role).as("split"), col("sample_id"), col("rank"));
            items = items == null ? set : items.unionByName(set);
        }
        ExtraItems extra = extraItems(dataset, dataRun, maxSamples);
        if (items == null && extra.items() == null) {
            throw new IllegalArgumentException("lethe.eval.sets, lethe.eval.muse, lethe.eval.mcq_sets: no eval set is"
                    + " configured");
        }
        items = items == null ? null : items.join(examples, "sample_id").persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> extraItems = extra.items() == null ? null : extra.items().persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Map<String, Long> counts = new LinkedHashMap<>();
            if (items != null) {
                for (Row r : items.groupBy("split").count().collectAsList()) {
                    counts.put(r.getString(0), r.getLong(1));
                }
            }
            for (String role : ROLES) {
                String split = config.getString("eval.sets." + role);
                if (!split.isBlank() && !counts.containsKey(role)) {
                    if (role.equals("forget")) {
                        throw new IllegalArgumentException("lethe.eval.sets.forget: dataset '" + dataset + "' (ingest run "
                                + dataRun + ") has no samples in split '" + split + "'");
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
                for (ExtraSet set : extra.sets()) {
                    Long n = extraCounts.get(set.name());
                    if (n == null) {
                        // A configured extra set is asked for by name: empty is a misconfiguration, not a missing metric
                        throw new IllegalArgumentException("lethe." + set.key() + ": dataset '" + set.dataset()
                                + "' (ingest run " + set.dataRun() + ") has no samples in split '" + set.split() + "'"
                                + (set.kind().equals(KNOWMEM) && extra.selfFewShot()
                                        ? " after its first lethe.eval.muse.few_shot items (the few-shot examples)" : ""));
                    }
                    counts.put(set.name(), n);
                }
            }
            PromptTemplate template = PromptTemplate.of(config);
            SampleMetrics.Settings settings = new SampleMetrics.Settings(template, maxNew, k,
                    config.getBoolean("eval.rouge_stemming"), List.of("real_authors", "world_facts"),
                    List.of("real_authors", "world_facts"), config.getBoolean("eval.mia_gradient_norm"));
            ModelSettings model = ModelSettings.of(config);
            String key = "eval-" + UUID.randomUUID();
            JavaRDD<Row> values = null;
            if (items != null) {
                values = items.repartition(partitions, col("sample_id"))
                        .select("split", "sample_id", "question", "answer", "paraphrased_answer", "perturbed_answers",
                                "paraphrased_question")
                        .javaRDD()
                        .mapPartitions(new Evaluate(key, modelDir, reference.isBlank() ? null : reference, model, settings,
                                batchSize, runId, step, dataset, encoder.isBlank() ? null : encoder,
                                nli.isBlank() ? null : nli));
            }
            if (extraItems != null) {
                // Same model key: the executors' cached model serves both passes
                JavaRDD<Row> more = extraItems.repartition(partitions, col("sample_id"))
                        .select("kind", "split", "sample_id", "question", "answer", "perturbed_answers")
                        .javaRDD()
                        .mapPartitions(new EvaluateExtra(key, modelDir, model, template, extra.muse(), extra.prefixes(),
                                batchSize, runId, step, dataset));
                values = values == null ? more : values.union(more);
            }
            Dataset<Row> rows = spark.createDataFrame(values, EvalTables.SAMPLES_SCHEMA).persist(StorageLevel.MEMORY_AND_DISK());
            try {
                long n = rows.count();
                EvalTables.writeSamples(store, rows);
                Map<String, Long> skipped = new LinkedHashMap<>();
                if (extra.sets().stream().anyMatch(s -> s.kind().equals(VERBMEM))) {
                    long tooShort = rows.filter(col("metric").equalTo(EvalTables.VERBMEM_ROUGE_L_F1)
                            .and(col("value").isNull())).count();
                    skipped.put(EvalTables.FORGET + "_" + EvalTables.VERBMEM_ROUGE_L_F1, tooShort);
                    if (tooShort > 0) {
                        LOG.warn("evaluate {}: {} VerbMem passages have at most lethe.eval.muse.prompt_tokens = {} tokens:"
                                + " no continuation to score, NULL values", runId, tooShort, extra.muse().promptTokens());
                    }
                }
                LOG.info("evaluate {}: step {}: {} values for {}", runId, step, n, counts);
                List<EvalTables.Summary> summary = EvalAggregation.summarizeToStore(store, runId, retainRun);
                if (encoder.isBlank() || nli.isBlank()) {
                    summary = explainMissingJudges(runId, summary, encoder.isBlank(), nli.isBlank());
                }
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
     * One configured extra eval set: {@code kind} (verbmem, knowmem, mcq), the {@code split} column
     * its rows get ({@code role}), where its items are, and the config key that named it.
     */
    record ExtraSet(String kind, String role, String dataset, String dataRun, String split, String key) {
        String name() {
            return kind + "_" + role;
        }
    }

    /**
     * The extra sets' items (columns kind, split, sample_id, question, answer, perturbed_answers;
     * null when none is configured), the KnowMem few-shot prefix per role, and the MUSE settings.
     */
    record ExtraItems(List<ExtraSet> sets, Dataset<Row> items, Map<String, String> prefixes,
            MuseMetrics.Settings muse, boolean selfFewShot) {}

    /** {@code [dataset:]split}: a split of the eval dataset, or of another dataset's default ingest run. */
    private String[] source(String spec, String key, String dataset, String dataRun) {
        int colon = spec.indexOf(':');
        if (colon < 0) {
            return new String[] {dataset, dataRun, spec};
        }
        String other = spec.substring(0, colon);
        String split = spec.substring(colon + 1);
        if (other.isBlank() || split.isBlank()) {
            throw new IllegalArgumentException("lethe." + key + ": '" + spec + "': expected SPLIT or DATASET:SPLIT");
        }
        return new String[] {other, "ingest-" + other, split};
    }

    /** The ingested items of one split with their 1-based rank by file line. */
    private Dataset<Row> ranked(String dataset, String dataRun, String split) {
        Dataset<Row> members = store.read("memberships").filter(col("run_id").equalTo(dataRun)
                .and(col("dataset").equalTo(dataset)).and(col("split").equalTo(split)))
                .withColumn("rank", row_number().over(Window.orderBy("source_file", "line", "passage")))
                .select("sample_id", "rank");
        Dataset<Row> examples = store.read("examples").filter(col("run_id").equalTo(dataRun)
                .and(col("dataset").equalTo(dataset))).select("sample_id", "question", "answer", "perturbed_answers");
        return members.join(examples, "sample_id");
    }

    /** Reads {@code lethe.eval.muse} and {@code lethe.eval.mcq_sets}: the extra sets and their items. */
    ExtraItems extraItems(String dataset, String dataRun, int maxSamples) {
        int promptTokens = positive("eval.muse.prompt_tokens");
        int continuationTokens = positive("eval.muse.continuation_tokens");
        int answerTokens = positive("eval.muse.answer_tokens");
        int fewShot = config.getInt("eval.muse.few_shot");
        if (fewShot < 0) {
            throw new IllegalArgumentException("lethe.eval.muse.few_shot must be >= 0, got " + fewShot);
        }
        MuseMetrics.Settings muse = new MuseMetrics.Settings(promptTokens, continuationTokens, answerTokens);
        List<ExtraSet> sets = new ArrayList<>();
        String[][] museKeys = {{VERBMEM, EvalTables.FORGET, "eval.muse.verbmem_split"},
            {KNOWMEM, EvalTables.FORGET, "eval.muse.knowmem_split"},
            {KNOWMEM, EvalTables.RETAIN, "eval.muse.knowmem_retain_split"}};
        for (String[] m : museKeys) {
            String spec = config.getString(m[2]);
            if (!spec.isBlank()) {
                String[] src = source(spec, m[2], dataset, dataRun);
                sets.add(new ExtraSet(m[0], m[1], src[0], src[1], src[2], m[2]));
            }
        }
        java.util.Set<String> names = new java.util.HashSet<>();
        for (String entry : config.getStringList("eval.mcq_sets")) {
            int eq = entry.indexOf('=');
            String spec = eq < 0 ? entry : entry.substring(eq + 1);
            String[] src = source(spec, "eval.mcq_sets", dataset, dataRun);
            String name = eq < 0 ? src[2] : entry.substring(0, eq);
            if (!SET_NAME.matcher(name).matches() || ROLES.contains(name)) {
                throw new IllegalArgumentException("lethe.eval.mcq_sets: '" + entry + "': the set's name '" + name
                        + "' must be snake_case [a-z][a-z0-9_]* and not one of " + ROLES
                        + " (name it: NAME=[DATASET:]SPLIT)");
            }
            if (!names.add(name)) {
                throw new IllegalArgumentException("lethe.eval.mcq_sets: the set name '" + name + "' is given twice");
            }
            sets.add(new ExtraSet(MCQ, name, src[0], src[1], src[2], "eval.mcq_sets"));
        }
        String fewSpec = config.getString("eval.muse.few_shot_split");
        boolean selfFewShot = fewSpec.isBlank();
        Map<String, String> prefixes = new java.util.TreeMap<>();
        Dataset<Row> items = null;
        for (ExtraSet set : sets) {
            Dataset<Row> ranked = ranked(set.dataset(), set.dataRun(), set.split());
            int skip = 0;
            if (set.kind().equals(KNOWMEM)) {
                // MUSE prompts with fixed in-context QA pairs: the first few_shot of the set (then not scored) or of few_shot_split
                Dataset<Row> shots = ranked;
                String where = set.key();
                if (selfFewShot) {
                    skip = fewShot;
                } else {
                    String[] src = source(fewSpec, "eval.muse.few_shot_split", dataset, dataRun);
                    shots = ranked(src[0], src[1], src[2]);
                    where = "eval.muse.few_shot_split";
                }
                List<MuseMetrics.QaPair> pairs = new ArrayList<>();
                for (Row r : shots.filter(col("rank").leq(fewShot)).orderBy("rank").collectAsList()) {
                    pairs.add(new MuseMetrics.QaPair(r.getString(r.fieldIndex("question")),
                            r.getString(r.fieldIndex("answer"))));
                }
                if (pairs.size() < fewShot) {
                    throw new IllegalArgumentException("lethe." + where + ": " + pairs.size() + " items, fewer than"
                            + " lethe.eval.muse.few_shot = " + fewShot + " few-shot examples");
                }
                prefixes.put(set.role(), MuseMetrics.fewShotPrefix(pairs));
            }
            Dataset<Row> part = ranked.filter(col("rank").gt(skip).and(col("rank").leq(skip + maxSamples)))
                    .select(lit(set.kind()).as("kind"), lit(set.role()).as("split"), col("sample_id"), col("question"),
                            col("answer"), col("perturbed_answers"));
            items = items == null ? part : items.unionByName(part);
        }
        return new ExtraItems(sets, items, prefixes, muse, selfFewShot);
    }

    /**
     * Evaluates {@code dir}: a model directory, or a training output directory whose
     * {@code checkpoint-<step>} subdirectories are evaluated in step order (unlearning curves).
     */
    public List<Summary> runAll(String runId, String dir, String retainRun) {
        Path path = Paths.get(dir);
        if (Files.isRegularFile(path.resolve("config.json")) || Files.isRegularFile(path.resolve("adapter_config.json"))) {
            return List.of(run(runId, dir, retainRun));
        }
        List<Path> checkpoints = new ArrayList<>();
        if (Files.isDirectory(path)) {
            try (java.util.stream.Stream<Path> list = Files.list(path)) {
                list.filter(p -> p.getFileName().toString().matches("checkpoint-[0-9]+")).forEach(checkpoints::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
            }
        }
        if (checkpoints.isEmpty()) {
            throw new IllegalArgumentException("--model: " + dir + " is neither a model directory (no config.json) nor"
                    + " a training output with checkpoint-<step> directories");
        }
        if (config.getLong("eval.step") != -1) {
            throw new IllegalArgumentException("lethe.eval.step must be -1 when --model holds several checkpoints"
                    + " (each is evaluated at its own step)");
        }
        checkpoints.sort(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString()
                .substring("checkpoint-".length()))));
        List<Summary> out = new ArrayList<>();
        for (Path c : checkpoints) {
            out.add(run(runId, c.toString(), retainRun));
        }
        return out;
    }

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

    /**
     * The best evaluated step of {@code runId} by {@code lethe.eval.select.*}: the highest metric
     * among the steps whose model utility meets the condition; ties go to the earlier step.
     */
    public Selection selectBest(String runId) {
        String metric = config.getString("eval.select.metric");
        double ratio = config.getDouble("eval.select.min_utility_ratio");
        String reference = config.getString("eval.select.utility_reference_run");
        Double floor = null;
        String rule = "max " + metric;
        if (!reference.isBlank()) {
            List<Row> ref = store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(reference)
                    .and(col("metric").equalTo(EvalTables.MODEL_UTILITY)).and(col("value").isNotNull()))
                    .orderBy(col("step").desc()).limit(1).collectAsList();
            if (ref.isEmpty()) {
                throw new IllegalArgumentException("lethe.eval.select.utility_reference_run: run '" + reference
                        + "' has no model_utility in eval_summary; evaluate it first");
            }
            floor = ratio * ref.get(0).getDouble(ref.get(0).fieldIndex("value"));
            rule += " with model_utility >= " + ratio + " x " + reference + "'s (" + floor + ")";
        }
        Map<Long, Double> values = new java.util.TreeMap<>();
        Map<Long, Double> utility = new java.util.TreeMap<>();
        for (Row r : store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(runId)
                .and(col("metric").isin(metric, EvalTables.MODEL_UTILITY))).collectAsList()) {
            long step = r.getLong(r.fieldIndex("step"));
            Double v = r.isNullAt(r.fieldIndex("value")) ? null : r.getDouble(r.fieldIndex("value"));
            if (r.getString(r.fieldIndex("metric")).equals(metric)) {
                if (v != null) {
                    values.put(step, v);
                }
            } else {
                utility.put(step, v);
            }
        }
        Selection best = null;
        for (Map.Entry<Long, Double> e : values.entrySet()) {
            Double u = utility.get(e.getKey());
            if (floor != null && (u == null || u < floor)) {
                continue;
            }
            if (best == null || e.getValue() > best.value()) {
                best = new Selection(e.getKey(), e.getValue(), u, rule);
            }
        }
        if (best == null) {
            throw new IllegalStateException("evaluate --select best: no evaluated step of run " + runId + " satisfies "
                    + rule + " (steps with " + metric + ": " + values.keySet() + ")");
        }
        return best;
    }

    /** Rewrites the reason of the judge metrics' NULL aggregates: no judge was configured. */
    private List<EvalTables.Summary> explainMissingJudges(String runId, List<EvalTables.Summary> summary,
            boolean noEncoder, boolean noNli) {
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
        EvalTables.writeSummary(store, EvalTables.summaries(spark, out));
        return out;
    }

    /** {@code lethe.eval.step}, or the checkpoint's global step, or 0. */
    private long step(String modelDir) {
        long step = config.getLong("eval.step");
        if (step >= 0) {
            return step;
        }
        if (step != -1) {
            throw new IllegalArgumentException("lethe.eval.step must be >= 0 (or -1: the checkpoint's), got " + step);
        }
        Path state = Paths.get(modelDir, "trainer_state.json");
        if (!Files.isRegularFile(state)) {
            return 0;
        }
        try {
            JsonNode s = JSON.readTree(state.toFile());
            return s.path("global_step").asLong(0);
        } catch (IOException e) {
            throw new UncheckedIOException(state + ": unreadable: " + e.getMessage(), e);
        }
    }

    private int positive(String key) {
        int v = config.getInt(key);
        if (v <= 0) {
            throw new IllegalArgumentException("lethe." + key + " must be > 0, got " + v);
        }
        return v;
    }

    /** The executor side of the extra sets: MUSE VerbMem / KnowMem and multiple-choice sets, batched per set. */
    static final class EvaluateExtra implements org.apache.spark.api.java.function.FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final ModelSettings model;
        private final PromptTemplate template;
        private final MuseMetrics.Settings muse;
        private final Map<String, String> prefixes;
        private final int batchSize;
        private final String runId;
        private final long step;
        private final String dataset;

        EvaluateExtra(String key, String modelDir, ModelSettings model, PromptTemplate template,
                MuseMetrics.Settings muse, Map<String, String> prefixes, int batchSize, String runId, long step,
                String dataset) {
            this.key = key;
            this.modelDir = modelDir;
            this.model = model;
            this.template = template;
            this.muse = muse;
            this.prefixes = new java.util.TreeMap<>(prefixes);
            this.batchSize = batchSize;
            this.runId = runId;
            this.step = step;
            this.dataset = dataset;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            List<Row> out = new ArrayList<>();
            if (!rows.hasNext()) {
                return out.iterator();
            }
            LanguageModel lm = ExecutorModelCache.frozen(key, modelDir, model);
            // One batch per (kind, eval set): a batch shares its prompt shape (and KnowMem prefix)
            Map<String, List<SampleMetrics.Item>> batches = new LinkedHashMap<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                String kind = r.getString(0);
                String batchKey = kind + "/" + r.getString(1);
                List<SampleMetrics.Item> batch = batches.computeIfAbsent(batchKey, x -> new ArrayList<>());
                batch.add(new SampleMetrics.Item(r.getString(1), r.getString(2), r.getString(3), r.getString(4), null,
                        r.isNullAt(5) ? null : r.getList(5), null));
                if (batch.size() == batchSize) {
                    flush(lm, kind, batch, out);
                }
            }
            for (Map.Entry<String, List<SampleMetrics.Item>> e : batches.entrySet()) {
                if (!e.getValue().isEmpty()) {
                    flush(lm, e.getKey().substring(0, e.getKey().indexOf('/')), e.getValue(), out);
                }
            }
            return out.iterator();
        }

        private void flush(LanguageModel lm, String kind, List<SampleMetrics.Item> batch, List<Row> out) {
            List<SampleMetrics.Value> values = switch (kind) {
                case VERBMEM -> MuseMetrics.verbMem(lm, batch, muse);
                case KNOWMEM -> MuseMetrics.knowMem(lm, batch, prefixes.get(batch.get(0).split()), muse);
                case MCQ -> SampleMetrics.mcq(lm, batch, template);
                default -> throw new IllegalStateException("unknown eval set kind " + kind);
            };
            for (SampleMetrics.Value v : values) {
                out.add(RowFactory.create(runId, step, dataset, v.split(), v.sampleId(), v.metric(), v.value(),
                        v.generation()));
            }
            batch.clear();
        }
    }

    /** Judge models, loaded once per executor JVM and kept (they are frozen and small). */
    private static final Map<String, AutoCloseable> JUDGES = new java.util.concurrent.ConcurrentHashMap<>();

    /** The executor side: items in batches, the model cached per JVM. */
    static final class Evaluate implements org.apache.spark.api.java.function.FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final String referenceDir;
        private final ModelSettings model;
        private final SampleMetrics.Settings settings;
        private final int batchSize;
        private final String runId;
        private final long step;
        private final String dataset;
        private final String encoderDir;
        private final String nliDir;

        Evaluate(String key, String modelDir, String referenceDir, ModelSettings model, SampleMetrics.Settings settings,
                int batchSize, String runId, long step, String dataset, String encoderDir, String nliDir) {
            this.encoderDir = encoderDir;
            this.nliDir = nliDir;
            this.key = key;
            this.modelDir = modelDir;
            this.referenceDir = referenceDir;
            this.model = model;
            this.settings = settings;
            this.batchSize = batchSize;
            this.runId = runId;
            this.step = step;
            this.dataset = dataset;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            LanguageModel lm = ExecutorModelCache.frozen(key, modelDir, model);
            LanguageModel ref = referenceDir == null ? null : ExecutorModelCache.frozen(key + "-reference", referenceDir, model);
            SampleMetrics.Judges judges = new SampleMetrics.Judges(
                    encoderDir == null ? null : (org.lethe.judge.SentenceEncoder) JUDGES.computeIfAbsent(
                            "encoder:" + encoderDir, k -> org.lethe.judge.SentenceEncoder.load(Paths.get(encoderDir), model)),
                    nliDir == null ? null : (org.lethe.judge.NliCrossEncoder) JUDGES.computeIfAbsent(
                            "nli:" + nliDir, k -> org.lethe.judge.NliCrossEncoder.load(Paths.get(nliDir), model)));
            List<Row> out = new ArrayList<>();
            List<SampleMetrics.Item> batch = new ArrayList<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                batch.add(new SampleMetrics.Item(r.getString(0), r.getString(1), r.getString(2), r.getString(3),
                        r.isNullAt(4) ? null : r.getString(4), r.isNullAt(5) ? null : r.getList(5),
                        r.isNullAt(6) ? null : r.getString(6)));
                if (batch.size() == batchSize || !rows.hasNext()) {
                    for (SampleMetrics.Value v : SampleMetrics.compute(lm, ref, batch, settings, judges)) {
                        out.add(RowFactory.create(runId, step, dataset, v.split(), v.sampleId(), v.metric(), v.value(),
                                v.generation()));
                    }
                    batch.clear();
                }
            }
            return out.iterator();
        }
    }
}
