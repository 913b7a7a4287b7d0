package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.unlearn.UnlearnJob;
import org.lethe.unlearn.UnlearnRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;

/** {@code lethe unlearn}: one unlearning method on an ingested dataset's forget/retain splits, data-parallel on Spark. */
@Command(name = "unlearn", mixinStandardHelpOptions = true,
    description = {
        "Unlearn a forget split from a model with one method (see `lethe methods`), keeping a retain split.",
        "Settings are lethe.unlearn.* (--conf / --set): method, forget_loss / retain_loss / coefficient",
        "overrides, params (term.parameter=value), model, ref_model (default: the model), ref_dtype, dataset,",
        "forget_split, retain_split, refusals, epochs, batch_size, micro_batch_size, lr (0: the method's),",
        "schedule, warmup_steps (-1: one epoch), weight_decay, max_grad_norm, abort_grad_norm, seed,",
        "partitions, layer (rmu), trainable (parameter-name patterns), output, checkpoint_every_steps, resume,",
        "max_steps. Every term is normalized by its global count for the step, so the partition count does",
        "not change the result. AdamW keeps full-parameter master weights on the driver: at most",
        "lethe.model.max_full_parameters (default 1B) trained parameters; beyond that train a subset or use",
        "LoRA adapters. A non-finite loss or gradient, or a gradient norm above abort_grad_norm, stops the",
        "job naming the step, before the update; the last checkpoint stays intact. Writes Hugging Face",
        "checkpoints, one train_steps row per step (every term), and prints a JSON summary."})
public final class UnlearnCommand extends JobCommand {

    @Override
    protected String job() {
        return "unlearn";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) throws Exception {
        return new UnlearnJob(spark, store).run(UnlearnRequest.of(config), runId);
    }
}
