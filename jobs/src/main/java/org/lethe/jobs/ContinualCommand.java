package org.lethe.jobs;

import java.time.LocalDate;
import java.util.Optional;
import java.time.format.DateTimeParseException;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.continual.ContinualJob;
import org.lethe.continual.ContinualRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code lethe continual}: applies the due unlearning requests one after the other, evaluating after each. */
@Command(name = "continual", mixinStandardHelpOptions = true,
    description = {
        "Apply the unlearning requests (lethe request) submitted on or before --run-date (UTC) that have not",
        "SUCCEEDED, in (submitted time, request id) order: each unlearns its selection with lethe.unlearn.*",
        "plus its overrides, starting from the checkpoint the previous request produced (the first from",
        "lethe.continual.model), with ref_model = that checkpoint or the original (lethe.continual.ref_model).",
        "After each: evaluate on everything forgotten so far, with forget quality against a retain-only model",
        "fine-tuned (lethe.train.*) on lethe.continual.train_splits minus that set, or reused when one with",
        "the same data and settings exists. Writes continual_lineage (parent -> checkpoint, utility and forget",
        "metrics per request: sustainability and scalability), updates requests (RUNNING, SUCCEEDED, FAILED",
        "with the error) and the runs rows of every job. Re-running a date changes nothing; a failed or",
        "killed request resumes from its last checkpoint. Stops at the first failing request. Prints JSON."})
public final class ContinualCommand extends JobCommand {

    @Option(names = "--run-date", required = true, paramLabel = "YYYY-MM-DD",
            description = "Process requests submitted on or before this day (UTC), e.g. Airflow's {{ ds }}.")
    private String runDate;

    @Override
    protected String job() {
        return "continual";
    }

    private ContinualRequest request;
    private ContinualJob job;

    // Built once: the up-to-date check and the run read the same request.
    private ContinualRequest request(LetheConfig config) {
        if (request == null) {
            request = ContinualRequest.of(config);
        }
        return request;
    }

    @Override
    protected Optional<JobResult> upToDate(LetheConfig config, SparkSession spark, TableStore store, String runId) {
        // Takes the lineage's lease when requests are due: a run that finds none due, or the lease
        // held by another live run, ends here having written nothing (not even its runs row).
        job = new ContinualJob(spark, store, codeVersion());
        return job.claim(request(config), date(), runId).map(s -> s);
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) throws Exception {
        return (job != null ? job : new ContinualJob(spark, store, codeVersion())).run(request(config), date(), runId);
    }

    private LocalDate date() {
        try {
            return LocalDate.parse(runDate);
        } catch (DateTimeParseException e) {
            throw new ParameterException(spec.commandLine(), "--run-date: expected YYYY-MM-DD, got '" + runDate + "'");
        }
    }
}
