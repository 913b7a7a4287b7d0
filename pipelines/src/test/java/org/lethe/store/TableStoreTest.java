package org.lethe.store;

import static org.apache.spark.sql.functions.callUDF;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.lethe.testing.TestSpark;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class TableStoreTest {
    private static final StructType SCHEMA = new StructType()
            .add("run_id", DataTypes.StringType)
            .add("sample", DataTypes.IntegerType)
            .add("split", DataTypes.StringType)
            .add("loss", DataTypes.DoubleType);

    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    private static SparkSession spark;

    @TempDir Path root;

    @BeforeAll
    static void start() {
        spark = SPARK.session();
        // Throws on sample 13: a job that fails in the middle of writing.
        spark.udf().register("fail_on_13", (UDF1<Integer, Integer>) sample -> {
            if (sample == 13) {
                throw new IllegalStateException("sample 13 is cursed");
            }
            return sample;
        }, DataTypes.IntegerType);
    }

    private static Dataset<Row> rows(Object[]... rows) {
        return spark.createDataFrame(Arrays.stream(rows).map(RowFactory::create).toList(), SCHEMA);
    }

    private static List<List<Object>> table(TableStore store, String name) {
        return TestSpark.rows(store.read(name).select("run_id", "sample", "split", "loss"));
    }

    private TableStore store() {
        return new TableStore(spark, root.toString());
    }

    @Test
    void rewritingARunReplacesExactlyItsRows() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"a", 2, "retain", 0.25}));
        store.write("losses", rows(new Object[] {"b", 1, "forget", 1.5}));
        store.write("losses", rows(new Object[] {"a", 3, "forget", 2.0}));

        assertEquals(List.of(
                List.of("a", 3, "forget", 2.0),
                List.of("b", 1, "forget", 1.5)), table(store, "losses"));
    }

    @Test
    void rewritingReplacesAllPartitionsOfTheRunNotOnlyThoseWritten() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"a", 2, "retain", 0.25},
                new Object[] {"b", 1, "retain", 1.5}), "split");
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.75}), "split");

        assertEquals(List.of(
                List.of("a", 1, "forget", 0.75),
                List.of("b", 1, "retain", 1.5)), table(store, "losses"));
        // One Delta commit per write; the replaced files are removed from the log, not yet from disk.
        assertEquals(2L, io.delta.tables.DeltaTable.forPath(spark, root.resolve("losses").toString()).history()
                .count());
    }

    @Test
    void reWritingTheSameRowsCommitsNoVersionAndAnyChangeDoes() {
        TableStore store = store();
        // A map column (which Spark will not hash directly) and rows in another order on the re-run.
        Dataset<Row> first = rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"a", 2, "retain", 0.25})
                .withColumn("terms", functions.map(functions.lit("nll"), col("loss"), functions.lit("kl"), col("loss")));
        Dataset<Row> reordered = rows(new Object[] {"a", 2, "retain", 0.25}, new Object[] {"a", 1, "forget", 0.5})
                .withColumn("terms", functions.map(functions.lit("kl"), col("loss"), functions.lit("nll"), col("loss")));
        store.write("losses", first);
        store.write("losses", reordered);
        assertEquals(1L, versions("losses"), "identical rows: no new version");

        store.write("losses", reordered.drop("terms"));
        assertEquals(2L, versions("losses"), "a column becoming null is a change");
        assertEquals(Arrays.asList("a", 1, null), TestSpark.rows(store.read("losses")
                .select(col("run_id"), col("sample"), col("terms").getItem("nll")).where("sample = 1")).get(0));
        store.write("losses", rows(new Object[] {"a", 2, "retain", 0.25}));
        assertEquals(3L, versions("losses"), "a row fewer is a change");
        store.write("losses", rows(new Object[] {"a", 2, "retain", 0.25}, new Object[] {"a", 2, "retain", 0.25}));
        assertEquals(4L, versions("losses"), "a duplicated row is a change");
        store.write("losses", rows(new Object[] {"a", 2, "retain", 0.25}, new Object[] {"a", 2, "retain", 0.25}));
        assertEquals(4L, versions("losses"));
    }

    private long versions(String table) {
        return io.delta.tables.DeltaTable.forPath(spark, root.resolve(table).toString()).history().count();
    }

    @Test
    void aWriteThatFailsLeavesThePreviousContents() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"b", 2, "forget", 0.25}));

        Dataset<Row> failing = rows(new Object[] {"a", 12, "forget", 1.0}, new Object[] {"a", 13, "forget", 1.0})
                .withColumn("sample", callUDF("fail_on_13", col("sample")));
        Exception e = assertThrows(Exception.class, () -> store.write("losses", failing));
        assertTrue(rootCause(e).getMessage().contains("sample 13 is cursed"), e.toString());

        assertEquals(List.of(
                List.of("a", 1, "forget", 0.5),
                List.of("b", 2, "forget", 0.25)), table(store, "losses"));
        assertEquals(List.of("losses"), listing(root), "nothing but the table");
        assertEquals(1L, io.delta.tables.DeltaTable.forPath(spark, root.resolve("losses").toString()).history().count(),
                "the failed write committed no version");
    }

    @Test
    void invalidRunIdIsRejectedBeforeAnythingIsWritten() {
        TableStore store = store();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.write("losses", rows(new Object[] {"scheduled__2024-01-01T00:00:00+00:00", 1, "forget", 0.5})));
        assertEquals("table losses: invalid run_id 'scheduled__2024-01-01T00:00:00+00:00': only [A-Za-z0-9._-] is"
                + " allowed (sanitized: 'scheduled__2024-01-01T00_00_00_00_00')", e.getMessage());
        assertFalse(store.exists("losses"));

        IllegalArgumentException nullId = assertThrows(IllegalArgumentException.class,
                () -> store.write("losses", rows(new Object[] {null, 1, "forget", 0.5})));
        assertEquals("table losses: run_id is null: expected [A-Za-z0-9._-]+", nullId.getMessage());
    }

    @Test
    void rowsWithoutRunIdAreRejected() {
        Dataset<Row> noRunId = rows(new Object[] {"a", 1, "forget", 0.5}).drop("run_id");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store().write("losses", noRunId));
        assertTrue(e.getMessage().startsWith("table losses: rows have no column run_id"), e.getMessage());
    }

    @Test
    void readKeepsWrittenTypesOfPartitionColumns() {
        TableStore store = store();
        // Partition discovery alone would read run_id "2024" and the step directories as ints.
        Dataset<Row> steps = rows(new Object[] {"2024", 7, "forget", 0.5}).withColumn("step", col("sample").cast("long"));
        store.write("steps", steps, "step");

        Dataset<Row> read = store.read("steps");
        assertEquals(DataTypes.StringType, read.schema().apply("run_id").dataType());
        assertEquals(DataTypes.LongType, read.schema().apply("step").dataType());
        assertEquals(List.of("sample", "split", "loss", "run_id", "step"), Arrays.asList(read.columns()));
        assertEquals(List.of(List.of(7, "forget", 0.5, "2024", 7L)), TestSpark.rows(read));
    }

    @Test
    void newColumnsAreAddedAndTypeChangesRejected() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}));
        store.write("losses", rows(new Object[] {"b", 2, "retain", 0.25}).withColumn("note", col("split")));

        assertEquals(List.of(
                Arrays.asList("a", 1, null),
                Arrays.asList("b", 2, "retain")), TestSpark.rows(store.read("losses").select("run_id", "sample", "note")));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.write("losses", rows(new Object[] {"c", 1, "forget", 0.5}).withColumn("loss", col("split"))));
        assertEquals("table losses: column loss is double in the table but string in the rows", e.getMessage());
        IllegalArgumentException p = assertThrows(IllegalArgumentException.class,
                () -> store.write("losses", rows(new Object[] {"c", 1, "forget", 0.5}), "split"));
        assertEquals("table losses is partitioned by [run_id] but this write partitions by [run_id, split]", p.getMessage());
    }

    @Test
    void registerAllMakesEveryTableQueryable() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"a", 2, "retain", 0.25}));
        store.write("scores", rows(new Object[] {"a", 1, "forget", 0.9}));

        assertTrue(store.exists("losses"));
        assertFalse(store.exists("missing"));
        assertEquals(List.of("losses", "scores"), store.registerAll());
        List<Row> joined = spark.sql("SELECT l.sample, l.loss, s.loss AS score FROM losses l JOIN scores s "
                + "ON l.run_id = s.run_id AND l.sample = s.sample").collectAsList();
        assertEquals(List.of(RowFactory.create(1, 0.5, 0.9)), joined);
    }

    @Test
    void everyVersionIsQueryableByNameAndTheProtocolStaysMinimal() {
        TableStore store = store();
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.5}));
        store.write("losses", rows(new Object[] {"a", 1, "forget", 0.75}).withColumn("note", col("split")));
        assertEquals(List.of("losses"), store.registerAll());
        assertEquals(List.of(List.of(0.5)), TestSpark.rows(spark.sql("SELECT loss FROM losses VERSION AS OF 0")));
        assertEquals(List.of(List.of(0.75, "forget")), TestSpark.rows(spark.sql("SELECT loss, note FROM losses")));
        Row protocol = io.delta.tables.DeltaTable.forPath(spark, store.location("losses")).detail()
                .select("minReaderVersion", "minWriterVersion").first();
        assertEquals(RowFactory.create(1, 2), protocol, "readable by any Delta reader");
    }

    @Test
    void aRootOfPlainParquetTablesIsRefusedUntilConverted() throws Exception {
        // The layout Lethe wrote before Delta: run_id directories and a schema sidecar.
        Path legacy = root.resolve("losses");
        rows(new Object[] {"a", 1, "forget", 0.5}, new Object[] {"b", 2, "retain", 0.25}).write()
                .partitionBy("run_id").parquet(legacy.toString());
        Files.writeString(legacy.resolve("_lethe_table.json"), "{\"partition_columns\":[\"run_id\"],\"schema\":"
                + new StructType().add("sample", DataTypes.IntegerType).add("split", DataTypes.StringType)
                        .add("loss", DataTypes.DoubleType).add("run_id", DataTypes.StringType).json() + "}");
        TableStore store = store();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> store.read("losses"));
        assertTrue(e.getMessage().contains("written by an earlier Lethe as plain Parquet files")
                && e.getMessage().endsWith("lethe convert-tables --root " + store.root()), e.getMessage());
        assertThrows(IllegalStateException.class, () -> store.write("losses", rows(new Object[] {"c", 1, "x", 1.0})));

        assertEquals(List.of("losses"), store.convertLegacy());
        assertEquals(List.of(List.of("a", 1, "forget", 0.5), List.of("b", 2, "retain", 0.25)), table(store, "losses"));
        assertEquals(DataTypes.StringType, store.read("losses").schema().apply("run_id").dataType());
        assertTrue(Files.exists(root.resolve("_legacy/losses/_lethe_table.json")), "the old files are kept");
        assertEquals(List.of(), store.convertLegacy(), "converting again does nothing");
    }

    @Test
    void badTableNamesAreRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store().write("Bad-Name", rows(new Object[] {"a", 1, "forget", 0.5})));
        assertEquals("invalid table name 'Bad-Name': expected [a-z][a-z0-9_]*", e.getMessage());
    }

    private static Throwable rootCause(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static List<String> listing(Path dir) {
        File[] files = dir.toFile().listFiles();
        return files == null ? List.of() : Stream.of(files).map(File::getName).toList();
    }
}
