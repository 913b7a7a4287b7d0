package org.lethe.distributed;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.util.Map;

/**
 * What {@link TrainingLoop} needs of an objective beyond one step's {@link MicroObjective}: the
 * global counts that normalize each part per step (computed on the driver from an epoch's plan,
 * before any executor runs the model), the objective of one step with those counts, and how its
 * parts split into the forget and retain losses that {@code train_steps} reports. The unlearn
 * package implements it; this package never sees loss terms.
 */
public interface TrainingObjective extends MicroObjective {

    /** Each step's global count per part, by 0-based step of the epoch's {@code plan}. */
    Map<Integer, long[]> countsByStep(Dataset<Row> plan, int hiddenSize);

    /** The objective of one step, normalized by that step's {@code counts}. */
    MicroObjective forStep(long[] counts);

    /** The forget part of a step's loss from its part values, or null when no part is a forget term. */
    Double forgetLoss(double[] parts);

    /** The weighted retain parts of a step's loss, or null when no part is a retain term. */
    Double retainLoss(double[] parts);
}
