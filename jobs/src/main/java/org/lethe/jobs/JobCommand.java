package org.lethe.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.store.RunRecord;
import org.lethe.store.RunStatus;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Base of the commands that write tables: a Spark session, the table store under {@code --root},
 * and the {@code runs} row written LAST (SUCCEEDED, or FAILED with the error, then the failure is
 * rethrown), so a run without SUCCEEDED never looks complete.
 */
public abstract class JobCommand extends LetheCommand {

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    /**
     * What a job returns: its JSON result and the fingerprints recorded in {@code runs}; {@code
     * changed} false when it found nothing to do, so that re-running a run changes no table.
     */
    protected record Outcome(ObjectNode result, String modelFingerprint, String dataFingerprint, boolean changed) {
        protected Outcome(ObjectNode result, String modelFingerprint, String dataFingerprint) {
            this(result, modelFingerprint, dataFingerprint, true);
        }
    }

    /** The job's name in {@code runs} (its command name). */
    protected abstract String job();

    /** The run id when {@code --run-id} is not given (null: required). */
    protected String defaultRunId() {
        return null;
    }

    /** Does the work; throws on failure. */
    protected abstract Outcome runJob(LetheConfig config, SparkSession spark, TableStore store, String runId)
            throws Exception;

    @Override
    protected final void run(LetheConfig config) throws Exception {
        String runId = options.runId().orElseGet(this::defaultRunId);
        if (runId == null) {
            throw new ParameterException(spec.commandLine(), "--run-id ID is required");
        }
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            TableStore store = new TableStore(spark.session(), tableRoot);
            RunRecord started = RunRecord.started(runId, job(), config.toJson(), config.sha256(), codeVersion(),
                    spark.session().sparkContext().applicationId(), Instant.now());
            Outcome outcome;
            try {
                outcome = runJob(config, spark.session(), store, runId);
            } catch (Exception | Error e) {
                recordFailure(store, started, e);
                throw e;
            }
            boolean recorded = new Runs(store).get(runId, job()).filter(r -> r.status() == RunStatus.SUCCEEDED)
                    .isPresent();
            if (outcome.changed() || !recorded) {
                new Runs(store).record(started.withFingerprints(outcome.modelFingerprint(), outcome.dataFingerprint())
                        .succeeded(Instant.now()));
            }
            out().println(outcome.result().toString());
        }
    }

    private static void recordFailure(TableStore store, RunRecord started, Throwable e) {
        try {
            new Runs(store).record(started.failed(Instant.now(), String.valueOf(e.getMessage())));
        } catch (RuntimeException secondary) {
            e.addSuppressed(secondary);
        }
    }

    /** The code version: {@code -Dlethe.code_version} (bin/lethe passes the git commit), else the jar's. */
    static String codeVersion() {
        String v = System.getProperty("lethe.code_version");
        if (v != null && !v.isBlank()) {
            return v;
        }
        String jar = JobCommand.class.getPackage().getImplementationVersion();
        return jar == null ? "development" : jar;
    }
}
