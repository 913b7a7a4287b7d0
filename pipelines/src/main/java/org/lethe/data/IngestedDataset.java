package org.lethe.data;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;

import java.io.Serializable;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * One ingested dataset under a table root: its {@code memberships} and {@code examples} rows of
 * one ingest run, its splits, and the errors that name them. The only place that knows a
 * dataset's default ingest run is {@code ingest-<dataset>} and how the ingest tables are keyed.
 */
public final class IngestedDataset {

    /**
     * Which ingested data a job reads: the dataset and its ingest run.
     *
     * @param dataRun the ingest run id, never empty
     */
    public record Ref(String dataset, String dataRun) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** {@code dataset}'s ingest run {@code dataRunId}, or its default run when that is empty. */
        public static Ref of(String dataset, String dataRunId) {
            return new Ref(dataset, dataRunId == null || dataRunId.isEmpty() ? defaultRun(dataset) : dataRunId);
        }

        /** "dataset 'X' (ingest run Y)", as errors name it. */
        public String describe() {
            return "dataset '" + dataset + "' (ingest run " + dataRun + ")";
        }
    }

    /** The run id {@code ingest} gives a dataset by default, and that readers assume when none is set. */
    public static String defaultRun(String dataset) {
        return "ingest-" + dataset;
    }

    private final TableStore store;
    private final Ref ref;
    private final boolean everyRun;

    private IngestedDataset(TableStore store, Ref ref, boolean everyRun) {
        this.store = store;
        this.ref = ref;
        this.everyRun = everyRun;
    }

    /** The dataset {@code ref} under {@code store}; fails when nothing was ingested there. */
    public static IngestedDataset open(TableStore store, Ref ref) {
        if (!store.exists(Tables.MEMBERSHIPS) || !store.exists(Tables.EXAMPLES)) {
            throw new IllegalArgumentException("no ingested data under " + store.root() + ": run `lethe ingest` first");
        }
        return new IngestedDataset(store, ref, false);
    }

    /**
     * {@code dataset} under {@code store} across all its ingest runs, for readers that match
     * samples by content whichever run ingested them (import-eval); its tables may be missing
     * ({@link #hasExamples()}, {@link #hasMemberships()}).
     */
    public static IngestedDataset everyRun(TableStore store, String dataset) {
        return new IngestedDataset(store, Ref.of(dataset, ""), true);
    }

    /** Whether any examples were ingested under the root. */
    public boolean hasExamples() {
        return store.exists(Tables.EXAMPLES);
    }

    /** Whether any memberships were ingested under the root. */
    public boolean hasMemberships() {
        return store.exists(Tables.MEMBERSHIPS);
    }

    public Ref ref() {
        return ref;
    }

    /** The dataset's {@code memberships} rows (split, sample_id, source file and line, ...). */
    public Dataset<Row> memberships() {
        return ofThisRun(store.read(Tables.MEMBERSHIPS));
    }

    /** The dataset's {@code examples} rows (one per sample). */
    public Dataset<Row> examples() {
        return ofThisRun(store.read(Tables.EXAMPLES));
    }

    /** The rows of another table of the ingest (e.g. {@code refusals}) that belong to this dataset. */
    public Dataset<Row> rowsOf(String table) {
        return ofThisRun(store.read(table));
    }

    /** The distinct {@code sample_id}s of {@code split}. */
    public Dataset<Row> ids(String split) {
        return memberships().filter(col("split").equalTo(split)).select("sample_id").distinct();
    }

    /** The distinct {@code sample_id}s of any of {@code splits}. */
    public Dataset<Row> ids(List<String> splits) {
        return memberships().filter(col("split").isin(splits.toArray())).select("sample_id").distinct();
    }

    /** The dataset's splits, sorted. */
    public List<String> splits() {
        return memberships().select("split").distinct().orderBy("split").collectAsList().stream()
                .map(r -> r.getString(0)).toList();
    }

    /**
     * The error for a split (or selection) {@code what} without samples, for config key {@code key}:
     * "KEY: dataset 'X' (ingest run Y) has no samples in WHAT; its splits: [...]".
     */
    public IllegalArgumentException noSamples(String key, String what) {
        return new IllegalArgumentException(key + ": " + ref.describe() + " has no samples in " + what
                + "; its splits: " + splits());
    }

    private Dataset<Row> ofThisRun(Dataset<Row> rows) {
        Dataset<Row> ofDataset = rows.filter(col("dataset").equalTo(ref.dataset()));
        return everyRun ? ofDataset : ofDataset.filter(col(TableStore.RUN_ID).equalTo(ref.dataRun()));
    }
}
