package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.eval.RelearnJob;
import org.lethe.eval.RelearnRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe relearn}: the relearning attack on an unlearned, already evaluated model. */
@Command(name = "relearn", mixinStandardHelpOptions = true,
    description = {
        "Relearning attack (robustness): fine-tune an unlearned model briefly, evaluate it again.",
        "Fine-tunes the model of --run-id for lethe.eval.relearn.steps steps on lethe.eval.relearn.split,",
        "evaluates it as <run>-relearn, and adds",
        "relearn_<metric> rows (forget quality, forget probability / ROUGE / truth ratio, model utility",
        "after the attack) to the run's eval_summary. Evaluate the run first."})
public final class RelearnCommand extends JobCommand {

    @Option(names = "--model", required = true, description = "the unlearned model directory")
    String model;

    @Option(names = "--retain-run", description = "the retain-only model's run, for forget quality")
    String retainRun;

    @Override
    protected String job() {
        return "relearn";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) throws Exception {
        return new RelearnJob(spark, store, codeVersion()).run(RelearnRequest.of(config), runId, model, retainRun);
    }
}
