package org.lethe.jobs;

import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.lethe.job.JobResult;
import org.lethe.stats.StatsJob;
import org.lethe.stats.StatsRequest;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code lethe stats}: per-sample loss, gradient and influence statistics of a model, on executors. */
@Command(name = "stats", mixinStandardHelpOptions = true,
    description = {
        "Per-sample statistics of a model on the forget / retain / holdout splits of an ingested dataset.",
        "On executors, in padded batches fixed by sample id: mean NLL, minimum token log-prob, Min-K%, mean",
        "predictive entropy, answer length and the per-sample gradient norm (LoRA adapters or parameters",
        "matching patterns), into sample_stats; forget and retain gradients projected to projection_dim by a",
        "seeded random projection generated block by block, and each forget sample's top_m most similar",
        "retain samples (cosine, block-wise join) into influence_pairs, with entanglement (mean of the top",
        "similarities) and retain_alignment (mean over all retain samples) in sample_stats. Settings are",
        "lethe.stats.* (dataset, splits, batch_size, partitions, projection_dim, projection_block, top_m,",
        "search_block_size, seed, gradient, lora_rank, mia_k). Prints a JSON summary."})
public final class StatsCommand extends JobCommand {

    @Option(names = "--model", required = true, description = "the model directory (Hugging Face or PEFT adapter)")
    String model;

    @Override
    protected String job() {
        return "stats";
    }

    @Override
    protected JobResult runJob(LetheConfig config, SparkSession spark, TableStore store, String runId) {
        return new StatsJob(spark, store).run(StatsRequest.of(config), runId, model);
    }
}
