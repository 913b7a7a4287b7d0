package org.lethe.job;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.model.NumericGuard;
import org.lethe.storage.ModelCacheSettings;
import org.lethe.store.RunIds;
import org.lethe.store.RunRecord;
import org.lethe.store.RunStatus;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs one job of one run and keeps its {@code runs} row true, for jobs started from the command
 * line and for the jobs a composite job (demo, continual, relearn) runs inside its own Spark
 * application alike: a RUNNING row when the job starts (start time, heartbeat time, Spark
 * application id, numeric environment), a heartbeat every {@link #heartbeat()} while it runs, then
 * SUCCEEDED with the fingerprints of its result, or FAILED with the error (which is rethrown). A job
 * killed outright leaves its RUNNING row with its last heartbeat, never an older SUCCEEDED one.
 *
 * <p>Every job runs under its config's {@link NumericGuard}: the driver's numeric environment is
 * checked before anything is written (an unpinned driver of a reproducible job fails here, with no
 * row) and every task that computes with a model is held to it.
 *
 * <p>A re-run that finds nothing to do ({@link #runUnlessUpToDate}) writes nothing at all, not
 * even RUNNING. Heartbeats and the final row never overlap: the final row is written only after
 * the last heartbeat has finished, and {@link Runs} serializes every write of the table in the JVM.
 */
public final class JobRunner {

    /** How often a running job's row is refreshed unless told otherwise. */
    public static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(60);

    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
    /** A job's work. */
    @FunctionalInterface
    public interface Work<T> {
        T run() throws Exception;
    }

    /** What a re-run would return without doing anything, or empty when there is work to do. */
    @FunctionalInterface
    public interface UpToDate<T> {
        Optional<T> check() throws Exception;
    }

    private final SparkSession spark;
    private final TableStore store;
    private final Runs runs;
    private final String codeVersion;
    private final Duration heartbeat;

    public JobRunner(SparkSession spark, TableStore store, String codeVersion) {
        this(spark, store, codeVersion, DEFAULT_HEARTBEAT);
    }

    private JobRunner(SparkSession spark, TableStore store, String codeVersion, Duration heartbeat) {
        if (heartbeat.isNegative() || heartbeat.isZero()) {
            throw new IllegalArgumentException("heartbeat interval must be > 0, got " + heartbeat);
        }
        this.spark = spark;
        this.store = store;
        this.runs = new Runs(store);
        this.codeVersion = codeVersion;
        this.heartbeat = heartbeat;
    }

    /** This runner with another heartbeat interval. */
    public JobRunner withHeartbeat(Duration every) {
        return new JobRunner(spark, store, codeVersion, every);
    }

    public Duration heartbeat() {
        return heartbeat;
    }

    public TableStore store() {
        return store;
    }

    public SparkSession spark() {
        return spark;
    }

    /** The code version recorded in every row. */
    public String codeVersion() {
        return codeVersion;
    }

    /** Runs {@code work} as job {@code job} of run {@code runId} under {@code request}'s provenance. */
    public <T extends JobResult> T run(String runId, String job, JobRequest request, Work<T> work) throws Exception {
        return run(runId, job, request.provenance(), work);
    }

    /** Runs {@code work} as job {@code job} of run {@code runId}, recording {@code provenance}. */
    public <T extends JobResult> T run(String runId, String job, LetheConfig provenance, Work<T> work)
            throws Exception {
        return runUnlessUpToDate(runId, job, provenance, Optional::empty, work);
    }

    /**
     * As {@link #run}, except that when {@code upToDate} has a result and the job's row already
     * says SUCCEEDED, that result is returned and nothing is written (a re-run of a continual date,
     * say, changes no file). A first run with nothing to do is still recorded.
     */
    public <T extends JobResult> T runUnlessUpToDate(String runId, String job, LetheConfig provenance,
            UpToDate<T> upToDate, Work<T> work) throws Exception {
        RunIds.validate(runId);
        Instant startedAt = Instant.now();
        Optional<T> done = upToDate.check();
        if (done.isPresent() && done.get().stoodAside()) {
            LOG.info("{} {}: another run holds its work; nothing recorded", job, runId);
            return done.get();
        }
        if (done.isPresent() && runs.get(runId, job).filter(r -> r.status() == RunStatus.SUCCEEDED).isPresent()) {
            LOG.info("{} {}: nothing to do; its runs row stays as it was", job, runId);
            return done.get();
        }
        // The node-local model cache's settings travel with the job's tasks, as the numerics do.
        try (NumericGuard.Scope numerics = NumericGuard.of(provenance).enterDriver(spark.sparkContext());
                ModelCacheSettings.Scope cache = ModelCacheSettings.of(provenance).enterDriver(spark.sparkContext())) {
            return recorded(RunRecord.started(runId, job, provenance.toJson(), provenance.sha256(), codeVersion,
                    spark.sparkContext().applicationId(), startedAt).withNumerics(numerics.environment().toJson()),
                    done, work);
        }
    }

    /** Records {@code running}, heartbeats while the work runs, then records how it ended. */
    private <T extends JobResult> T recorded(RunRecord running, Optional<T> done, Work<T> work) throws Exception {
        runs.record(running);
        // A thread of this run's own, made by the job's thread: it inherits this job's Spark session
        // and local properties (a long-lived shared thread would keep those of whichever job made it),
        // and nothing another job's heartbeat does can delay or stop this one.
        ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lethe-heartbeat-" + running.job() + "-" + running.runId());
            t.setDaemon(true);
            return t;
        });
        Heartbeat beat = new Heartbeat(running, heartbeats); // complete before its first beat can run
        ScheduledFuture<?> scheduled = heartbeats.scheduleWithFixedDelay(beat, heartbeat.toMillis(),
                heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        T result;
        try {
            result = done.isPresent() ? done.get() : work.run();
        } catch (Exception | Error e) {
            beat.stop(scheduled);
            try {
                runs.record(running.failed(Instant.now(), String.valueOf(e.getMessage())));
            } catch (RuntimeException secondary) {
                e.addSuppressed(secondary);
            }
            throw e;
        }
        beat.stop(scheduled);
        runs.record(running.withFingerprints(result.modelFingerprint(), result.dataFingerprint())
                .succeeded(Instant.now()));
        return result;
    }

    /** Refreshes a running job's row until stopped; never after {@link #stop} has returned. */
    private final class Heartbeat implements Runnable {
        private final RunRecord running;
        private final ScheduledExecutorService executor;
        private boolean stopped;

        Heartbeat(RunRecord running, ScheduledExecutorService executor) {
            this.running = running;
            this.executor = executor;
        }

        @Override
        public synchronized void run() {
            if (stopped) {
                return;
            }
            try {
                SparkSession.setActiveSession(spark);
                runs.record(running.beat(Instant.now()));
            } catch (Exception | Error e) {
                // Anything escaping would cancel every later beat of this job (ScheduledExecutorService
                // suppresses a periodic task after it throws), and Spark throws checked exceptions undeclared.
                LOG.warn("{} {}: heartbeat not recorded: {}", running.job(), running.runId(), e.toString(), e);
            }
        }

        /** Stops the heartbeat, waiting for one in progress to finish. */
        synchronized void stop(ScheduledFuture<?> scheduled) {
            stopped = true;
            scheduled.cancel(false);
            executor.shutdown();
        }
    }
}
