package org.lethe.distributed;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The {@code train_steps} table, one row per optimizer step of {@code finetune} and
 * {@code unlearn}: {@code loss} is the step's total objective, {@code forget_loss} and
 * {@code retain_loss} the normalized forget term and the weighted sum of the retain terms (null
 * for fine-tuning), {@code terms} every term's normalized value by label (e.g. {@code npo},
 * {@code nll}); {@code tokens} counts the non-padding tokens that went through the trained model.
 */
public final class TrainSteps {

    public static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("step", DataTypes.LongType, false)
            .add("epoch", DataTypes.IntegerType, false)
            .add("loss", DataTypes.DoubleType, false)
            .add("lr", DataTypes.DoubleType, false)
            .add("grad_norm", DataTypes.DoubleType, false)
            .add("tokens", DataTypes.LongType, false)
            .add("seconds", DataTypes.DoubleType, false)
            .add("job", DataTypes.StringType, true)
            .add("forget_loss", DataTypes.DoubleType, true)
            .add("retain_loss", DataTypes.DoubleType, true)
            .add("terms", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), true)
            .add("compute_seconds", DataTypes.DoubleType, true);

    private TrainSteps() {}
}
