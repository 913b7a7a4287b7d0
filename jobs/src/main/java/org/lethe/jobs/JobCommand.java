package org.lethe.jobs;

import java.util.Optional;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.job.JobRunner;
import org.lethe.store.TableStore;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Base of the commands that write tables: a Spark session, the table store under {@code --root},
 * and the job run by the library's {@link JobRunner}, which keeps its {@code runs} row true
 * (RUNNING with heartbeats, then SUCCEEDED, or FAILED with the error, which is rethrown).
 */
public abstract class JobCommand extends LetheCommand {

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    /** The job's name in {@code runs} (its command name). */
    protected abstract String job();

    /** The run id when {@code --run-id} is not given (null: required). */
    protected String defaultRunId() {
        return null;
    }

    /** Does the work; throws on failure. */
    protected abstract JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId)
            throws Exception;

    /**
     * What a re-run that finds nothing to do returns, without writing anything (not even its
     * RUNNING row); empty (the default) when there is work.
     */
    protected Optional<JobResult> upToDate(LetheConfig config, SparkSession spark, TableStore store, String runId)
            throws Exception {
        return Optional.empty();
    }

    @Override
    protected final void run(LetheConfig config) throws Exception {
        String runId = options.runId().orElseGet(this::defaultRunId);
        if (runId == null) {
            throw new ParameterException(spec.commandLine(), "--run-id ID is required");
        }
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            SparkSession session = spark.session();
            TableStore store = new TableStore(session, tableRoot);
            JobResult result = new JobRunner(session, store, codeVersion()).runUnlessUpToDate(runId, job(), config,
                    () -> upToDate(config, session, store, runId), () -> runJob(config, session, store, runId));
            out().println(result.toJson().toString());
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
