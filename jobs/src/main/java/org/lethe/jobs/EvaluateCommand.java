package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.eval.EvaluateJob;
import org.lethe.eval.EvaluateRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe evaluate}: per-sample metrics of a model on executors, aggregated into eval_summary. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = {
        "Evaluate a model (a checkpoint of run --run-id) on the eval sets of an ingested dataset.",
        "Per sample, on executors: probability, truth ratio, ROUGE-L recall/F1 of the greedy generation,",
        "token entropy, extraction strength, exact memorization, and the LOSS / ZLib / Min-K% / Min-K%++ /",
        "reference / gradient-norm membership-inference scores, into eval_samples; aggregates (forget",
        "quality against --retain-run, model utility, forget efficacy, PrivLeak, per-set means) into",
        "eval_summary. Settings are lethe.eval.* (dataset, sets, max_samples, max_new_tokens, batch_size,",
        "partitions, step, mia_k, mia_reference_model, mia_gradient_norm, rouge_stemming)."})
public final class EvaluateCommand extends JobCommand {

    @Option(names = "--model", required = true, description = "the model directory to evaluate, or a training"
            + " output directory whose checkpoint-<step> directories are all evaluated (unlearning curves)")
    String model;

    @Option(names = "--select", description = "best: after evaluating, pick the run's best step by"
            + " lethe.eval.select.* (e.g. highest forget quality with model utility >= 0.9 x the target's)")
    String select;

    @Option(names = "--retain-run", description = "the retain-only model's run (evaluated before) for forget quality")
    String retainRun;

    @Override
    protected String job() {
        return "evaluate";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) throws Exception {
        if (select != null && !select.equals("best")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--select: only 'best' is supported,"
                    + " got '" + select + "'");
        }
        EvaluateRequest request = EvaluateRequest.of(config);
        EvaluateJob job = new EvaluateJob(spark, store);
        java.util.List<EvaluateJob.Summary> all = job.runAll(request, runId, model, retainRun);
        com.fasterxml.jackson.databind.node.ObjectNode out = all.get(all.size() - 1).toJson();
        if (all.size() > 1) {
            com.fasterxml.jackson.databind.node.ArrayNode steps = out.putArray("steps");
            all.forEach(s -> steps.add(s.step()));
        }
        if (select != null) {
            out.set("selected", job.selectBest(request, runId).toJson());
        }
        return JobResult.of(out, null, null);
    }
}
