package org.lethe.distributed;

import org.apache.spark.sql.Row;

import java.io.Serializable;
import java.util.List;

/**
 * The loss one data-parallel step minimizes, evaluated micro-batch by micro-batch on executors.
 * An instance belongs to one step: it carries whatever that step's normalization needs (global
 * counts computed by the driver), so each micro-batch's backward pass already produces its share
 * of the step's gradient and the driver only adds them up.
 */
public interface MicroObjective extends Serializable {

    /** The step rows' columns it reads, besides {@code micro}. */
    List<String> columns();

    /** Names of the loss parts reported per step (one {@code train_steps} column each). */
    List<String> partNames();

    /** The step's total loss from its summed parts. */
    double total(double[] parts);

    /** Whether {@link ExecutorModels#ref()} is used. */
    boolean needsRefModel();

    /**
     * Forward and backward of one micro-batch; gradients are ADDED to the policy's parameters.
     *
     * @param rows the micro-batch's rows (columns as {@link #columns()}), in no particular order
     * @return the micro-batch's contribution to each part (they add up over micro-batches to the
     *     step's value) and the non-padding tokens that went through the policy
     */
    MicroLoss backward(ExecutorModels models, List<Row> rows);

    /** One micro-batch's contributions; {@code backward} false when it had nothing to differentiate. */
    record MicroLoss(double[] parts, long tokens, boolean backward) implements Serializable {}
}
