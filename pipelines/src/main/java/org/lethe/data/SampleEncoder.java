package org.lethe.data;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.lethe.model.LmTokenizer;
import org.lethe.text.ExecutorTokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Fills {@code input_ids}, {@code prompt_tokens} and {@code tokenizer_sha256} of example rows with a
 * model's tokenizer and a prompt template, on the executors (tokenizer loaded once per JVM).
 */
public final class SampleEncoder {

    private SampleEncoder() {}

    /**
     * Training rows of {@code examples}: {@code sample_id}, {@code input_ids} and {@code labels}
     * (the token ids with the prompt masked to -100, so only answer tokens are targets).
     */
    public static Dataset<Row> trainingRows(SparkSession spark, Dataset<Row> examples, String modelDir,
            PromptTemplate template, String tokenizerSha) {
        return encode(spark, examples, modelDir, template, tokenizerSha).select(
                org.apache.spark.sql.functions.col("sample_id"), org.apache.spark.sql.functions.col("input_ids"),
                org.apache.spark.sql.functions.expr("transform(input_ids, (x, i) -> IF(i < prompt_tokens, -100, x))")
                        .as("labels"));
    }

    /** {@code examples} must have question, answer, input_ids, prompt_tokens, tokenizer_sha256. */
    public static Dataset<Row> encode(SparkSession spark, Dataset<Row> examples, String modelDir,
            PromptTemplate template, String tokenizerSha) {
        // Fail on the driver, with the model named, before any executor spends time.
        ExecutorTokenizer tokenizer = new ExecutorTokenizer(modelDir).check();
        StructType schema = examples.schema();
        int idsField = schema.fieldIndex("input_ids");
        int promptField = schema.fieldIndex("prompt_tokens");
        int shaField = schema.fieldIndex("tokenizer_sha256");
        int qField = schema.fieldIndex("question");
        int aField = schema.fieldIndex("answer");
        JavaRDD<Row> rows = examples.javaRDD().mapPartitions((Iterator<Row> it) -> {
            LmTokenizer tok = tokenizer.get();
            List<Row> out = new ArrayList<>();
            while (it.hasNext()) {
                Row r = it.next();
                PromptTemplate.Encoded e = template.encode(tok, r.getString(qField), r.getString(aField));
                Object[] values = new Object[r.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = r.get(i);
                }
                values[idsField] = Arrays.stream(e.ids()).mapToInt(Math::toIntExact).toArray();
                values[promptField] = e.promptTokens();
                values[shaField] = tokenizerSha;
                out.add(RowFactory.create(values));
            }
            return out.iterator();
        });
        return spark.createDataFrame(rows, schema);
    }
}
