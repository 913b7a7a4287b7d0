package org.lethe.continual;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.apache.spark.sql.functions.col;

/**
 * The lease on a dataset's continual lineage: while a run holds it, no other run extends the
 * lineage. One row per dataset in {@code lineage_leases} (owner = the continual run id, a token
 * unique to the holding process, when it expires). It is taken, renewed and released by
 * conditional commits ({@link TableStore#writeOnce}: each version of the row is committed at most
 * once), so of two runs that race for it exactly one holds it; a run that finds it held by a live
 * owner leaves without writing. A holder renews it every third of its time to live; a holder that
 * died (killed, lost its node) stops renewing, and once the lease has expired the next run takes it
 * over (recording whom from) and resumes the interrupted request.
 *
 * <p>The lease keeps honest runs apart; the lineage's own conditional commit (one row per sequence
 * number) keeps the lineage from forking even if a holder stalled past its expiry.
 */
public final class LineageLease implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LineageLease.class);

    public static final String TABLE = Tables.LINEAGE_LEASES;
    private static final StructType SCHEMA = Tables.columns(TABLE);
    /** How often a run re-reads and retries when its commit lost to another's, before giving up. */
    private static final int ATTEMPTS = 5;

    /** One version of a dataset's lease row. */
    public record State(String dataset, long version, String owner, String token, String holder, Instant acquiredAt,
            Instant renewedAt, Instant expiresAt, boolean released, String takenOverFrom) {

        /** Whether it keeps other runs out at {@code now}: not released and not expired. */
        public boolean live(Instant now) {
            return !released && expiresAt.isAfter(now);
        }

        /** "continual run X (H; renewed at T, expires at E)", as messages name a holder. */
        public String describe() {
            return "continual run " + owner + " (" + holder + "; renewed at " + renewedAt + ", expires at " + expiresAt
                    + ")";
        }

        Row row() {
            return RowFactory.create(dataset, version, owner, token, holder, Timestamp.from(acquiredAt),
                    Timestamp.from(renewedAt), Timestamp.from(expiresAt), released, takenOverFrom, dataset);
        }

        static State of(Row r) {
            return new State(r.getAs("dataset"), r.<Long>getAs("version"), r.getAs("owner"), r.getAs("token"),
                    r.getAs("holder"), instant(r.getAs("acquired_at")), instant(r.getAs("renewed_at")),
                    instant(r.getAs("expires_at")), r.<Boolean>getAs("released"), r.getAs("taken_over_from"));
        }
    }

    /** What {@link #acquire} got: the lease, or the live lease of the run that holds it. */
    public record Attempt(Optional<LineageLease> lease, Optional<State> heldBy) {}

    private final SparkSession spark;
    private final TableStore store;
    private final Duration ttl;
    private final ScheduledExecutorService heartbeat;
    private final ScheduledFuture<?> beats;
    private volatile State state;
    private volatile String lost;

    private LineageLease(SparkSession spark, TableStore store, State state, Duration ttl) {
        this.spark = spark;
        this.store = store;
        this.state = state;
        this.ttl = ttl;
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lethe-lease-" + state.dataset());
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, ttl.toMillis() / 3);
        this.beats = heartbeat.scheduleWithFixedDelay(this::beat, every, every, TimeUnit.MILLISECONDS);
    }

    /** The current lease row of {@code dataset}, if it ever had one. */
    public static Optional<State> current(TableStore store, String dataset) {
        if (!store.exists(TABLE)) {
            return Optional.empty();
        }
        List<Row> rows = store.read(TABLE).filter(col(Tables.RUN_ID).equalTo(dataset)).collectAsList();
        return rows.stream().map(State::of).findFirst();
    }

    /**
     * Takes the lease on {@code dataset}'s lineage for continual run {@code owner}, unless a live
     * lease of another run holds it (then nothing is written). An expired lease is taken over.
     */
    public static Attempt acquire(SparkSession spark, TableStore store, String dataset, String owner, Duration ttl) {
        RunIds.validate(dataset, "dataset");
        RunIds.validate(owner);
        if (ttl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("lethe.continual.lease_ttl must be at least 1s, got " + ttl);
        }
        String token = UUID.randomUUID().toString();
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            Optional<State> current = current(store, dataset);
            Instant now = now();
            if (current.isPresent() && current.get().live(now)) {
                return new Attempt(Optional.empty(), current);
            }
            long version = current.map(c -> c.version() + 1).orElse(1L);
            String takenOverFrom = current.filter(c -> !c.released()).map(State::owner).orElse(null);
            State next = new State(dataset, version, owner, token, holder(spark), now, now, now.plus(ttl), false,
                    takenOverFrom);
            commit(spark, store, next);
            Optional<State> after = current(store, dataset);
            if (after.isPresent() && after.get().token().equals(token) && after.get().version() == version) {
                if (takenOverFrom != null) {
                    LOG.warn("lineage of {}: took over the expired lease of continual run {} (expired at {})", dataset,
                            takenOverFrom, current.get().expiresAt());
                }
                LOG.info("lineage of {}: lease version {} taken by {} until {}", dataset, version, owner, next.expiresAt());
                return new Attempt(Optional.of(new LineageLease(spark, store, after.get(), ttl)), Optional.empty());
            }
            LOG.info("lineage of {}: lease version {} went to another run; reading it again", dataset, version);
        }
        throw new IllegalStateException("lineage of " + dataset + ": the lease changed hands " + ATTEMPTS
                + " times while this run tried to take it; try again");
    }

    /** The lease as last committed by this holder. */
    public State state() {
        return state;
    }

    /**
     * Throws unless this run still holds the lease: it was taken over (this run stalled past its
     * expiry) or could not be renewed until it expired. Checked before each lineage step.
     */
    public void check() {
        String why = lost;
        State s = state;
        if (why == null && !s.expiresAt().isAfter(now())) {
            why = "expired at " + s.expiresAt() + " without a renewal";
        }
        if (why != null) {
            throw new IllegalStateException("continual run " + s.owner() + " no longer holds the lease on the lineage"
                    + " of dataset " + s.dataset() + ": " + why);
        }
    }

    /** Renews the lease now (the heartbeat does so every third of its time to live). */
    public synchronized void renew() {
        if (lost != null) {
            return;
        }
        State s = state;
        Instant now = now();
        State next = new State(s.dataset(), s.version() + 1, s.owner(), s.token(), s.holder(), s.acquiredAt(), now,
                now.plus(ttl), false, s.takenOverFrom());
        commit(spark, store, next);
        Optional<State> after = current(store, s.dataset());
        if (after.isPresent() && after.get().token().equals(s.token()) && after.get().version() == next.version()) {
            state = after.get();
        } else {
            lost = "taken over by " + after.map(State::describe).orElse("nobody");
            LOG.error("lineage of {}: lease lost: {}", s.dataset(), lost);
        }
    }

    private void beat() {
        try {
            SparkSession.setActiveSession(spark);
            renew();
        } catch (Exception | Error e) {
            // An exception escaping would cancel every later beat; the next beat tries again, and
            // check() fails the run once the lease has expired unrenewed.
            LOG.warn("lineage of {}: lease not renewed: {}", state.dataset(), e.toString(), e);
        }
    }

    /** Stops renewing and releases the lease (unless it was lost), so the next run need not wait. */
    @Override
    public void close() {
        beats.cancel(false);
        heartbeat.shutdown();
        try {
            heartbeat.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            if (lost != null) {
                return;
            }
            State s = state;
            Instant now = now();
            State released = new State(s.dataset(), s.version() + 1, s.owner(), s.token(), s.holder(), s.acquiredAt(),
                    now, now, true, s.takenOverFrom());
            try {
                commit(spark, store, released);
                lost = "released";
                LOG.info("lineage of {}: lease released by {}", s.dataset(), s.owner());
            } catch (RuntimeException e) {
                LOG.warn("lineage of {}: lease not released (it expires at {}): {}", s.dataset(), s.expiresAt(),
                        e.toString());
            }
        }
    }

    private static void commit(SparkSession spark, TableStore store, State next) {
        store.writeOnce(TABLE, spark.createDataFrame(List.of(next.row()), SCHEMA), "lethe-lease-" + next.dataset(),
                next.version());
    }

    /** Host, process id and Spark application: where the holder runs. */
    private static String holder(SparkSession spark) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return "host " + host + ", pid " + ManagementFactory.getRuntimeMXBean().getPid() + ", application "
                + spark.sparkContext().applicationId();
    }

    /** Now, to the microsecond a table keeps. */
    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MICROS);
    }

    private static Instant instant(Object value) {
        return value instanceof Instant i ? i : ((Timestamp) value).toInstant();
    }
}
