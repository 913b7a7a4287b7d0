package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.finetune.FinetuneJob;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;

/** {@code lethe finetune}: language-model training on ingested splits, data-parallel on Spark. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
    description = {
        "Fine-tune (or train from scratch) a model on the answer tokens of ingested splits.",
        "Settings are lethe.train.* (--conf / --set): model or init_preset + tokenizer, dataset, splits,",
        "epochs, batch_size, micro_batch_size, lr, schedule, warmup_steps, weight_decay, max_grad_norm,",
        "seed, partitions, output. Micro-batches are fixed by sample id, so the partition count does",
        "not change the result. Full-parameter AdamW runs on the driver. Writes a Hugging Face",
        "checkpoint and one train_steps row per step; prints a JSON summary."})
public final class FinetuneCommand extends JobCommand {

    @Override
    protected String job() {
        return "finetune";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) throws Exception {
        return new FinetuneJob(spark, store).run(FinetuneRequest.of(config), runId);
    }
}
