package org.lethe.eval;

import org.lethe.config.LetheConfig;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.job.JobRequest;

import java.util.List;

/**
 * A validated {@code relearn} request ({@code lethe.eval.relearn.*}): how long and on what the
 * attack fine-tunes, and the evaluation it runs before comparing. The fine-tuning is derived from
 * the same config ({@code lethe.train.*} with the attack's values set), so its run records exactly
 * the config {@code --set} of those values would give.
 *
 * @param dataset the eval dataset the attack relearns from
 * @param dataRunId its ingest run id as configured (empty: the default one)
 * @param evaluate the evaluation of the relearned model, at step {@code steps}
 * @param provenance the config this request was built from
 */
public record RelearnRequest(long steps, String split, double lr, int batchSize, String dataset, String dataRunId,
        EvaluateRequest evaluate, LetheConfig provenance) implements JobRequest {

    /** Reads and checks {@code lethe.eval.relearn.*} and the evaluation settings. */
    public static RelearnRequest of(LetheConfig config) {
        long steps = config.getLong("eval.relearn.steps");
        if (steps <= 0) {
            throw new IllegalArgumentException("lethe.eval.relearn.steps must be > 0, got " + steps);
        }
        String split = config.getString("eval.relearn.split");
        if (split.isBlank()) {
            throw new IllegalArgumentException("lethe.eval.relearn.split must name the split to relearn on");
        }
        EvaluateRequest evaluate = EvaluateRequest.builder(config).step(steps).build();
        return new RelearnRequest(steps, split, config.getDouble("eval.relearn.lr"),
                config.getInt("eval.relearn.batch_size"), config.getString("eval.dataset"),
                config.getString("eval.data_run_id"), evaluate, config);
    }

    /** The attack's fine-tuning of {@code modelDir}: constant lr, no warmup, never resumed; checkpoints under {@code output}. */
    public FinetuneRequest finetune(String modelDir, String output) {
        return FinetuneRequest.builder(provenance).model(modelDir).dataset(dataset).dataRunId(dataRunId)
                .splits(List.of(split)).maxSteps(steps).epochs((int) Math.max(1, steps)).lr(lr).batchSize(batchSize)
                .microBatchSize(batchSize).schedule("constant").warmupSteps(0).resume(false).output(output).build();
    }
}
