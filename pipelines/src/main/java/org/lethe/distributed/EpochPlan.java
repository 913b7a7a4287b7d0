package org.lethe.distributed;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;

/**
 * The order samples are visited in one epoch and how they fall into steps and micro-batches: a
 * pure function of (seed, epoch, sample_id), so a retried task, a resumed job or a different
 * partition count sees the same batches.
 */
public final class EpochPlan {

    private EpochPlan() {}

    /**
     * Adds {@code position} (0-based rank in the epoch's order), {@code step} (0-based within the
     * epoch) and {@code micro} (global micro-batch id within the epoch) to {@code samples}, which
     * must have a string {@code sample_id}. A last partial batch is kept (a smaller step).
     */
    public static Dataset<Row> plan(SparkSession spark, Dataset<Row> samples, long seed, int epoch,
            int batchSize, int microBatchSize) {
        if (batchSize <= 0 || microBatchSize <= 0 || batchSize % microBatchSize != 0) {
            throw new IllegalArgumentException("batch size " + batchSize + " must be a positive multiple of the"
                    + " micro-batch size " + microBatchSize);
        }
        // Ties of the 64-bit hash are broken by sample_id: the order is total.
        Dataset<Row> ordered = samples.withColumn("_order", expr("xxhash64(" + seed + "L, " + epoch + ", sample_id)"))
                .orderBy(col("_order"), col("sample_id")).drop("_order");
        StructType schema = ordered.schema().add("position", DataTypes.LongType, false);
        JavaRDD<Row> ranked = ordered.javaRDD().zipWithIndex().map(t -> {
            Object[] values = new Object[t._1().size() + 1];
            for (int i = 0; i < t._1().size(); i++) {
                values[i] = t._1().get(i);
            }
            values[values.length - 1] = t._2();
            return RowFactory.create(values);
        });
        return spark.createDataFrame(ranked, schema)
                .withColumn("epoch", lit(epoch))
                .withColumn("step", col("position").divide(batchSize).cast(DataTypes.IntegerType))
                .withColumn("micro", col("position").divide(microBatchSize).cast(DataTypes.IntegerType));
    }

    /** Number of steps of an epoch over {@code samples} rows (the last one may be partial). */
    public static long stepsPerEpoch(long samples, int batchSize) {
        return (samples + batchSize - 1) / batchSize;
    }
}
