package org.lethe.jobs;

import java.nio.file.Path;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.eval.ImportEvalJob;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code lethe import-eval}: another tool's evaluation log as a run's eval_samples and eval_summary. */
@Command(name = "import-eval", mixinStandardHelpOptions = true,
    description = {
        "Import an evaluation log as the eval_samples and eval_summary rows of --run-id.",
        "tofu-log: TOFU's *_eval_log_aggregated.json (forget, retain, real authors, world facts). open-unlearning:",
        "its TOFU_EVAL.json (value_by_index of the Q_A_Prob, Q_A_ROUGE, PARA/PERT_Prob, truth ratio, extraction",
        "strength, exact memorization and MIA metrics). Sample ids are those of the dataset's ingested examples",
        "(same answer, question inside the logged prompt), else <dataset>:<set>:<index>. The summary is computed",
        "by the same code as `evaluate`: per-set aggregates, forget_quality against --retain-run's forget truth",
        "ratios, model_utility, forget_efficacy, privleak; a missing aggregate is NULL with its missing_reason.",
        "Import the retain model's log first. A re-import replaces the run's rows. Prints a JSON summary."})
public final class ImportEvalCommand extends JobCommand {

    private ImportEvalJob.Format format;

    @Option(names = "--format", required = true, paramLabel = "tofu-log|open-unlearning", description = "Log format.")
    private void setFormat(String value) {
        try {
            format = ImportEvalJob.Format.parse(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "The log file (local).")
    private Path input;

    @Option(names = "--step", paramLabel = "N", defaultValue = "0", description = "Step the log evaluates (default: 0).")
    private long step;

    private String forgetSplit;
    private String retainRun;
    private String dataset = "tofu";

    @Option(names = "--forget-split", required = true, paramLabel = "SPLIT",
        description = "The ingested split the log's forget set is, e.g. forget10 (checked against memberships when ingested).")
    private void setForgetSplit(String value) {
        forgetSplit = checked(value, "--forget-split");
    }

    @Option(names = "--retain-run", paramLabel = "RUN",
        description = "Run id of the retain model's imported or evaluated samples (forget quality, privleak).")
    private void setRetainRun(String value) {
        retainRun = checked(value, "--retain-run");
    }

    @Option(names = "--dataset", paramLabel = "NAME", description = "Dataset name (default: tofu).")
    private void setDataset(String value) {
        dataset = checked(value, "--dataset");
    }

    private String checked(String value, String option) {
        try {
            return RunIds.validate(value, option);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    @Override
    protected String job() {
        return "import-eval";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) {
        ImportEvalJob.Result result = new ImportEvalJob(spark, store).run(new ImportEvalJob.Request(
                format, input, runId, forgetSplit, retainRun, dataset, step));
        return result;
    }
}
