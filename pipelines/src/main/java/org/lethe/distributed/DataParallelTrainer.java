package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.lethe.model.AdamW;
import org.lethe.model.Autograd;
import org.lethe.model.CausalLm;
import org.lethe.model.LmTrainer;
import org.lethe.model.ModelSettings;

import java.io.Serializable;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.apache.spark.sql.functions.col;

/**
 * Data-parallel training on Spark: each step, executors compute the gradient SUM of their
 * micro-batches with the model cached once per executor JVM; the driver adds the micro-batch
 * gradients in micro-batch id order (so 1, 2 or 4 partitions give bitwise the same sum),
 * normalizes once by the global target count, clips, applies AdamW to its master copy and
 * broadcasts the new parameters with the next version.
 */
public final class DataParallelTrainer implements AutoCloseable {

    /** What one step did. */
    public record StepReport(long version, double loss, float gradNorm, long targetTokens, int microBatches) {}

    /** One micro-batch's contribution, computed on an executor. */
    public record MicroGradient(int micro, double lossSum, long count, float[] gradient) implements Serializable {}

    private final SparkSession spark;
    private final String modelDir;
    private final ModelSettings settings;
    private final String cacheKey;
    private final int partitions;
    private final CausalLm master;
    private final LmTrainer trainer;
    private Broadcast<ParameterSnapshot> current;
    private long version;

    /**
     * @param partitions how many tasks compute a step's micro-batches (the result does not depend on it)
     */
    public DataParallelTrainer(SparkSession spark, String modelDir, ModelSettings settings,
            AdamW.Settings optimizer, double maxGradNorm, int partitions) {
        this.spark = spark;
        this.modelDir = modelDir;
        this.settings = settings;
        this.partitions = partitions;
        this.cacheKey = "train-" + UUID.randomUUID();
        this.master = CausalLm.load(Paths.get(modelDir), settings);
        this.trainer = new LmTrainer(master, optimizer, maxGradNorm);
        this.current = broadcast(ParameterSnapshot.of(master, 0));
    }

    /** Continues from a checkpoint: its optimizer state and step count (weights come from its dir). */
    public void restore(Checkpoints.Found checkpoint) {
        Checkpoints.restoreOptimizer(checkpoint, trainer.optimizer(), master.manager());
    }

    /** The driver's optimizer (for checkpoints). */
    public AdamW optimizer() {
        return trainer.optimizer();
    }

    /** The driver's master copy of the model (the weights after the last step). */
    public CausalLm model() {
        return master;
    }

    /**
     * One optimizer step over a logical batch with columns {@code micro} (int: the micro-batch
     * each row belongs to, fixed by sample id, not by partition), {@code sample_id} (orders the
     * rows inside a micro-batch), {@code input_ids} and {@code labels} (arrays of int; -100 = not a
     * target).
     */
    public StepReport step(Dataset<Row> batch, double lr) {
        Broadcast<ParameterSnapshot> snapshot = current;
        List<MicroGradient> results = new ArrayList<>(batch.repartition(partitions, col("micro"))
                .select("micro", "sample_id", "input_ids", "labels").javaRDD()
                .mapPartitions(new MicroGradients(cacheKey, modelDir, settings, snapshot))
                .collect());
        if (results.isEmpty()) {
            throw new IllegalArgumentException("step " + (version + 1) + ": the batch is empty");
        }
        results.sort(Comparator.comparingInt(MicroGradient::micro));
        double lossSum = 0;
        long count = 0;
        float norm;
        try (NDManager m = master.manager().newSubManager()) {
            NDArray total = null;
            for (MicroGradient g : results) {
                NDArray part = m.create(g.gradient());
                total = total == null ? part : total.add(part);
                lossSum += g.lossSum();
                count += g.count();
            }
            NDArray mean = total.div(count);
            Map<String, NDArray> grads = new LinkedHashMap<>();
            long offset = 0;
            for (Map.Entry<String, Parameter> e : master.block().hfParameters().entrySet()) {
                Shape shape = e.getValue().getShape();
                grads.put(e.getKey(), mean.get("{}:{}", offset, offset + shape.size()).reshape(shape));
                offset += shape.size();
            }
            norm = trainer.apply(grads, lr);
        }
        version++;
        current = broadcast(ParameterSnapshot.of(master, version));
        snapshot.destroy();
        return new StepReport(version, lossSum / count, norm, count, results.size());
    }

    private Broadcast<ParameterSnapshot> broadcast(ParameterSnapshot s) {
        return JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(s);
    }

    @Override
    public void close() {
        current.destroy();
        // Executors free their cached copy when their JVM ends; in local mode it is this JVM.
        ExecutorModelCache.release(cacheKey);
        trainer.close();
        master.close();
    }

    /** The executor side of a step: gradient sums per micro-batch, in micro-batch order. */
    static final class MicroGradients implements FlatMapFunction<Iterator<Row>, MicroGradient> {
        private static final long serialVersionUID = 1L;
        private final String key;
        private final String modelDir;
        private final ModelSettings settings;
        private final Broadcast<ParameterSnapshot> snapshot;

        MicroGradients(String key, String modelDir, ModelSettings settings, Broadcast<ParameterSnapshot> snapshot) {
            this.key = key;
            this.modelDir = modelDir;
            this.settings = settings;
            this.snapshot = snapshot;
        }

        @Override
        public Iterator<MicroGradient> call(Iterator<Row> rows) {
            // Rows of each micro-batch in sample-id order, whatever order the shuffle delivered.
            TreeMap<Integer, TreeMap<String, long[][]>> micros = new TreeMap<>();
            while (rows.hasNext()) {
                Row r = rows.next();
                micros.computeIfAbsent(r.getInt(0), k -> new TreeMap<>())
                        .put(r.getString(1), new long[][] {longs(r.getList(2)), longs(r.getList(3))});
            }
            List<MicroGradient> out = new ArrayList<>();
            for (Map.Entry<Integer, TreeMap<String, long[][]>> e : micros.entrySet()) {
                List<long[]> ids = new ArrayList<>();
                List<long[]> labels = new ArrayList<>();
                for (long[][] row : e.getValue().values()) {
                    ids.add(row[0]);
                    labels.add(row[1]);
                }
                out.add(Autograd.exclusive(() -> gradient(e.getKey(), ids, labels)));
            }
            return out.iterator();
        }

        private MicroGradient gradient(int micro, List<long[]> ids, List<long[]> labels) {
            CausalLm lm = ExecutorModelCache.get(key, modelDir, settings, snapshot.value());
            try (LmTrainer local = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
                local.zeroGradients();
                LmTrainer.StepResult r = local.accumulateSum(ids, labels);
                Map<String, NDArray> grads = local.gradients();
                try {
                    return new MicroGradient(micro, r.loss(), r.targetTokens(),
                            ParameterSnapshot.flatten(lm, grads::get));
                } finally {
                    grads.values().forEach(NDArray::close);
                    local.zeroGradients();
                }
            }
        }

        private static long[] longs(List<Object> values) {
            long[] out = new long[values.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = ((Number) values.get(i)).longValue();
            }
            return out;
        }
    }
}
