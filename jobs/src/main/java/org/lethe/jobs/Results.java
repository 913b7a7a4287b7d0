package org.lethe.jobs;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.to_json;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.StringJoiner;
import java.util.stream.IntStream;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;

/** Prints a Dataset as a command's result: CSV with a header row, or JSON lines. */
public final class Results {
    private Results() {}

    /**
     * RFC 4180 CSV with a header row and '\n' line ends. Values are Spark's own string casts (so
     * timestamps are in the session time zone); NULL is an empty field and the empty string a
     * quoted {@code ""}, so the two stay apart.
     */
    public static void csv(Dataset<Row> rows, PrintWriter out) {
        String[] names = rows.columns();
        // Positional names: a join's result may hold two columns of the same name.
        String[] positional = IntStream.range(0, names.length).mapToObj(i -> "c" + i).toArray(String[]::new);
        Column[] strings = Arrays.stream(positional).map(c -> col(c).cast("string")).toArray(Column[]::new);
        out.print(csvLine(names));
        Iterator<Row> it = rows.toDF(positional).select(strings).toLocalIterator();
        String[] values = new String[names.length];
        while (it.hasNext()) {
            Row row = it.next();
            for (int i = 0; i < values.length; i++) {
                values[i] = row.getString(i);
            }
            out.print(csvLine(values));
        }
        out.flush();
    }

    /** One JSON object per row and line, NULL values kept as {@code null}. */
    public static void jsonLines(Dataset<Row> rows, PrintWriter out) {
        Column json = to_json(struct(col("*")), Map.of("ignoreNullFields", "false"));
        Iterator<String> it = rows.select(json).as(Encoders.STRING()).toLocalIterator();
        while (it.hasNext()) {
            out.print(it.next());
            out.print('\n');
        }
        out.flush();
    }

    static String csvLine(String[] values) {
        StringJoiner line = new StringJoiner(",", "", "\n");
        for (String value : values) {
            line.add(csvField(value));
        }
        return line.toString();
    }

    private static String csvField(String value) {
        if (value == null) {
            return "";
        }
        if (value.isEmpty() || value.indexOf(',') >= 0 || value.indexOf('"') >= 0
                || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            return '"' + value.replace("\"", "\"\"") + '"';
        }
        return value;
    }
}
