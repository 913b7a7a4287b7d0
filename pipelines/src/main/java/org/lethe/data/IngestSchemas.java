package org.lethe.data;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** Column layouts of the ingest stage and of the tables it writes. */
public final class IngestSchemas {

    private IngestSchemas() {}

    /** One input row after parsing: either a record (reason null) or a reject (reason set). */
    public static final StructType PARSED = new StructType()
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("split", DataTypes.StringType, false)
            .add("reason", DataTypes.StringType, true)
            .add("raw", DataTypes.StringType, true)
            .add("question", DataTypes.StringType, true)
            .add("answer", DataTypes.StringType, true)
            .add("paraphrased_answer", DataTypes.StringType, true)
            .add("perturbed_answers", DataTypes.createArrayType(DataTypes.StringType, false), true)
            .add("paraphrased_question", DataTypes.StringType, true)
            .add("passage", DataTypes.IntegerType, true);

    /** {@code rejects}: every input row that did not become a membership, with the reason. */
    public static final StructType REJECTS = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("dataset", DataTypes.StringType, false)
            .add("split", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("reason", DataTypes.StringType, false)
            .add("raw", DataTypes.StringType, true);
}
