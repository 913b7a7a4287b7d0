package org.lethe.eval;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;

/**
 * The evaluation tables: {@code eval_samples} (one row per run, step, dataset, eval set, sample
 * and per-sample metric, written by the executors that score samples) and {@code eval_summary}
 * (the aggregates {@link EvalAggregation} computes from them), both partitioned by {@code run_id}.
 *
 * <p>{@code eval_summary} conventions: {@code metric} is {@code <split>_<metric>} for the mean (or
 * TOFU truth-ratio aggregate) of one eval set's per-sample metric, else one of {@link
 * #FORGET_QUALITY}, {@link #MODEL_UTILITY}, {@link #FORGET_EFFICACY}, {@link #PRIVLEAK}; {@code
 * split} is the eval set the aggregate describes, NULL for aggregates over several sets (model
 * utility, privleak); {@code n} is how many values it was computed from (samples with a value;
 * items both runs have for forget quality; forget + holdout samples for privleak; components for
 * model utility and forget efficacy); a missing aggregate has a NULL value, n = 0 and a {@code
 * missing_reason}, never 0; {@code depends_on} lists its inputs as {@code split.metric} (this run)
 * or {@code run@step:split.metric} (another run), comma-separated.
 */
public final class EvalTables {

    /** Per-sample metric values ({@link Tables#EVAL_SAMPLES}). */
    public static final String EVAL_SAMPLES = Tables.EVAL_SAMPLES;
    /** Aggregates of {@link #EVAL_SAMPLES} ({@link Tables#EVAL_SUMMARY}). */
    public static final String EVAL_SUMMARY = Tables.EVAL_SUMMARY;

    // Eval set roles (the split column)
    public static final String FORGET = "forget";
    public static final String RETAIN = "retain";
    public static final String REAL_AUTHORS = "real_authors";
    public static final String WORLD_FACTS = "world_facts";
    public static final String HOLDOUT = "holdout";

    // Per-sample metrics (the metric column of eval_samples)
    /** exp(-mean NLL) on forget / retain; p(a) / (p(a) + sum p(perturbed)) on real authors and world facts. */
    public static final String PROBABILITY = "probability";
    public static final String ROUGE_L_RECALL = "rouge_l_recall";
    public static final String ROUGE_L_F1 = "rouge_l_f1";
    /** The raw ratio R = exp(meanNll(paraphrased) - mean_j meanNll(perturbed_j)), see {@link TruthRatio#of}. */
    public static final String TRUTH_RATIO = "truth_ratio";
    public static final String MEAN_NLL = "mean_nll";
    public static final String PARAPHRASED_MEAN_NLL = "paraphrased_mean_nll";
    /** The mean over perturbed answers of their mean NLL. */
    public static final String PERTURBED_MEAN_NLL = "perturbed_mean_nll";
    public static final String TOKEN_ENTROPY = "token_entropy";
    public static final String EXTRACTION_STRENGTH = "extraction_strength";
    public static final String EXACT_MEMORIZATION = "exact_memorization";
    public static final String MIA_LOSS = "mia_loss";
    public static final String MIA_ZLIB = "mia_zlib";
    public static final String MIA_MIN_K = "mia_min_k";
    public static final String MIA_MIN_K_PLUS_PLUS = "mia_min_k_plus_plus";
    public static final String MIA_REFERENCE = "mia_reference";
    public static final String MIA_GRADIENT_NORM = "mia_gradient_norm";
    public static final String COSINE_SIMILARITY = "cosine_similarity";
    public static final String ENTAILMENT = "entailment";

    /**
     * Multiple-choice accuracy by answer likelihood: 1 when the answer's mean NLL is below every
     * perturbed (wrong) option's, the shape of WMDP / MMLU scoring (on the perturbed eval sets and on
     * every {@code lethe.eval.mcq_sets} set).
     */
    public static final String MCQ_ACCURACY = "mcq_accuracy";
    /**
     * MUSE's VerbMem: ROUGE-L F1 (no stemming) of the greedy continuation of a forget passage's first
     * tokens against the passage's true continuation.
     */
    public static final String VERBMEM_ROUGE_L_F1 = "verbmem_rouge_l_f1";
    /** MUSE's KnowMem: ROUGE-L F1 (no stemming) of a few-shot prompted greedy answer against the answer. */
    public static final String KNOWMEM_ROUGE_L_F1 = "knowmem_rouge_l_f1";
    /** Robustness ("Rethinking"): the answer's probability given the paraphrased question. */
    public static final String PARAPHRASED_QUESTION_PROBABILITY = "paraphrased_question_probability";
    /** Robustness: ROUGE-L recall of the generation for the paraphrased question. */
    public static final String PARAPHRASED_QUESTION_ROUGE_L_RECALL = "paraphrased_question_rouge_l_recall";

    /** Every per-sample metric name Lethe writes, in a stable order. */
    public static final List<String> SAMPLE_METRICS = List.of(PROBABILITY, ROUGE_L_RECALL, ROUGE_L_F1, TRUTH_RATIO,
            MEAN_NLL, PARAPHRASED_MEAN_NLL, PERTURBED_MEAN_NLL, TOKEN_ENTROPY, EXTRACTION_STRENGTH,
            EXACT_MEMORIZATION, MIA_LOSS, MIA_ZLIB, MIA_MIN_K, MIA_MIN_K_PLUS_PLUS, MIA_REFERENCE,
            MIA_GRADIENT_NORM, COSINE_SIMILARITY, ENTAILMENT, MCQ_ACCURACY, PARAPHRASED_QUESTION_PROBABILITY,
            PARAPHRASED_QUESTION_ROUGE_L_RECALL, VERBMEM_ROUGE_L_F1, KNOWMEM_ROUGE_L_F1);

    /** One of MUSE's memorization aggregates: eval set, per-sample metric, the {@code lethe.eval.muse} key that enables it. */
    public record MuseAggregate(String split, String metric, String configKey) {
        /** The eval_summary metric name, {@code <split>_<metric>}. */
        public String name() {
            return split + "_" + metric;
        }
    }

    /**
     * MUSE's memorization aggregates: VerbMem on the forget corpus, KnowMem on the forget and retain
     * corpora. Always present in {@code eval_summary}: NULL with a reason when not evaluated.
     */
    public static final List<MuseAggregate> MUSE_AGGREGATES = List.of(
            new MuseAggregate(FORGET, VERBMEM_ROUGE_L_F1, "verbmem_split"),
            new MuseAggregate(FORGET, KNOWMEM_ROUGE_L_F1, "knowmem_split"),
            new MuseAggregate(RETAIN, KNOWMEM_ROUGE_L_F1, "knowmem_retain_split"));

    // Aggregates over several per-sample metrics or runs (the metric column of eval_summary)
    /** TOFU's forget quality: KS p-value of the forget truth ratios against the retain run's. */
    public static final String FORGET_QUALITY = "forget_quality";
    /** TOFU's model utility: harmonic mean of probability, ROUGE-L recall and truth ratio on retain, real authors, world facts. */
    public static final String MODEL_UTILITY = "model_utility";
    /** closer-look's forget efficacy: 1 - the mean of the forget set's knowledge measures. */
    public static final String FORGET_EFFICACY = "forget_efficacy";
    /** MUSE's PrivLeak of Min-K% between forget and holdout, relative to the retain run, in percent. */
    public static final String PRIVLEAK = "privleak";

    public static final StructType SAMPLES_SCHEMA = Tables.columns(Tables.EVAL_SAMPLES);

    public static final StructType SUMMARY_SCHEMA = Tables.columns(Tables.EVAL_SUMMARY);

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");

    private EvalTables() {}

    /** One {@code eval_samples} row; {@code value} and {@code generation} may be null. */
    public record Sample(String runId, long step, String dataset, String split, String sampleId, String metric,
                         Double value, String generation) {

        public Sample {
            RunIds.validate(runId);
            required(dataset, "dataset");
            name(split, "split");
            required(sampleId, "sample_id");
            name(metric, "metric");
        }

        public Row toRow() {
            return RowFactory.create(runId, step, dataset, split, sampleId, metric, value, generation);
        }

        /** A row with the columns of {@link #SAMPLES_SCHEMA}, by name ({@code generation} optional). */
        public static Sample fromRow(Row row) {
            boolean hasGeneration = List.of(row.schema().fieldNames()).contains("generation");
            return new Sample(row.getAs("run_id"), row.<Long>getAs("step"), row.getAs("dataset"), row.getAs("split"),
                    row.getAs("sample_id"), row.getAs("metric"), row.getAs("value"),
                    hasGeneration ? row.getAs("generation") : null);
        }
    }

    /** One {@code eval_summary} row: a NULL {@code value} comes with a {@code missingReason}. */
    public record Summary(String runId, long step, String dataset, String split, String metric, Double value, long n,
                          String retainRunId, String missingReason, String dependsOn) {

        public Summary {
            RunIds.validate(runId);
            required(dataset, "dataset");
            if (split != null) {
                name(split, "split");
            }
            name(metric, "metric");
            required(dependsOn, "depends_on");
            if (value == null && (missingReason == null || missingReason.isBlank())) {
                throw new IllegalArgumentException("eval_summary " + metric + " of run " + runId
                        + ": a NULL value needs a missing_reason");
            }
        }

        public Row toRow() {
            return RowFactory.create(runId, step, dataset, split, metric, value, n, retainRunId, missingReason,
                    dependsOn);
        }

        public static Summary fromRow(Row row) {
            return new Summary(row.getAs("run_id"), row.<Long>getAs("step"), row.getAs("dataset"), row.getAs("split"),
                    row.getAs("metric"), row.getAs("value"), row.<Long>getAs("n"), row.getAs("retain_run_id"),
                    row.getAs("missing_reason"), row.getAs("depends_on"));
        }
    }

    /** The rows as a Dataset with {@link #SAMPLES_SCHEMA} (for driver-side lists; executors build rows directly). */
    public static Dataset<Row> samples(SparkSession spark, List<Sample> samples) {
        List<Row> rows = new ArrayList<>(samples.size());
        samples.forEach(s -> rows.add(s.toRow()));
        return spark.createDataFrame(rows, SAMPLES_SCHEMA);
    }

    /** The rows as a Dataset with {@link #SUMMARY_SCHEMA}. */
    public static Dataset<Row> summaries(SparkSession spark, List<Summary> summaries) {
        List<Row> rows = new ArrayList<>(summaries.size());
        summaries.forEach(s -> rows.add(s.toRow()));
        return spark.createDataFrame(rows, SUMMARY_SCHEMA);
    }

    /**
     * Writes {@code rows} (with {@link #SAMPLES_SCHEMA}'s columns) to {@code eval_samples},
     * partitioned by (run_id, step): every (run, step) present replaces its earlier rows, other
     * steps of the run stay (unlearning curves evaluate one checkpoint at a time).
     */
    public static void writeSamples(TableStore store, Dataset<Row> rows) {
        store.write(EVAL_SAMPLES, rows.select(columns(SAMPLES_SCHEMA)), 2, "step");
    }

    /** Writes {@code eval_summary} rows: every run present replaces all its earlier rows. */
    public static void writeSummary(TableStore store, Dataset<Row> rows) {
        store.write(EVAL_SUMMARY, rows.select(columns(SUMMARY_SCHEMA)));
    }

    private static Column[] columns(StructType schema) {
        return Arrays.stream(schema.fieldNames()).map(functions::col).toArray(Column[]::new);
    }

    private static void required(String value, String column) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(column + " must not be " + (value == null ? "null" : "empty"));
        }
    }

    private static void name(String value, String column) {
        if (value == null || !NAME.matcher(value).matches()) {
            throw new IllegalArgumentException(column + " '" + value + "': expected snake_case [a-z][a-z0-9_]*");
        }
    }
}
