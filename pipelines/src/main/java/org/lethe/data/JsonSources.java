package org.lethe.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * Reads JSON Lines or JSON-array files into parsed rows on the executors, with the 1-based line
 * (JSONL) or element index (array) of every record; nothing is collected to the driver.
 */
public final class JsonSources {

    private JsonSources() {}

    /** Parsed rows ({@link IngestSchemas#PARSED}) of one file; {@code name} is what rows report. */
    public static Dataset<Row> read(SparkSession spark, Path file, String name, String split,
            QaRecordParser parser) {
        return isJsonArray(spark, file) ? readArray(spark, file, name, split, parser)
                : readLines(spark, file, name, split, parser);
    }

    /** A file to read: where it is, the name rows report, and its split. */
    public record Source(Path path, String name, String split, long bytes) implements java.io.Serializable {}

    /**
     * Parsed rows of many files: files up to {@code wholeFileMaxBytes} are read whole, all of them
     * in ONE Spark job (a task per file, lines numbered in the task); larger files are split
     * across tasks and numbered with {@code zipWithIndex}.
     */
    public static Dataset<Row> readAll(SparkSession spark, List<Source> sources, QaRecordParser parser,
            long wholeFileMaxBytes) {
        Dataset<Row> result = null;
        java.util.Map<String, Source> small = new java.util.HashMap<>();
        for (Source s : sources) {
            if (s.bytes() <= wholeFileMaxBytes) {
                small.put(s.path().toUri().getPath(), s);
            } else {
                Dataset<Row> d = read(spark, s.path(), s.name(), s.split(), parser);
                result = result == null ? d : result.unionByName(d);
            }
        }
        if (!small.isEmpty()) {
            String[] paths = small.values().stream().map(s -> s.path().toString()).toArray(String[]::new);
            JavaRDD<Row> rows = spark.read().format("binaryFile").load(paths).select("path", "content").javaRDD()
                    .flatMap(r -> {
                        Source s = small.get(new Path((String) r.get(0)).toUri().getPath());
                        return parseWhole((byte[]) r.get(1), s.name(), s.split(), parser).iterator();
                    });
            Dataset<Row> d = spark.createDataFrame(rows, IngestSchemas.PARSED);
            result = result == null ? d : result.unionByName(d);
        }
        return result;
    }

    /** One whole file's records: a JSON array, or JSON lines numbered from 1 (blank lines skipped). */
    static List<Row> parseWhole(byte[] content, String name, String split, QaRecordParser parser) {
        int i = 0;
        while (i < content.length && (content[i] == ' ' || content[i] == '\n' || content[i] == '\r'
                || content[i] == '\t')) {
            i++;
        }
        if (i < content.length && content[i] == '[') {
            return parseArray(content, name, split, parser);
        }
        List<Row> out = new ArrayList<>();
        for (scala.Tuple2<byte[], Long> line : splitLines(content)) {
            out.add(parser.parse(line._1(), name, line._2(), split));
        }
        return out;
    }

    /**
     * Non-blank lines of a whole file with their 1-based numbers, split as Hadoop's line reader
     * does (\n, \r\n or \r), so both read paths number lines alike.
     */
    public static List<scala.Tuple2<byte[], Long>> splitLines(byte[] content) {
        List<scala.Tuple2<byte[], Long>> out = new ArrayList<>();
        long number = 0;
        int start = 0;
        for (int i = 0; i <= content.length; i++) {
            boolean end = i == content.length;
            if (end || content[i] == '\n' || content[i] == '\r') {
                if (end && start == i) {
                    break; // the file ended with a line break: no further line
                }
                number++;
                byte[] line = java.util.Arrays.copyOfRange(content, start, i);
                if (!isBlank(line)) {
                    out.add(new scala.Tuple2<>(line, number));
                }
                if (!end && content[i] == '\r' && i + 1 < content.length && content[i + 1] == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        return out;
    }

    /** Non-blank lines of a text file as raw bytes with their 1-based line numbers. */
    public static JavaRDD<scala.Tuple2<byte[], Long>> lines(SparkSession spark, Path file) {
        // Cast to binary keeps the bytes as written, so invalid UTF-8 can be detected and reported.
        return spark.read().text(file.toString()).select(col("value").cast("binary")).javaRDD()
                .map(r -> (byte[]) r.get(0))
                .zipWithIndex()
                .filter(t -> !isBlank(t._1()))
                .map(t -> new scala.Tuple2<>(t._1(), t._2() + 1));
    }

    private static Dataset<Row> readLines(SparkSession spark, Path file, String name, String split,
            QaRecordParser parser) {
        JavaRDD<Row> rows = lines(spark, file).map(t -> parser.parse(t._1(), name, t._2(), split));
        return spark.createDataFrame(rows, IngestSchemas.PARSED);
    }

    private static Dataset<Row> readArray(SparkSession spark, Path file, String name, String split,
            QaRecordParser parser) {
        JavaRDD<Row> rows = spark.read().format("binaryFile").load(file.toString())
                .select("content").javaRDD()
                .flatMap(r -> parseArray((byte[]) r.get(0), name, split, parser).iterator());
        return spark.createDataFrame(rows, IngestSchemas.PARSED);
    }

    static List<Row> parseArray(byte[] content, String name, String split, QaRecordParser parser) {
        List<Row> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        long index = 0;
        try (JsonParser p = json.getFactory().createParser(content)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                out.add(QaRecordParser.reject(name, 0, split, "invalid_json", head(content)));
                return out;
            }
            while (p.nextToken() != JsonToken.END_ARRAY) {
                index++;
                JsonNode element = p.readValueAsTree();
                String raw = element == null ? "" : element.toString();
                out.add(element != null && element.isObject()
                        ? parser.fromObject(element, raw, name, index, split)
                        : QaRecordParser.reject(name, index, split, "invalid_json", raw));
            }
        } catch (IOException e) {
            // The rest of the array cannot be read: one reject says where it broke.
            out.add(QaRecordParser.reject(name, index + 1, split, "invalid_json", e.getMessage()));
        }
        return out;
    }

    private static String head(byte[] content) {
        return new String(content, 0, Math.min(content.length, 200), StandardCharsets.UTF_8);
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** Whether the file's first non-whitespace byte opens a JSON array. */
    static boolean isJsonArray(SparkSession spark, Path file) {
        try {
            FileSystem fs = file.getFileSystem(spark.sparkContext().hadoopConfiguration());
            try (FSDataInputStream in = fs.open(file)) {
                int b;
                do {
                    b = in.read();
                } while (b == ' ' || b == '\n' || b == '\r' || b == '\t' || b == 0xEF || b == 0xBB || b == 0xBF);
                return b == '[';
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
