package org.lethe.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Reads Parquet or CSV (with a header) question/answer files into parsed rows: each table row
 * becomes a JSON object of its columns and goes through the same {@link QaRecordParser} checks,
 * with its 1-based row number as the line.
 */
public final class TabularSources {

    private TabularSources() {}

    public static Dataset<Row> read(SparkSession spark, Path file, String name, String split,
            QaRecordParser parser, boolean csv) {
        Dataset<Row> table = csv
                ? spark.read().option("header", "true").option("multiLine", "true").option("escape", "\"")
                        .csv(file.toString())
                : spark.read().parquet(file.toString());
        StructType schema = table.schema();
        JavaRDD<Row> rows = table.javaRDD().zipWithIndex()
                .map(t -> {
                    ObjectNode node = toJson(t._1(), schema);
                    return parser.fromObject(node, node.toString(), name, t._2() + 1, split);
                });
        return spark.createDataFrame(rows, IngestSchemas.PARSED);
    }

    private static ObjectNode toJson(Row row, StructType schema) {
        ObjectNode node = new ObjectMapper().createObjectNode();
        StructField[] fields = schema.fields();
        for (int i = 0; i < fields.length; i++) {
            if (row.isNullAt(i)) {
                node.putNull(fields[i].name());
            } else if (fields[i].dataType() instanceof ArrayType) {
                ArrayNode a = node.putArray(fields[i].name());
                for (Object o : row.<Object>getList(i)) {
                    a.add(String.valueOf(o));
                }
            } else {
                node.put(fields[i].name(), String.valueOf(row.get(i)));
            }
        }
        return node;
    }
}
