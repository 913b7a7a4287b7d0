package org.lethe.continual;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.lethe.data.IngestedDataset;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import static org.apache.spark.sql.functions.col;

/**
 * The {@code requests} table: one row per unlearning request (what to forget, with which method
 * and overrides, and where it stands), keyed by request id; a status change replaces the row.
 */
public final class Requests {
    public static final String TABLE = Tables.REQUESTS;
    /** Each request's frozen forget set. */
    public static final String SAMPLES = Tables.REQUEST_SAMPLES;

    /**
     * Where a request stands: PENDING until a continual run takes it (RUNNING), then SUCCEEDED or
     * FAILED (taken again by later runs until it has had {@code lethe.continual.max_attempts}
     * attempts, or at once for good when its settings are invalid); CANCELLED by {@code lethe
     * request --cancel} before it succeeded.
     */
    public enum Status { PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED }

    /** The error prefix of a request whose settings did not check: FAILED for good at once. */
    public static final String INVALID = "invalid: ";

    /** The columns; {@code run_id} (the table store's key) equals {@code request_id}. */
    public static final StructType SCHEMA = Tables.columns(Tables.REQUESTS);

    /** One request. */
    public record Request(String requestId, Instant submittedAt, String dataset, ForgetSelector selector, String method,
            List<String> overrides, Status status, Instant updatedAt, String continualRunId, int attempts,
            String error) {
        public Request {
            RunIds.validate(requestId, "request id");
            overrides = List.copyOf(overrides);
        }

        /** A new request, PENDING. */
        public static Request submitted(String requestId, Instant at, String dataset, ForgetSelector selector,
                String method, List<String> overrides) {
            return new Request(requestId, at, dataset, selector, method, overrides, Status.PENDING, at, null, 0, null);
        }

        /** This request moved to {@code status} by a continual run. */
        public Request with(Status next, Instant at, String continualRunId, String failure) {
            return new Request(requestId, submittedAt, dataset, selector, method, overrides, next, at, continualRunId,
                    next == Status.RUNNING ? attempts + 1 : attempts, failure);
        }

        /** Whether no run takes it any more: SUCCEEDED, CANCELLED, or FAILED for good. */
        public boolean settled(int maxAttempts) {
            return status == Status.SUCCEEDED || status == Status.CANCELLED || (status == Status.FAILED
                    && (attempts >= maxAttempts || (error != null && error.startsWith(INVALID))));
        }

        /** The UTC calendar day it was submitted on. */
        public LocalDate submittedOn() {
            return submittedAt.atZone(ZoneOffset.UTC).toLocalDate();
        }
    }

    /** Processing order: submitted time, then request id. */
    public static final Comparator<Request> ORDER = Comparator.comparing(Request::submittedAt)
            .thenComparing(Request::requestId);

    private final SparkSession spark;
    private final TableStore store;

    public Requests(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /** Adds a new request; an id that is already there is an error (a request is submitted once). */
    public void submit(Request r) {
        requireNew(r);
        write(r);
    }

    /**
     * Submits a new request with its forget set frozen: the sample ids its selector selects in
     * {@code data} now are stored ({@code request_samples}) before the request itself, so a later
     * re-ingest whose selector matches differ changes nothing it forgets.
     *
     * @return how many samples the request forgets
     * @throws IllegalArgumentException for an id that exists or a selector that selects nothing
     */
    public long submit(Request r, IngestedDataset.Ref data) {
        requireNew(r);
        IngestedDataset dataset = IngestedDataset.open(store, data);
        long n = freeze(r, dataset);
        if (n == 0) {
            throw selectsNothing(dataset, r.selector());
        }
        write(r);
        return n;
    }

    /** The request's frozen forget set (column sample_id), if it was frozen. */
    public Optional<Dataset<Row>> frozen(String requestId) {
        if (!store.exists(SAMPLES)) {
            return Optional.empty();
        }
        Dataset<Row> ids = store.read(SAMPLES).filter(col(Tables.RUN_ID).equalTo(requestId)).select("sample_id");
        return ids.isEmpty() ? Optional.empty() : Optional.of(ids);
    }

    /**
     * The request's forget set: its frozen sample ids, or (a request submitted before forget sets
     * were frozen) the ids its selector selects in {@code data} now, frozen from then on.
     */
    public Dataset<Row> forgetSet(Request r, IngestedDataset data) {
        return frozen(r.requestId()).orElseGet(() -> {
            freeze(r, data);
            return frozen(r.requestId()).orElseGet(() -> r.selector().ids(data).select("sample_id"));
        });
    }

    /** Stores the ids {@code r}'s selector selects in {@code data}; returns how many (none: nothing stored). */
    private long freeze(Request r, IngestedDataset data) {
        IngestedDataset.Ref ref = data.ref();
        Dataset<Row> ids = r.selector().ids(data).select("sample_id").distinct()
                .withColumn("dataset", functions.lit(ref.dataset()))
                .withColumn("data_run_id", functions.lit(ref.dataRun()))
                .withColumn(Tables.RUN_ID, functions.lit(r.requestId()))
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        try {
            long n = ids.count();
            if (n > 0) {
                store.write(SAMPLES, ids);
            }
            return n;
        } finally {
            ids.unpersist();
        }
    }

    /** A request is submitted once: an id already there is an error naming its status. */
    private void requireNew(Request r) {
        Optional<Request> existing = get(r.requestId());
        if (existing.isPresent()) {
            throw new IllegalArgumentException("request " + r.requestId() + " already exists (status "
                    + existing.get().status() + ", submitted " + existing.get().submittedAt() + ")");
        }
    }

    /** Replaces the requests' rows, in one commit. */
    public void write(Request... rs) {
        List<Row> rows = new java.util.ArrayList<>();
        for (Request r : rs) {
            rows.add(RowFactory.create(r.requestId(), Timestamp.from(r.submittedAt()), r.dataset(), r.selector().text(),
                    r.method(), r.overrides().toArray(new String[0]), r.status().name(), Timestamp.from(r.updatedAt()),
                    r.continualRunId(), r.attempts(), r.error(), r.requestId()));
        }
        store.write(TABLE, spark.createDataFrame(rows, SCHEMA));
    }

    /** A request id from its content and time: {@code req-<yyyyMMddTHHmmssZ>-<8 hex>}. */
    public static String newId(Instant at, ForgetSelector selector, String method, List<String> overrides) {
        String time = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                .format(at.atZone(ZoneOffset.UTC));
        String content = at + "\n" + selector.text() + "\n" + method + "\n" + String.join("\n", overrides);
        return "req-" + time + "-" + org.lethe.store.Fingerprints.sha256(content).substring(0, 8);
    }

    /**
     * How many samples {@code selector} selects in the ingested dataset {@code data}; none is an
     * error naming the selector and the dataset's splits.
     */
    public long selectedCount(IngestedDataset.Ref data, ForgetSelector selector) {
        IngestedDataset dataset = IngestedDataset.open(store, data);
        long n = selector.ids(dataset).count();
        if (n == 0) {
            throw selectsNothing(dataset, selector);
        }
        return n;
    }

    private static IllegalArgumentException selectsNothing(IngestedDataset dataset, ForgetSelector selector) {
        return new IllegalArgumentException("--forget " + selector.text() + ": selects no sample of dataset '"
                + dataset.ref().dataset() + "' (ingest run " + dataset.ref().dataRun() + "; its splits: "
                + dataset.splits() + ")");
    }

    /** Every request, in processing order. */
    public List<Request> all() {
        if (!store.exists(TABLE)) {
            return List.of();
        }
        return store.read(TABLE).collectAsList().stream().map(Requests::of).sorted(ORDER).toList();
    }

    /** The request with this id. */
    public Optional<Request> get(String requestId) {
        if (!store.exists(TABLE)) {
            return Optional.empty();
        }
        return store.read(TABLE).filter(col("request_id").equalTo(requestId)).collectAsList().stream()
                .map(Requests::of).findFirst();
    }

    /**
     * The requests of {@code dataset} submitted on or before {@code runDate} (UTC) that are not
     * {@link Request#settled settled}, in processing order.
     */
    public List<Request> due(String dataset, LocalDate runDate, int maxAttempts) {
        return due(all(), dataset, runDate, maxAttempts);
    }

    /** As {@link #due(String, LocalDate, int)}, among {@code requests} (in processing order). */
    public static List<Request> due(List<Request> requests, String dataset, LocalDate runDate, int maxAttempts) {
        return requests.stream().filter(r -> r.dataset().equals(dataset) && !r.submittedOn().isAfter(runDate)
                && !r.settled(maxAttempts)).toList();
    }

    /**
     * Cancels request {@code requestId}: it is CANCELLED and no run takes it. One that SUCCEEDED
     * cannot be (its forgetting is in the lineage), nor one RUNNING (a run holds it now);
     * cancelling a CANCELLED one changes nothing.
     *
     * @return the request as it now stands
     * @throws IllegalArgumentException naming the request and why
     */
    public Request cancel(String requestId, Instant at) {
        Request r = get(requestId).orElseThrow(() -> new IllegalArgumentException("request " + requestId
                + " does not exist" + (store.exists(TABLE) ? "" : " (no requests table under " + store.root() + ")")));
        switch (r.status()) {
            case CANCELLED:
                return r;
            case SUCCEEDED:
                throw new IllegalArgumentException("request " + requestId + " SUCCEEDED (continual run "
                        + r.continualRunId() + "): its forgetting is applied and cannot be cancelled");
            case RUNNING:
                throw new IllegalArgumentException("request " + requestId + " is RUNNING in continual run "
                        + r.continualRunId() + ": cancel it once that run has ended");
            default:
                Request cancelled = new Request(r.requestId(), r.submittedAt(), r.dataset(), r.selector(), r.method(),
                        r.overrides(), Status.CANCELLED, at, r.continualRunId(), r.attempts(), r.error());
                write(cancelled);
                return cancelled;
        }
    }

    private static Request of(Row row) {
        return new Request(row.getAs("request_id"), instant(row.getAs("submitted_at")), row.getAs("dataset"),
                ForgetSelector.parse(row.getAs("selector")), row.getAs("method"), row.getList(row.fieldIndex("overrides")),
                Status.valueOf(row.getAs("status")), instant(row.getAs("updated_at")), row.getAs("continual_run_id"),
                row.<Integer>getAs("attempts"), row.getAs("error"));
    }

    private static Instant instant(Object value) {
        return value instanceof Instant i ? i : ((Timestamp) value).toInstant();
    }
}
