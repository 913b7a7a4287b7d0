package org.lethe.distributed;

import org.lethe.config.LetheConfig;
import org.lethe.model.AdamW;
import org.lethe.store.TableStore;

import java.util.Optional;

/**
 * The training settings {@code finetune} ({@code lethe.train}) and {@code unlearn}
 * ({@code lethe.unlearn}) have in common, read and checked in one place: epochs, batch sizes, the
 * learning-rate schedule, AdamW's weight decay, clipping, seed, parallelism, gradient reduction,
 * checkpoints and resume. A value one section gives its own meaning to (unlearn's {@code lr = 0}
 * and {@code warmup_steps = -1}) is kept as written here and resolved by that job's request.
 *
 * @param section the config section these came from ({@code train} or {@code unlearn}), as errors name it
 * @param output the configured checkpoint location (local or any Hadoop URI); empty:
 *     {@code <table root>/checkpoints/<run id>}
 */
public record TrainingSettings(String section, int epochs, int batchSize, int microBatchSize, double lr,
        String schedule, long warmupSteps, double weightDecay, double maxGradNorm, long seed, int partitions,
        DataParallelTrainer.Reduce reduce, String output, long checkpointEverySteps, boolean resume, long maxSteps) {

    /** Reads and checks {@code lethe.<section>.*}, naming the offending key. */
    public static TrainingSettings of(LetheConfig config, String section) {
        String p = section + ".";
        int epochs = positive(p + "epochs", config.getInt(p + "epochs"));
        int batchSize = positive(p + "batch_size", config.getInt(p + "batch_size"));
        int microBatchSize = positive(p + "micro_batch_size", config.getInt(p + "micro_batch_size"));
        int partitions = positive(p + "partitions", config.getInt(p + "partitions"));
        if (batchSize % microBatchSize != 0) {
            throw new IllegalArgumentException("lethe." + p + "batch_size (" + batchSize + ") must be a multiple of"
                    + " lethe." + p + "micro_batch_size (" + microBatchSize + ")");
        }
        DataParallelTrainer.Reduce reduce = DataParallelTrainer.Reduce.parse(config.getString(p + "reduce"),
                "lethe." + p + "reduce");
        String output = config.getString(p + "output");
        if (!output.isEmpty()) {
            Checkpoints.location(output, "lethe." + p + "output");
        }
        TrainingSettings settings = new TrainingSettings(section, epochs, batchSize, microBatchSize,
                config.getDouble(p + "lr"), config.getString(p + "schedule"), config.getLong(p + "warmup_steps"),
                config.getDouble(p + "weight_decay"), config.getDouble(p + "max_grad_norm"), config.getLong(p + "seed"),
                partitions, reduce, output, config.getLong(p + "checkpoint_every_steps"),
                config.getBoolean(p + "resume"), config.getLong(p + "max_steps"));
        settings.optimizer(); // a negative weight decay fails here, not after the data is read
        return settings;
    }

    private static int positive(String key, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException("lethe." + key + " must be > 0, got " + v);
        }
        return v;
    }

    /** These settings with peak learning rate {@code lr} (a request's resolution of the configured one). */
    public TrainingSettings withLr(double lr) {
        return new TrainingSettings(section, epochs, batchSize, microBatchSize, lr, schedule, warmupSteps, weightDecay,
                maxGradNorm, seed, partitions, reduce, output, checkpointEverySteps, resume, maxSteps);
    }

    /** AdamW with torch's betas and eps (the one place both jobs take them from) and this weight decay. */
    public AdamW.Settings optimizer() {
        AdamW.Settings torch = AdamW.Settings.defaults();
        return new AdamW.Settings(torch.beta1(), torch.beta2(), torch.eps(), weightDecay);
    }

    /**
     * The trainer options these settings decide (optimizer, clipping, partitions, reduction); all
     * parameters trained, no ref_model, no LoRA, no limits: a request adds its own.
     */
    public DataParallelTrainer.Options trainerOptions() {
        return DataParallelTrainer.Options.of(optimizer(), maxGradNorm, partitions).withReduce(reduce);
    }

    /** Run {@code runId}'s checkpoint directory (see {@link Checkpoints#output}). */
    public String output(TableStore store, String runId) {
        return Checkpoints.output(store, output, "lethe." + section + ".output", runId);
    }

    /** The checkpoint to continue from under {@code output}: the latest one when resuming, else none. */
    public Optional<Checkpoints.Found> resumeFrom(String output) {
        return resume ? Checkpoints.latest(output) : Optional.empty();
    }

    /** The learning rate per step of a run of {@code stepsPerEpoch} steps an epoch, warming up over {@code warmup}. */
    public LrSchedule lrSchedule(long warmup, long stepsPerEpoch) {
        return new LrSchedule(lr, schedule, warmup, stepsPerEpoch * epochs);
    }

    /**
     * The loop settings of job {@code job}'s run {@code runId} (checkpoints record {@code
     * configSha256} and {@code weightSettings}, see {@link ResumeGuard}).
     */
    public TrainingLoop.Settings loop(String job, String runId, long stepsPerEpoch, String configSha256, String output,
            LrSchedule schedule, int hiddenSize, com.fasterxml.jackson.databind.JsonNode weightSettings) {
        return new TrainingLoop.Settings(job, runId, epochs, stepsPerEpoch, maxSteps, checkpointEverySteps, seed,
                configSha256, output, schedule, hiddenSize, weightSettings);
    }
}
