package org.lethe.unlearn;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.store.Tables;
import org.lethe.store.TableStore;

import static org.apache.spark.sql.functions.col;

/**
 * What {@code unlearn} reads from {@code lethe stats} runs: the influence pairs behind entangled
 * retain selection and the forget samples already forgotten (skip_forgotten).
 */
final class StatsSelection {

    private StatsSelection() {}

    /** (forget_sample_id, retain_sample_id, rank) of stats run {@code runId}. */
    static Dataset<Row> pairs(TableStore store, String runId) {
        if (!store.exists(Tables.INFLUENCE_PAIRS)) {
            throw new IllegalArgumentException("lethe.unlearn.stats_run_id: no influence_pairs table under " + store.root()
                    + ": run `lethe stats` first");
        }
        Dataset<Row> pairs = store.read(Tables.INFLUENCE_PAIRS).filter(col("run_id").equalTo(runId))
                .select("forget_sample_id", "retain_sample_id", "rank");
        if (pairs.isEmpty()) {
            throw new IllegalArgumentException("lethe.unlearn.stats_run_id: stats run '" + runId + "' has no"
                    + " influence_pairs rows (it needs forget and retain splits)");
        }
        return pairs;
    }

    /**
     * (sample_id) of the forget samples whose mean NLL in {@code runId} is at least their mean NLL in
     * {@code retainRunId} (the retain-only model's stats): already as unlikely as if never trained on.
     */
    static Dataset<Row> forgotten(TableStore store, String dataset, String runId, String retainRunId) {
        if (!store.exists(Tables.SAMPLE_STATS)) {
            throw new IllegalArgumentException("lethe.unlearn.stats_run_id: no sample_stats table under " + store.root()
                    + ": run `lethe stats` first");
        }
        Dataset<Row> own = forgetNll(store, dataset, runId, "lethe.unlearn.stats_run_id");
        Dataset<Row> retain = forgetNll(store, dataset, retainRunId, "lethe.unlearn.retain_stats_run_id");
        return own.join(retain.withColumnRenamed("mean_nll", "retain_nll"), "sample_id")
                .filter(col("mean_nll").geq(col("retain_nll"))).select("sample_id");
    }

    private static Dataset<Row> forgetNll(TableStore store, String dataset, String runId, String key) {
        Dataset<Row> rows = store.read(Tables.SAMPLE_STATS).filter(col("run_id").equalTo(runId)
                .and(col("dataset").equalTo(dataset)).and(col("role").equalTo("forget"))).select("sample_id", "mean_nll");
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(key + ": stats run '" + runId + "' has no forget samples of dataset '"
                    + dataset + "' in sample_stats");
        }
        return rows;
    }
}
