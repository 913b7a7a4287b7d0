package org.lethe.store;

import java.util.Map;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * The catalogue of Lethe's tables under a root: every table's name and every column it may have,
 * in one place, so that no job spells a table name as a literal, a reader of one package need not
 * import the package that writes the table, and analysts have one list of what is where.
 *
 * <p>{@link TableStore#write} holds writers to it: a column the catalogue does not declare, or of
 * another type, is an error. A write may leave out declared columns (ingest without a model writes
 * no token ids); older runs read added columns as null.
 */
public final class Tables {
    /** Ingest: one row per sample (question, answer, token ids, ...). */
    public static final String EXAMPLES = "examples";
    /** Ingest: (dataset, split, sample_id, source file and line) per sample and split. */
    public static final String MEMBERSHIPS = "memberships";
    /** Ingest: rows that could not be read, with the reason. */
    public static final String REJECTS = "rejects";
    /** Ingest: the dataset's refusal answers (TOFU's idontknow file). */
    public static final String REFUSALS = "refusals";
    /** finetune / unlearn: one row per optimizer step. */
    public static final String TRAIN_STEPS = "train_steps";
    /** stats: per-sample loss and gradient statistics. */
    public static final String SAMPLE_STATS = "sample_stats";
    /** stats: each forget sample's most influence-similar retain samples. */
    public static final String INFLUENCE_PAIRS = "influence_pairs";
    /** evaluate: one value per (sample, metric). */
    public static final String EVAL_SAMPLES = "eval_samples";
    /** evaluate: aggregates per (run, step, metric). */
    public static final String EVAL_SUMMARY = "eval_summary";
    /** Every job of every run: config, provenance, status. */
    public static final String RUNS = "runs";
    /** continual: the unlearning request queue. */
    public static final String REQUESTS = "requests";
    /** continual: the applied requests, in order. */
    public static final String CONTINUAL_LINEAGE = "continual_lineage";
    /** continual: each request's forget set, its sample ids frozen when it was submitted. */
    public static final String REQUEST_SAMPLES = "request_samples";
    /** continual: who may extend a dataset's lineage now (one lease row per dataset). */
    public static final String LINEAGE_LEASES = "lineage_leases";

    /** The column every row carries: the run that wrote it. */
    public static final String RUN_ID = "run_id";

    private static final Map<String, StructType> COLUMNS = Map.ofEntries(
            Map.entry(EXAMPLES, new StructType()
                    .add("sample_id", DataTypes.StringType)
                    .add("author_id", DataTypes.LongType)
                    .add("question", DataTypes.StringType)
                    .add("answer", DataTypes.StringType)
                    .add("paraphrased_answer", DataTypes.StringType)
                    .add("perturbed_answers", DataTypes.createArrayType(DataTypes.StringType, false))
                    .add("paraphrased_question", DataTypes.StringType)
                    .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false))
                    .add("prompt_tokens", DataTypes.IntegerType)
                    .add("tokenizer_sha256", DataTypes.StringType)
                    .add(RUN_ID, DataTypes.StringType)
                    .add("dataset", DataTypes.StringType)),
            Map.entry(MEMBERSHIPS, new StructType()
                    .add("sample_id", DataTypes.StringType)
                    .add("source_file", DataTypes.StringType)
                    .add("line", DataTypes.LongType)
                    .add("passage", DataTypes.IntegerType)
                    .add(RUN_ID, DataTypes.StringType)
                    .add("dataset", DataTypes.StringType)
                    .add("split", DataTypes.StringType)),
            Map.entry(REJECTS, new StructType()
                    .add("split", DataTypes.StringType)
                    .add("source_file", DataTypes.StringType)
                    .add("line", DataTypes.LongType)
                    .add("reason", DataTypes.StringType)
                    .add("raw", DataTypes.StringType)
                    .add(RUN_ID, DataTypes.StringType)
                    .add("dataset", DataTypes.StringType)),
            Map.entry(REFUSALS, new StructType()
                    .add("source_file", DataTypes.StringType)
                    .add("line", DataTypes.LongType)
                    .add("text", DataTypes.StringType)
                    .add(RUN_ID, DataTypes.StringType)
                    .add("dataset", DataTypes.StringType)),
            Map.entry(TRAIN_STEPS, new StructType()
                    .add("run_id", DataTypes.StringType, false)
                    .add("step", DataTypes.LongType, false)
                    .add("epoch", DataTypes.IntegerType, false)
                    .add("loss", DataTypes.DoubleType, false)
                    .add("lr", DataTypes.DoubleType, false)
                    .add("grad_norm", DataTypes.DoubleType, false)
                    .add("tokens", DataTypes.LongType, false)
                    .add("seconds", DataTypes.DoubleType, false)
                    .add("job", DataTypes.StringType, true)
                    .add("forget_loss", DataTypes.DoubleType, true)
                    .add("retain_loss", DataTypes.DoubleType, true)
                    .add("terms", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), true)
                    .add("compute_seconds", DataTypes.DoubleType, true)),
            Map.entry(SAMPLE_STATS, new StructType()
                    .add("dataset", DataTypes.StringType)
                    .add("split", DataTypes.StringType)
                    .add("role", DataTypes.StringType)
                    .add("sample_id", DataTypes.StringType)
                    .add("answer_tokens", DataTypes.IntegerType)
                    .add("mean_nll", DataTypes.DoubleType)
                    .add("min_logprob", DataTypes.DoubleType)
                    .add("min_k", DataTypes.DoubleType)
                    .add("mean_entropy", DataTypes.DoubleType)
                    .add("grad_norm", DataTypes.DoubleType)
                    .add("entanglement", DataTypes.DoubleType)
                    .add("retain_alignment", DataTypes.DoubleType)
                    .add(RUN_ID, DataTypes.StringType)),
            Map.entry(INFLUENCE_PAIRS, new StructType()
                    .add("forget_sample_id", DataTypes.StringType)
                    .add("retain_sample_id", DataTypes.StringType)
                    .add("similarity", DataTypes.DoubleType)
                    .add("rank", DataTypes.IntegerType)
                    .add(RUN_ID, DataTypes.StringType)),
            Map.entry(EVAL_SAMPLES, new StructType()
                    .add("run_id", DataTypes.StringType, false)
                    .add("step", DataTypes.LongType, false)
                    .add("dataset", DataTypes.StringType, false)
                    .add("split", DataTypes.StringType, false)
                    .add("sample_id", DataTypes.StringType, false)
                    .add("metric", DataTypes.StringType, false)
                    .add("value", DataTypes.DoubleType, true)
                    .add("generation", DataTypes.StringType, true)),
            Map.entry(EVAL_SUMMARY, new StructType()
                    .add("run_id", DataTypes.StringType, false)
                    .add("step", DataTypes.LongType, false)
                    .add("dataset", DataTypes.StringType, false)
                    .add("split", DataTypes.StringType, true)
                    .add("metric", DataTypes.StringType, false)
                    .add("value", DataTypes.DoubleType, true)
                    .add("n", DataTypes.LongType, false)
                    .add("retain_run_id", DataTypes.StringType, true)
                    .add("missing_reason", DataTypes.StringType, true)
                    .add("depends_on", DataTypes.StringType, false)),
            Map.entry(RUNS, new StructType()
                    .add("status", DataTypes.StringType, false)
                    .add("config_json", DataTypes.StringType, false)
                    .add("config_sha256", DataTypes.StringType, false)
                    .add("code_version", DataTypes.StringType, true)
                    .add("spark_app_id", DataTypes.StringType, true)
                    .add("model_fingerprint", DataTypes.StringType, true)
                    .add("data_fingerprint", DataTypes.StringType, true)
                    .add("started_at", DataTypes.TimestampType, false)
                    .add("heartbeat_at", DataTypes.TimestampType, true)
                    .add("ended_at", DataTypes.TimestampType, true)
                    .add("error", DataTypes.StringType, true)
                    .add("numerics_json", DataTypes.StringType, true)
                    .add(RUN_ID, DataTypes.StringType, false)
                    .add("job", DataTypes.StringType, false)),
            Map.entry(REQUESTS, new StructType()
                    .add("request_id", DataTypes.StringType, false)
                    .add("submitted_at", DataTypes.TimestampType, false)
                    .add("dataset", DataTypes.StringType, false)
                    .add("selector", DataTypes.StringType, false)
                    .add("method", DataTypes.StringType, false)
                    .add("overrides", DataTypes.createArrayType(DataTypes.StringType, false), false)
                    .add("status", DataTypes.StringType, false)
                    .add("updated_at", DataTypes.TimestampType, false)
                    .add("continual_run_id", DataTypes.StringType, true)
                    .add("attempts", DataTypes.IntegerType, false)
                    .add("error", DataTypes.StringType, true)
                    .add(RUN_ID, DataTypes.StringType, false)),
            Map.entry(CONTINUAL_LINEAGE, new StructType()
                    .add("request_id", DataTypes.StringType, false)
                    .add("sequence", DataTypes.IntegerType, false)
                    .add("parent_request_id", DataTypes.StringType, true)
                    .add("parent_checkpoint", DataTypes.StringType, false)
                    .add("checkpoint", DataTypes.StringType, false)
                    .add("weights_sha256", DataTypes.StringType, false)
                    .add("ref_model", DataTypes.StringType, false)
                    .add("method", DataTypes.StringType, false)
                    .add("selector", DataTypes.StringType, false)
                    .add("forget_samples", DataTypes.LongType, false)
                    .add("cumulative_forget_samples", DataTypes.LongType, false)
                    .add("retain_run_id", DataTypes.StringType, true)
                    .add("forget_quality", DataTypes.DoubleType, true)
                    .add("model_utility", DataTypes.DoubleType, true)
                    .add("forget_truth_ratio", DataTypes.DoubleType, true)
                    .add("forget_rouge_l_recall", DataTypes.DoubleType, true)
                    .add("forget_probability", DataTypes.DoubleType, true)
                    .add("continual_run_id", DataTypes.StringType, false)
                    .add("run_date", DataTypes.DateType, false)
                    .add("finished_at", DataTypes.TimestampType, false)
                    .add("dataset", DataTypes.StringType, true)
                    .add(RUN_ID, DataTypes.StringType, false)),
            Map.entry(REQUEST_SAMPLES, new StructType()
                    .add("sample_id", DataTypes.StringType, false)
                    .add("dataset", DataTypes.StringType, false)
                    .add("data_run_id", DataTypes.StringType, false)
                    .add(RUN_ID, DataTypes.StringType, false)),
            Map.entry(LINEAGE_LEASES, new StructType()
                    .add("dataset", DataTypes.StringType, false)
                    .add("version", DataTypes.LongType, false)
                    .add("owner", DataTypes.StringType, false)
                    .add("token", DataTypes.StringType, false)
                    .add("holder", DataTypes.StringType, false)
                    .add("acquired_at", DataTypes.TimestampType, false)
                    .add("renewed_at", DataTypes.TimestampType, false)
                    .add("expires_at", DataTypes.TimestampType, false)
                    .add("released", DataTypes.BooleanType, false)
                    .add("taken_over_from", DataTypes.StringType, true)
                    .add(RUN_ID, DataTypes.StringType, false)));

    private Tables() {}

    /** Every column {@code table} may have, in its canonical order (what writers that build rows use). */
    public static StructType columns(String table) {
        StructType columns = COLUMNS.get(table);
        if (columns == null) {
            throw new IllegalArgumentException("no table '" + table + "' in the catalogue; tables: "
                    + new java.util.TreeSet<>(COLUMNS.keySet()));
        }
        return columns;
    }

    /** Whether {@code table} is one of Lethe's tables. */
    public static boolean catalogued(String table) {
        return COLUMNS.containsKey(table);
    }

    /**
     * Checks rows about to be written to {@code table}: each column declared, with its declared
     * type (nullability aside: the table store reads every column as nullable).
     *
     * @throws IllegalStateException naming the table and the column
     */
    public static void check(String table, StructType written) {
        StructType declared = columns(table);
        for (StructField f : written.fields()) {
            java.util.Optional<StructField> d = java.util.Arrays.stream(declared.fields())
                    .filter(x -> x.name().equals(f.name())).findFirst();
            if (d.isEmpty()) {
                throw new IllegalStateException("table " + table + ": column " + f.name() + " is not in the catalogue"
                        + " (org.lethe.store.Tables); declared: " + java.util.Arrays.toString(declared.fieldNames()));
            }
            // catalogString leaves nullability out (array<string>, map<string,double>)
            if (!d.get().dataType().catalogString().equals(f.dataType().catalogString())) {
                throw new IllegalStateException("table " + table + ": column " + f.name() + " is "
                        + f.dataType().simpleString() + " but the catalogue declares " + d.get().dataType().simpleString());
            }
        }
    }
}
