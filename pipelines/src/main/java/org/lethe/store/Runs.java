package org.lethe.store;

import static org.apache.spark.sql.functions.col;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code runs} table, keyed by (run_id, job): one row per job of a run with its config,
 * provenance and status. A job's runner writes it RUNNING when the job starts (then heartbeats),
 * and SUCCEEDED or FAILED LAST, after all its other tables, so a run whose row does not say
 * {@code SUCCEEDED} never looks complete and a killed job leaves a RUNNING row.
 *
 * <p>Every write of this table in one JVM is serialized: a heartbeat and a job's final row (a
 * composite job and its inner jobs) would otherwise race as concurrent Delta commits of the same
 * run's rows, retried in any order, so that a heartbeat could land after the final row.
 */
public final class Runs {
    public static final String TABLE = Tables.RUNS;

    /** The columns of {@code runs}, in the order {@link TableStore#read} returns them. */
    public static final StructType SCHEMA = Tables.columns(Tables.RUNS);

    private static final Object WRITES = new Object();

    private final TableStore store;

    public Runs(TableStore store) {
        this.store = store;
    }

    /** Writes {@code record}, replacing any earlier row of the same (run_id, job). */
    public void record(RunRecord r) {
        Row row = RowFactory.create(r.status().name(), r.configJson(), r.configSha256(), r.codeVersion(),
                r.sparkAppId(), r.modelFingerprint(), r.dataFingerprint(), Timestamp.from(r.startedAt()),
                r.heartbeatAt() == null ? null : Timestamp.from(r.heartbeatAt()),
                r.endedAt() == null ? null : Timestamp.from(r.endedAt()), r.error(), r.numericsJson(), r.runId(),
                r.job());
        synchronized (WRITES) {
            // A record always differs from the one it replaces (its times move on): no comparison job.
            store.writeChanged(TABLE, store.spark().createDataFrame(List.of(row), SCHEMA), 2, "job");
        }
    }

    /** The row of (runId, job), if recorded. */
    public Optional<RunRecord> get(String runId, String job) {
        if (!store.exists(TABLE)) {
            return Optional.empty();
        }
        return collect(runs -> runs.where(col(TableStore.RUN_ID).equalTo(runId).and(col("job").equalTo(job))))
                .stream().findFirst().map(Runs::toRecord);
    }

    /**
     * The rows {@code query} makes of {@code runs}, collected while no write of the table in this
     * JVM is under way (a read sees one Delta snapshot; serializing keeps a job's read after its own
     * last write).
     */
    public List<Row> collect(UnaryOperator<Dataset<Row>> query) {
        synchronized (WRITES) {
            return query.apply(read()).collectAsList();
        }
    }

    /** All rows of {@code runs}, lazily (tests; jobs use {@link #collect}). */
    Dataset<Row> read() {
        return store.read(TABLE);
    }

    private static RunRecord toRecord(Row row) {
        return new RunRecord(row.getAs(TableStore.RUN_ID), row.getAs("job"), RunStatus.valueOf(row.getAs("status")),
                row.getAs("config_json"), row.getAs("config_sha256"), row.getAs("code_version"), row.getAs("spark_app_id"),
                optional(row, "numerics_json"), row.getAs("model_fingerprint"), row.getAs("data_fingerprint"),
                instant(row.getAs("started_at")), instant(optional(row, "heartbeat_at")), instant(row.getAs("ended_at")),
                row.getAs("error"));
    }

    /** A column added after the table's first rows: null in a table written before it. */
    private static <T> T optional(Row row, String column) {
        return java.util.Arrays.asList(row.schema().fieldNames()).contains(column) ? row.getAs(column) : null;
    }

    // Timestamp normally; Instant when spark.sql.datetime.java8API.enabled is set.
    private static Instant instant(Object value) {
        if (value == null) {
            return null;
        }
        return value instanceof Instant i ? i : ((Timestamp) value).toInstant();
    }
}
