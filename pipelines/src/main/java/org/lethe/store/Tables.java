package org.lethe.store;

/**
 * The catalogue of Lethe's tables under a root: every table's name, in one place, so that no job
 * spells a table name as a literal and a reader of one package need not import the package that
 * writes the table.
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

    private Tables() {}
}
