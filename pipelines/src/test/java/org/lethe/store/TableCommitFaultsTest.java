package org.lethe.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.FaultyFileSystem;
import org.lethe.testing.TestSpark;

/**
 * A writer that dies at the N-th file operation of a table commit, for every N the commit has:
 * afterwards every run's rows are wholly old or wholly new (the run rewritten and the run left
 * alone), a new reader sees the same, and the next writer commits.
 */
class TableCommitFaultsTest {

    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    private static final StructType SCHEMA = new StructType().add("run_id", DataTypes.StringType)
            .add("sample", DataTypes.IntegerType).add("loss", DataTypes.DoubleType);

    @TempDir Path tmp;

    @AfterEach
    void disarm() {
        FaultyFileSystem.disarm();
    }

    private static Dataset<Row> rows(Object[]... rows) {
        return SPARK.session().createDataFrame(Arrays.stream(rows).map(RowFactory::create).toList(), SCHEMA)
                .coalesce(1);
    }

    /** The table's rows as a reader that starts now sees them (no cached Delta log). */
    private static List<List<Object>> read(TableStore store) {
        DeltaLog.clearCache();
        return TestSpark.rows(store.read("losses").select("run_id", "sample", "loss"));
    }

    @Test
    void aWriterDyingAtAnyFileOperationOfACommitLeavesEveryRunWhollyOldOrWhollyNew() {
        SparkSession spark = SPARK.session();
        FaultyFileSystem.configure(spark.sparkContext().hadoopConfiguration());
        TableStore store = new TableStore(spark, FaultyFileSystem.path(tmp.resolve("root")).toString());
        Dataset<Row> oldA = rows(new Object[] {"a", 1, 0.5}, new Object[] {"a", 2, 0.25});
        Dataset<Row> newA = rows(new Object[] {"a", 3, 2.0});
        store.write("losses", oldA.union(rows(new Object[] {"b", 1, 1.5})));
        List<List<Object>> before = List.of(List.of("a", 1, 0.5), List.of("a", 2, 0.25), List.of("b", 1, 1.5));
        List<List<Object>> after = List.of(List.of("a", 3, 2.0), List.of("b", 1, 1.5));
        assertEquals(before, read(store));

        List<String> outcomes = new ArrayList<>();
        for (int n = 1; ; n++) {
            assertTrue(n < 200, "the commit never completed: " + outcomes);
            FaultyFileSystem.arm(n);
            Exception failure = null;
            try {
                store.write("losses", newA);
            } catch (Exception e) { // Spark's job failures arrive as (undeclared) checked SparkExceptions
                failure = e;
            } finally {
                FaultyFileSystem.disarm();
            }
            List<List<Object>> seen = read(store);
            assertTrue(seen.equals(before) || seen.equals(after), "operation " + n + ": " + seen);
            outcomes.add(n + (failure == null ? ":ok" : seen.equals(after) ? ":committed" : ":old"));
            if (failure == null) {
                assertEquals(after, seen);
                break;
            }
            // The next writer is not blocked by what the dead one left: it puts the old rows back.
            store.write("losses", oldA);
            assertEquals(before, read(store), "operation " + n + ": the next writer");
        }
        System.out.println("table commit, death at each file operation: " + outcomes);
        // The commit has several file operations, each of which was a death point.
        assertTrue(outcomes.size() >= 4, "file operations of one commit: " + outcomes);
        assertTrue(outcomes.get(0).endsWith(":old"), outcomes.toString());
    }
}
