package org.lethe.distributed;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.testing.TestSpark;
import org.lethe.unlearn.LossObjective;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data-parallel step: partitioning does not change the weights, and it matches one process. */
class DataParallelTrainerTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final int ROWS = 12;
    private static final int MICRO = 2;

    private static List<long[]> sequences() {
        SplittableRandom rng = new SplittableRandom(17);
        List<long[]> seqs = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            long[] s = new long[4 + rng.nextInt(6)]; // ragged: padding inside micro-batches
            s[0] = 1;
            for (int t = 1; t < s.length; t++) {
                s[t] = 3 + rng.nextInt(37);
            }
            seqs.add(s);
        }
        return seqs;
    }

    private static Dataset<Row> batch(List<long[]> seqs) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < seqs.size(); i++) {
            Integer[] ids = new Integer[seqs.get(i).length];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = (int) seqs.get(i)[t];
            }
            rows.add(RowFactory.create(0, i / MICRO, String.format("s%02d", i), ids, ids));
        }
        StructType schema = new StructType().add("step", DataTypes.IntegerType).add("micro", DataTypes.IntegerType)
                .add("sample_id", DataTypes.StringType)
                .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType))
                .add("labels", DataTypes.createArrayType(DataTypes.IntegerType));
        return LossObjective.plainRows(SPARK.session().createDataFrame(rows, schema), LossObjective.Role.RETAIN);
    }

    @Test
    void oneTwoAndFourPartitionsGiveBitwiseTheSameWeightsAndMatchOneProcess(@TempDir Path tmp) {
        Path dir = tmp.resolve("model");
        ModelSettings settings = new ModelSettings("cpu", "float32", 1);
        try (LanguageModel fresh = LanguageModel.fresh(ModelPresets.config("tiny", 40), settings, 3, null)) {
            fresh.save(dir);
        }
        List<long[]> seqs = sequences();
        Dataset<Row> batch = batch(seqs);
        LossObjective nll = new LossObjective(List.of(LossObjective.Part.of(false, "nll", 1.0, Map.of())), 0,
                new long[1]);
        long[] counts = LossObjective.countsByStep(batch, nll.parts(), 8).get(0);
        long targets = seqs.stream().mapToLong(x -> x.length - 1).sum();
        assertArrayEquals(new long[] {targets}, counts, "every token but the first is a target");
        float[][] weights = new float[3][];
        double[] losses = new double[3];
        int[] partitions = {1, 2, 4};
        for (int p = 0; p < partitions.length; p++) {
            try (DataParallelTrainer trainer = new DataParallelTrainer(SPARK.session(), dir.toString(), settings,
                    DataParallelTrainer.Options.of(AdamW.Settings.defaults(), 1.0, partitions[p]))) {
                for (int step = 1; step <= 3; step++) {
                    long started = System.nanoTime();
                    DataParallelTrainer.StepReport r = trainer.step(batch, 1e-2, nll.withCounts(counts), step);
                    double wall = (System.nanoTime() - started) / 1e9;
                    assertEquals(step, r.version());
                    assertEquals(ROWS / MICRO, r.microBatches());
                    // Forward/backward time is a real, positive part of the step, never more than it
                    // (local mode runs the micro-batches' passes one at a time).
                    assertTrue(r.computeSeconds() > 0 && r.computeSeconds() < wall,
                            "compute " + r.computeSeconds() + " s of a " + wall + " s step");
                    losses[p] = r.loss();
                }
                weights[p] = ParameterSnapshot.of(trainer.model(), 3).values();
            }
        }
        assertArrayEquals(weights[0], weights[1], "2 partitions");
        assertArrayEquals(weights[0], weights[2], "4 partitions");
        assertEquals(losses[0], losses[2]);

        // A batch partitioned by micro-batch once ahead (what TrainingLoop does per epoch, so a step
        // needs no shuffle) trains exactly as one shuffled inside the step.
        try (DataParallelTrainer trainer = new DataParallelTrainer(SPARK.session(), dir.toString(), settings,
                DataParallelTrainer.Options.of(AdamW.Settings.defaults(), 1.0, 2))) {
            org.apache.spark.api.java.JavaRDD<Row> ahead = trainer.epochRows(batch, nll);
            assertEquals(2, ahead.getNumPartitions());
            for (int step = 1; step <= 3; step++) {
                DataParallelTrainer.StepReport r = trainer.step(ahead, 0, 1e-2, nll.withCounts(counts), step);
                assertEquals(ROWS / MICRO, r.microBatches());
            }
            assertArrayEquals(weights[0], ParameterSnapshot.of(trainer.model(), 3).values(), "partitioned ahead");
            assertThrows(IllegalArgumentException.class, () -> trainer.step(ahead, 1, 1e-2, nll.withCounts(counts), 4),
                    "step 1 has no rows");
            ahead.unpersist();
        }

        // Under the local master the steps above passed parameters and gradients natively inside
        // the JVM; serialized through the broadcast and the task results, as on a cluster, they
        // train bitwise alike (both add the same float32 arrays in micro-batch order).
        try (DataParallelTrainer trainer = new DataParallelTrainer(SPARK.session(), dir.toString(), settings,
                DataParallelTrainer.Options.of(AdamW.Settings.defaults(), 1.0, 2), false)) {
            for (int step = 1; step <= 3; step++) {
                DataParallelTrainer.StepReport r = trainer.step(batch, 1e-2, nll.withCounts(counts), step);
                assertEquals(ROWS / MICRO, r.microBatches());
                if (step == 3) {
                    assertEquals(losses[0], r.loss(), "serialized path, same loss");
                }
            }
            assertArrayEquals(weights[0], ParameterSnapshot.of(trainer.model(), 3).values(), "serialized path");
        }

        // Tree reduction: tasks add their micro-batches, Spark adds the tasks; equal up to float
        // summation order, within the unlearning issue's bound of 0.1 lr per step.
        for (int p : partitions) {
            DataParallelTrainer.Options tree = new DataParallelTrainer.Options(AdamW.Settings.defaults(), 1.0, p,
                    List.of(), null, null, 0, Long.MAX_VALUE, null, DataParallelTrainer.Reduce.TREE);
            try (DataParallelTrainer trainer = new DataParallelTrainer(SPARK.session(), dir.toString(), settings, tree)) {
                for (int step = 1; step <= 3; step++) {
                    long started = System.nanoTime();
                    DataParallelTrainer.StepReport r = trainer.step(batch, 1e-2, nll.withCounts(counts), step);
                    double wall = (System.nanoTime() - started) / 1e9;
                    assertEquals(ROWS / MICRO, r.microBatches());
                    assertTrue(r.computeSeconds() > 0 && r.computeSeconds() < wall, "tree: summed over tasks");
                    if (step == 3) {
                        assertEquals(losses[0], r.loss(), 1e-5 * losses[0], "every micro-batch counted once");
                    }
                }
                float[] w = ParameterSnapshot.of(trainer.model(), 3).values();
                double worst = 0;
                for (int i = 0; i < w.length; i++) {
                    worst = Math.max(worst, Math.abs(w[i] - weights[0][i]));
                }
                assertTrue(worst <= 0.1 * 1e-2 * 3, p + " partitions, tree: max |w_tree - w_ordered| = " + worst);
                if (p == 1) {
                    // One task: its in-task sum is the whole sum, the same whichever way it travels.
                    try (DataParallelTrainer shipped = new DataParallelTrainer(SPARK.session(), dir.toString(),
                            settings, tree, false)) {
                        for (int step = 1; step <= 3; step++) {
                            shipped.step(batch, 1e-2, nll.withCounts(counts), step);
                        }
                        assertArrayEquals(w, ParameterSnapshot.of(shipped.model(), 3).values(), "tree, serialized");
                    }
                }
            }
        }

        // The same three steps in one process on one padded batch: equal up to summation order,
        // which Adam can amplify where a gradient is near 0 (the unlearning issue's bound: 0.1 lr per step).
        try (LanguageModel lm = LanguageModel.load(dir, settings);
                LmTrainer single = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
            for (int step = 1; step <= 3; step++) {
                single.step(seqs, seqs, 1e-2);
            }
            float[] w = ParameterSnapshot.of(lm, 3).values();
            double worst = 0;
            for (int i = 0; i < w.length; i++) {
                worst = Math.max(worst, Math.abs(w[i] - weights[0][i]));
            }
            assertTrue(worst <= 0.1 * 1e-2 * 3, "max |w_spark - w_single| = " + worst);
        }
    }

    @Test
    void evictingTheTrainedModelAfterEveryTaskTrainsBitwiseTheSame(@TempDir Path tmp) {
        Path dir = tmp.resolve("model");
        ModelSettings settings = new ModelSettings("cpu", "float32", 1);
        try (LanguageModel fresh = LanguageModel.fresh(ModelPresets.config("tiny", 40), settings, 3, null)) {
            fresh.save(dir);
        }
        Dataset<Row> batch = batch(sequences());
        LossObjective nll = new LossObjective(List.of(LossObjective.Part.of(false, "nll", 1.0, Map.of())), 0,
                new long[1]);
        long[] counts = LossObjective.countsByStep(batch, nll.parts(), 8).get(0);
        // A 1-byte bound evicts every model when its task's lease ends: each task reloads the
        // model from its directory and takes the step's snapshot (all trained parameters, or a subset).
        ModelSettings evicting = new ModelSettings("cpu", "float32", 1, 1, 0);
        for (List<String> trainable : List.of(List.<String>of(), List.of("model\\.layers\\.0\\..*"))) {
            DataParallelTrainer.Options options = new DataParallelTrainer.Options(AdamW.Settings.defaults(), 1.0, 2,
                    trainable, null, null, 0, Long.MAX_VALUE, null, DataParallelTrainer.Reduce.ORDERED);
            // One path each (same result either way: the first test): all parameters serialized as on
            // a cluster, the subset through the same-JVM exchange.
            boolean sameJvm = !trainable.isEmpty();
            float[] kept = train(dir, settings, options, sameJvm, batch, nll, counts);
            ExecutorModelCache.resetForTest();
            float[] evicted = train(dir, evicting, options, sameJvm, batch, nll, counts);
            assertTrue(ExecutorModelCache.stats().evictions() >= 3, "evicted at least once per step");
            assertArrayEquals(kept, evicted, trainable + (sameJvm ? ": same JVM" : ": serialized snapshots"));
        }
    }

    /** Every parameter after three steps. */
    private static float[] train(Path dir, ModelSettings settings, DataParallelTrainer.Options options, boolean sameJvm,
            Dataset<Row> batch, LossObjective nll, long[] counts) {
        try (DataParallelTrainer trainer = new DataParallelTrainer(SPARK.session(), dir.toString(), settings, options,
                sameJvm)) {
            for (int step = 1; step <= 3; step++) {
                trainer.step(batch, 1e-2, nll.withCounts(counts), step);
            }
            return ParameterSnapshot.of(trainer.model(), 3).values();
        }
    }
}
