package org.lethe.distributed;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

import static org.apache.spark.sql.functions.col;

/**
 * The epoch/step loop {@code finetune} and {@code unlearn} share: per epoch a plan of step rows
 * (see {@link TrainingObjective}), global counts per step, one data-parallel step each, a checkpoint
 * every N steps and at the end, resume from the latest checkpoint (skipping the steps it covers,
 * so the result equals an uninterrupted run), and the run's {@code train_steps} rows, written even
 * when a step diverges (the error names the step; the last good checkpoint stays as it was).
 */
public final class TrainingLoop {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

    /** The loop's fixed settings. */
    public record Settings(String job, String runId, int epochs, long stepsPerEpoch, long maxSteps,
            long checkpointEvery, long seed, String configSha256, String output, LrSchedule schedule,
            int hiddenSize, com.fasterxml.jackson.databind.JsonNode weightSettings) {}

    /** What the loop did. */
    public record Result(String checkpoint, long steps, long resumedFrom, double firstLoss, double lastLoss) {}

    private TrainingLoop() {}

    /**
     * Runs the loop. {@code planOf(epoch)} gives the epoch's rows: an int {@code step} (0-based
     * within the epoch), an int {@code micro} and the objective's {@link MicroObjective#columns()}.
     */
    public static Result run(SparkSession spark, TableStore store, DataParallelTrainer trainer, Settings s,
            TrainingObjective objective, IntFunction<Dataset<Row>> planOf, Optional<Checkpoints.Found> resume) {
        long resumed = resume.map(Checkpoints.Found::globalStep).orElse(0L);
        List<Row> rows = new ArrayList<>();
        if (resumed > 0 && store.exists(Tables.TRAIN_STEPS)) {
            // The run's rows are replaced as a whole: keep those of the steps already done.
            String[] names = TrainSteps.SCHEMA.fieldNames();
            rows.addAll(store.read(Tables.TRAIN_STEPS)
                    .filter(col("run_id").equalTo(s.runId()).and(col("step").leq(resumed)))
                    .select(names[0], Arrays.copyOfRange(names, 1, names.length)).collectAsList());
        }
        if (resume.isPresent()) {
            trainer.restore(resume.get());
            LOG.info("{} {}: resuming after step {} from {}", s.job(), s.runId(), resumed, resume.get().dir());
        }
        long total = s.stepsPerEpoch() * s.epochs();
        long end = s.maxSteps() > 0 ? Math.min(s.maxSteps(), total) : total;
        double first = Double.NaN;
        double last = Double.NaN;
        long global = 0;
        try {
            for (int epoch = 0; epoch < s.epochs() && global < end; epoch++) {
                if ((epoch + 1) * s.stepsPerEpoch() <= resumed) {
                    global += s.stepsPerEpoch(); // an epoch finished before the checkpoint
                    continue;
                }
                Dataset<Row> plan = planOf.apply(epoch).persist(StorageLevel.MEMORY_AND_DISK());
                // Partitioned by micro-batch once per epoch: a step is then one narrow stage.
                JavaRDD<Row> epochRows = trainer.epochRows(plan, objective);
                try {
                    Map<Integer, long[]> counts = objective.countsByStep(plan, s.hiddenSize());
                    for (int step = 0; step < s.stepsPerEpoch() && global < end; step++) {
                        global++;
                        if (global <= resumed) {
                            continue;
                        }
                        long started = System.nanoTime();
                        double lr = s.schedule().at(global);
                        long[] stepCounts = counts.getOrDefault(step, new long[objective.partNames().size()]);
                        DataParallelTrainer.StepReport r = trainer.step(epochRows, step, lr,
                                objective.forStep(stepCounts), global);
                        double seconds = (System.nanoTime() - started) / 1e9;
                        rows.add(row(s, objective, global, epoch, r, lr, seconds));
                        first = Double.isNaN(first) ? r.loss() : first;
                        last = r.loss();
                        LOG.info("{} {}: step {}/{} epoch {} loss {} {} lr {} |g| {} ({} s)", s.job(), s.runId(), global,
                                end, epoch, String.format("%.4f", r.loss()), terms(objective, r.parts()),
                                String.format("%.2e", lr), String.format("%.3f", r.gradNorm()),
                                String.format("%.2f", seconds));
                        if (s.checkpointEvery() > 0 && global % s.checkpointEvery() == 0 && global < end) {
                            Checkpoints.save(s.output(), trainer.model(), trainer.optimizer(), global, s.seed(),
                                    s.configSha256(), s.runId(), s.weightSettings());
                        }
                    }
                } finally {
                    epochRows.unpersist();
                    plan.unpersist();
                }
            }
        } finally {
            // Also after a diverged step: the rows so far say what happened.
            store.write(Tables.TRAIN_STEPS, spark.createDataFrame(rows, TrainSteps.SCHEMA));
        }
        if (resumed >= end) {
            // Nothing left to do (a re-run after success, or max_steps at or below the checkpoint).
            return new Result(resume.get().dir(), resumed, resumed, first, last);
        }
        String checkpoint = Checkpoints.save(s.output(), trainer.model(), trainer.optimizer(), global, s.seed(),
                s.configSha256(), s.runId(), s.weightSettings());
        return new Result(checkpoint, global, resumed, first, last);
    }

    private static Row row(Settings s, TrainingObjective objective, long global, int epoch,
            DataParallelTrainer.StepReport r, double lr, double seconds) {
        Map<String, Double> terms = new LinkedHashMap<>();
        List<String> names = objective.partNames();
        for (int i = 0; i < names.size(); i++) {
            terms.put(names.get(i), r.parts()[i]);
        }
        boolean unlearn = s.job().equals("unlearn");
        Double forget = unlearn ? objective.forgetLoss(r.parts()) : null;
        Double retain = unlearn ? objective.retainLoss(r.parts()) : null;
        return RowFactory.create(s.runId(), global, epoch, r.loss(), lr, (double) r.gradNorm(), r.tokens(), seconds,
                s.job(), forget, retain, terms, r.computeSeconds());
    }

    private static String terms(TrainingObjective objective, double[] values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            b.append(i == 0 ? "" : " ").append(objective.partNames().get(i)).append('=')
                    .append(String.format("%.4f", values[i]));
        }
        return b.append(']').toString();
    }
}
