package org.lethe.distributed;

import org.lethe.store.Tables;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code train_steps} table, one row per optimizer step of {@code finetune} and
 * {@code unlearn}: {@code loss} is the step's total objective, {@code forget_loss} and
 * {@code retain_loss} the normalized forget term and the weighted sum of the retain terms (null
 * for fine-tuning), {@code terms} every term's normalized value by label (e.g. {@code npo},
 * {@code nll}); {@code tokens} counts the non-padding tokens that went through the trained model.
 */
public final class TrainSteps {

    public static final StructType SCHEMA = Tables.columns(Tables.TRAIN_STEPS);

    private TrainSteps() {}
}
