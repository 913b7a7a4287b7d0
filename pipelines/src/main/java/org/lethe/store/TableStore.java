package org.lethe.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lethe's tables under one root directory: Delta Lake tables ({@code <root>/<table>/_delta_log}),
 * partitioned by {@code run_id}. A write replaces the rows of every run it holds in one Delta
 * transaction ({@code replaceWhere} on the run's key), so a reader sees a run's rows wholly old or
 * wholly new and a failed or killed write leaves the table as it was; other runs are untouched.
 * Writers of other run ids commit concurrently (Delta's optimistic concurrency; a conflict is
 * retried, {@link #COMMIT_ATTEMPTS} times at most). Tables keep their column types (Delta's
 * schema), gain columns by added columns, and stay at the lowest Delta protocol (reader 1, writer
 * 2), so Spark SQL, Trino, the {@code deltalake} Python package and DuckDB read them.
 *
 * <p>A root written by Lethe before Delta (Parquet directories with {@code _lethe_table.json}) is
 * refused with the command that converts it ({@link #convertLegacy}).
 */
public final class TableStore {
    public static final String RUN_ID = Tables.RUN_ID;
    /** How often a write that lost a race to a concurrent commit is tried in all. */
    public static final int COMMIT_ATTEMPTS = 10;

    private static final Logger LOG = LoggerFactory.getLogger(TableStore.class);
    private static final Pattern TABLE_NAME = Pattern.compile("[a-z][a-z0-9_]*");
    private static final String LEGACY_META_FILE = "_lethe_table.json";
    private static final String DELTA_LOG = "_delta_log";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SparkSession spark;
    private final Configuration hadoopConf;
    private final FileSystem fs;
    private final Path root;

    /** A store rooted at {@code root}, a local path or any Hadoop file system URI. */
    public TableStore(SparkSession spark, String root) {
        if (root == null || root.isBlank()) {
            throw new IllegalArgumentException("table root is empty: give --root or set lethe.store.root");
        }
        this.spark = spark;
        this.hadoopConf = spark.sparkContext().hadoopConfiguration();
        try {
            Path path = new Path(root);
            this.fs = path.getFileSystem(hadoopConf);
            this.root = fs.makeQualified(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the file system of table root " + root, e);
        }
    }

    SparkSession spark() {
        return spark;
    }

    /** The fully qualified root directory. */
    public String root() {
        return root.toString();
    }

    /**
     * Writes {@code rows} to {@code table}, partitioned by {@code run_id} and then by {@code
     * partitionColumns}. The rows of every run present in {@code rows} replace all rows that run
     * had in the table, in one commit; other runs are untouched. A table keeps the partition columns
     * of its first write; its schema may gain columns (older runs read them as null) but not change
     * a type. Rows with no run commit nothing.
     *
     * <p>{@code rows} is evaluated twice (once for its run ids, once to write): cache it if that
     * is expensive and not pruned to the run_id column.
     *
     * @throws IllegalArgumentException for a bad table name, missing columns or an invalid run_id
     */
    public void write(String table, Dataset<Row> rows, String... partitionColumns) {
        write(table, rows, 1, partitionColumns);
    }

    /**
     * As {@link #write(String, Dataset, String...)}, but what a write replaces is the rows of each
     * distinct value of the first {@code keyDepth} partition columns ({@code run_id} first); their
     * values must be valid run ids. {@link Runs} uses (run_id, job) so that jobs of one run do not
     * replace each other's rows.
     */
    public void write(String table, Dataset<Row> rows, int keyDepth, String... partitionColumns) {
        write(table, rows, keyDepth, true, null, 0, partitionColumns);
    }

    /**
     * As {@link #write(String, Dataset, int, String...)} for rows the caller knows differ from the
     * ones they replace (a {@link Runs} row with a fresh heartbeat time): commits without first
     * comparing them in a Spark job.
     */
    public void writeChanged(String table, Dataset<Row> rows, int keyDepth, String... partitionColumns) {
        write(table, rows, keyDepth, false, null, 0, partitionColumns);
    }

    /**
     * A conditional commit: as {@link #write(String, Dataset, String...)}, but committed only if no
     * earlier commit to the table recorded {@code version} or a higher one under {@code appId}
     * (Delta's transaction identifiers: the commit records (appId, version), and a writer that finds
     * them taken, or loses the race to a commit that took them, skips its write). Of writers racing
     * with the same (appId, version), exactly one commits; the others' rows are dropped, so a caller
     * reads back to learn whether its rows won. What takes a lease or fences a lineage step uses it.
     */
    public void writeOnce(String table, Dataset<Row> rows, String appId, long version) {
        if (appId == null || appId.isBlank() || version < 0) {
            throw new IllegalArgumentException("a conditional commit needs an application id and a version >= 0");
        }
        write(table, rows, 1, false, appId, version);
    }

    private void write(String table, Dataset<Row> rows, int keyDepth, boolean compare, String txnAppId,
            long txnVersion, String... partitionColumns) {
        checkTableName(table);
        if (Tables.catalogued(table)) {
            Tables.check(table, rows.schema());
        }
        List<String> partitionBy = partitionColumns(table, rows.schema(), partitionColumns);
        if (keyDepth < 1 || keyDepth > partitionBy.size()) {
            throw new IllegalArgumentException("key depth " + keyDepth + " outside 1.." + partitionBy.size());
        }
        List<String> keyColumns = partitionBy.subList(0, keyDepth);
        for (String key : keyColumns) {
            DataType type = rows.schema().apply(key).dataType();
            if (!type.equals(DataTypes.StringType) && !(key != keyColumns.get(0)
                    && (type.equals(DataTypes.LongType) || type.equals(DataTypes.IntegerType)))) {
                throw new IllegalArgumentException("table " + table + ": column " + key + " must be a string"
                        + (key.equals(keyColumns.get(0)) ? "" : " or an integer") + " but is " + type.simpleString());
            }
        }
        List<String> keys = keyPredicates(table, rows, keyColumns);
        if (keys.isEmpty()) {
            return;
        }
        String replaceWhere = String.join(" OR ", keys);
        String dir = tableDir(table).toString();
        for (int attempt = 1; ; attempt++) {
            Optional<TableMeta> existing = readMeta(table);
            checkCompatible(table, existing, rows.schema(), partitionBy);
            if (compare && existing.isPresent() && attempt == 1 && unchanged(table, existing.get(), rows, replaceWhere)) {
                LOG.info("table {}: rows of {} unchanged; nothing committed", table, replaceWhere);
                return;
            }
            try {
                org.apache.spark.sql.DataFrameWriter<Row> writer = rows.write().format("delta").mode(SaveMode.Overwrite)
                        .option("replaceWhere", replaceWhere)
                        .option("mergeSchema", "true")
                        .partitionBy(partitionBy.toArray(new String[0]));
                if (txnAppId != null) {
                    writer = writer.option("txnAppId", txnAppId).option("txnVersion", txnVersion);
                }
                writer.save(dir);
                LOG.info("table {}: committed {} ({} key(s))", table, replaceWhere, keys.size());
                return;
            } catch (RuntimeException e) {
                if (!concurrentModification(e) || attempt >= COMMIT_ATTEMPTS) {
                    throw e;
                }
                LOG.info("table {}: commit {} lost to a concurrent one ({}); attempt {} of {}", table, replaceWhere,
                        e.getClass().getSimpleName(), attempt + 1, COMMIT_ATTEMPTS);
                sleepBeforeRetry(attempt);
            }
        }
    }

    /** The table's rows, with the column types they were written with (partition columns last). */
    public Dataset<Row> read(String table) {
        TableMeta meta = readMeta(table).orElseThrow(
                () -> new IllegalArgumentException("no table '" + table + "' under " + root));
        Dataset<Row> rows = spark.read().format("delta").load(tableDir(table).toString());
        return rows.select(Arrays.stream(meta.schema().fieldNames()).map(functions::col).toArray(Column[]::new));
    }

    /** Whether {@code table} has been written under this root. */
    public boolean exists(String table) {
        return readMeta(table).isPresent();
    }

    /** The names of all tables under the root, sorted. */
    public List<String> tables() {
        List<String> names = new ArrayList<>();
        try {
            if (!fs.exists(root)) {
                return names;
            }
            for (FileStatus status : fs.listStatus(root)) {
                String name = status.getPath().getName();
                if (status.isDirectory() && TABLE_NAME.matcher(name).matches() && readMeta(name).isPresent()) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list tables under " + root, e);
        }
        names.sort(null);
        return names;
    }

    /**
     * Registers every table in the session's catalog under its name, as an external Delta table at
     * its location (so that {@code SELECT ... FROM runs VERSION AS OF 3} works); returns the names.
     */
    public List<String> registerAll() {
        List<String> names = tables();
        for (String name : names) {
            spark.sql("DROP TABLE IF EXISTS `" + name + "`");
            spark.sql("CREATE TABLE `" + name + "` USING delta LOCATION '" + tableDir(name).toString().replace("'", "\\'")
                    + "'");
        }
        return names;
    }

    /** The table's directory (its Delta table path). */
    public String location(String table) {
        checkTableName(table);
        return tableDir(table).toString();
    }

    private Path tableDir(String table) {
        return new Path(root, table);
    }

    private static void checkTableName(String table) {
        if (table == null || !TABLE_NAME.matcher(table).matches()) {
            throw new IllegalArgumentException("invalid table name '" + table + "': expected [a-z][a-z0-9_]*");
        }
    }

    private static List<String> partitionColumns(String table, StructType schema, String... extra) {
        Set<String> columns = new LinkedHashSet<>();
        columns.add(RUN_ID);
        for (String column : extra) {
            if (!columns.add(column)) {
                throw new IllegalArgumentException("table " + table + ": partition column " + column + " given twice"
                        + (RUN_ID.equals(column) ? " (run_id is always the first)" : ""));
            }
        }
        List<String> names = Arrays.asList(schema.fieldNames());
        for (String column : columns) {
            if (!names.contains(column)) {
                throw new IllegalArgumentException("table " + table + ": rows have no column " + column + " (columns: " + names + ")");
            }
        }
        return new ArrayList<>(columns);
    }

    /**
     * One SQL conjunction per distinct key of {@code rows} ({@code (run_id = 'a' AND job = 'b')}),
     * sorted, after checking every key value is a valid run id (so it needs no escaping).
     */
    private static List<String> keyPredicates(String table, Dataset<Row> rows, List<String> keyColumns) {
        Column[] columns = keyColumns.stream().map(functions::col).toArray(Column[]::new);
        List<String> keys = new ArrayList<>();
        for (Row key : rows.select(columns).distinct().collectAsList()) {
            List<String> terms = new ArrayList<>();
            for (int i = 0; i < keyColumns.size(); i++) {
                boolean number = key.get(i) instanceof Number;
                String value = number ? Long.toString(((Number) key.get(i)).longValue()) : key.getString(i);
                try {
                    RunIds.validate(value, keyColumns.get(i));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("table " + table + ": " + e.getMessage(), e);
                }
                terms.add("`" + keyColumns.get(i) + "` = " + (number ? value : "'" + value + "'"));
            }
            keys.add("(" + String.join(" AND ", terms) + ")");
        }
        keys.sort(null);
        return keys;
    }

    /**
     * Whether the table's rows under {@code replaceWhere} are exactly {@code rows} (as a multiset, in
     * the table's columns: a column the rows lack would become null), so that a re-run with nothing
     * new commits no version. Compared by count and an order-free sum of row hashes, in one job.
     */
    private boolean unchanged(String table, TableMeta meta, Dataset<Row> rows, String replaceWhere) {
        Map<String, StructField> given = new LinkedHashMap<>();
        Arrays.stream(rows.schema().fields()).forEach(f -> given.put(lower(f.name()), f));
        List<Column> tableColumns = new ArrayList<>();
        List<Column> rowColumns = new ArrayList<>();
        for (StructField field : meta.schema().fields()) {
            StructField mine = given.remove(lower(field.name()));
            tableColumns.add(hashable(functions.col(field.name()), field.dataType()));
            rowColumns.add(hashable(mine == null ? functions.lit(null).cast(field.dataType())
                    : functions.col(mine.name()).cast(field.dataType()), field.dataType()));
        }
        if (!given.isEmpty()) {
            return false; // the write adds columns
        }
        try {
            Dataset<Row> old = spark.read().format("delta").load(tableDir(table).toString()).where(replaceWhere)
                    .select(functions.lit(0).as("side"), functions.xxhash64(tableColumns.toArray(new Column[0])).as("h"));
            Dataset<Row> fresh = rows.select(functions.lit(1).as("side"),
                    functions.xxhash64(rowColumns.toArray(new Column[0])).as("h"));
            Map<Integer, Row> sides = new java.util.HashMap<>();
            for (Row r : old.unionAll(fresh).groupBy("side").agg(functions.count("h"),
                    functions.sum(functions.col("h").cast("decimal(38,0)"))).collectAsList()) {
                sides.put(r.getInt(0), r);
            }
            Row a = sides.get(0);
            Row b = sides.get(1);
            return a != null && b != null && a.getLong(1) == b.getLong(1) && a.get(2).equals(b.get(2));
        } catch (Exception e) { // Scala throws AnalysisException (checked in Java's eyes) undeclared
            if (!(e instanceof org.apache.spark.sql.AnalysisException)) {
                throw e;
            }
            LOG.debug("table {}: rows not comparable ({}); committing", table, e.getMessage());
            return false;
        }
    }

    /** A column Spark can hash: maps (which it refuses to hash) as their entries sorted by key. */
    private static Column hashable(Column column, DataType type) {
        if (type instanceof org.apache.spark.sql.types.MapType) {
            return functions.array_sort(functions.map_entries(column));
        }
        return hasMap(type) ? functions.to_json(column) : column;
    }

    private static boolean hasMap(DataType type) {
        if (type instanceof org.apache.spark.sql.types.MapType) {
            return true;
        }
        if (type instanceof org.apache.spark.sql.types.ArrayType a) {
            return hasMap(a.elementType());
        }
        return type instanceof StructType st && Arrays.stream(st.fields()).anyMatch(f -> hasMap(f.dataType()));
    }

    /** Whether {@code e} (or a cause) is Delta's "another commit won the race" signal. */
    private static boolean concurrentModification(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof io.delta.exceptions.DeltaConcurrentModificationException) {
                return true;
            }
        }
        return false;
    }

    private static void sleepBeforeRetry(int attempt) {
        try {
            Thread.sleep(Math.min(2000, 50L << Math.min(attempt, 5)) + java.util.concurrent.ThreadLocalRandom.current().nextInt(100));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while retrying a commit", e);
        }
    }

    /** A table's schema (data columns, then partition columns) and partition columns. */
    private record TableMeta(StructType schema, List<String> partitionColumns) {}

    /** The table's committed schema and partition columns, or empty when it has no Delta log yet. */
    private Optional<TableMeta> readMeta(String table) {
        checkTableName(table);
        Path dir = tableDir(table);
        try {
            if (!fs.exists(new Path(dir, DELTA_LOG))) {
                if (fs.exists(new Path(dir, LEGACY_META_FILE))) {
                    throw new IllegalStateException("table " + table + " under " + root + " was written by an earlier"
                            + " Lethe as plain Parquet files (" + LEGACY_META_FILE + "); convert the root to Delta"
                            + " tables once, with: lethe convert-tables --root " + root);
                }
                return Optional.empty();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("table " + table + ": cannot read " + dir, e);
        }
        // The snapshot's metadata action (schema, partition columns): read from the log, without
        // DeltaTable.detail()'s Spark jobs over the table's files.
        org.apache.spark.sql.delta.Snapshot snapshot = org.apache.spark.sql.delta.DeltaLog.forTable(spark, dir)
                .update(false, scala.Option.empty(), scala.Option.empty());
        if (snapshot.version() < 0) {
            return Optional.empty(); // a log directory without a first commit yet
        }
        List<String> partitionColumns = scala.collection.JavaConverters.seqAsJavaList(
                snapshot.metadata().partitionColumns());
        StructType schema = snapshot.metadata().schema();
        List<StructField> ordered = new ArrayList<>();
        for (StructField field : schema.fields()) {
            if (!partitionColumns.contains(field.name())) {
                ordered.add(nullable(field));
            }
        }
        // Partition columns last and in partition order, as Lethe's tables have always read.
        for (String column : partitionColumns) {
            ordered.add(nullable(schema.apply(column)));
        }
        return Optional.of(new TableMeta(new StructType(ordered.toArray(new StructField[0])), List.copyOf(partitionColumns)));
    }

    /** Same partition columns as the table's; existing columns keep their types (case-insensitively). */
    private static void checkCompatible(String table, Optional<TableMeta> existing, StructType written,
            List<String> partitionBy) {
        if (existing.isEmpty()) {
            return;
        }
        if (!existing.get().partitionColumns().equals(partitionBy)) {
            throw new IllegalArgumentException("table " + table + " is partitioned by " + existing.get().partitionColumns()
                    + " but this write partitions by " + partitionBy);
        }
        Map<String, StructField> columns = new LinkedHashMap<>();
        Arrays.stream(existing.get().schema().fields()).forEach(f -> columns.put(lower(f.name()), f));
        for (StructField field : written.fields()) {
            StructField known = columns.get(lower(field.name()));
            if (known != null && !known.dataType().catalogString().equals(field.dataType().catalogString())) {
                throw new IllegalArgumentException("table " + table + ": column " + field.name() + " is "
                        + known.dataType().catalogString() + " in the table but " + field.dataType().catalogString() + " in the rows");
            }
        }
    }

    private static StructField nullable(StructField field) {
        return new StructField(field.name(), field.dataType(), true, field.metadata());
    }

    private static String lower(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    /**
     * Converts every table this root holds in the layout of Lethe before Delta (Parquet directories
     * partitioned by run_id with {@code _lethe_table.json}) into a Delta table with the same rows,
     * types and partition columns; tables already in Delta are left alone. Each table is written
     * under {@code <root>/_convert/}, then swapped in by two renames; the old directory is kept as
     * {@code <root>/_legacy/<table>} for the user to delete. Returns the converted tables.
     */
    public List<String> convertLegacy() {
        List<String> converted = new ArrayList<>();
        try {
            if (!fs.exists(root)) {
                return converted;
            }
            for (FileStatus status : fs.listStatus(root)) {
                String table = status.getPath().getName();
                Path dir = status.getPath();
                Path legacyMeta = new Path(dir, LEGACY_META_FILE);
                if (!status.isDirectory() || !TABLE_NAME.matcher(table).matches() || !fs.exists(legacyMeta)
                        || fs.exists(new Path(dir, DELTA_LOG))) {
                    continue;
                }
                JsonNode json;
                try (java.io.InputStream in = fs.open(legacyMeta)) {
                    json = JSON.readTree(in);
                }
                List<String> partitionColumns = new ArrayList<>();
                json.get("partition_columns").forEach(c -> partitionColumns.add(c.asText()));
                StructType schema = (StructType) DataType.fromJson(json.get("schema").toString());
                Path staged = new Path(new Path(root, "_convert"), table);
                fs.delete(staged, true);
                spark.read().schema(schema).parquet(dir.toString()).write().format("delta").mode(SaveMode.ErrorIfExists)
                        .partitionBy(partitionColumns.toArray(new String[0])).save(staged.toString());
                Path parked = new Path(new Path(root, "_legacy"), table);
                fs.mkdirs(parked.getParent());
                if (fs.exists(parked) || !fs.rename(dir, parked) || !fs.rename(staged, dir)) {
                    throw new IOException("cannot swap " + staged + " in for " + dir + " (old copy: " + parked + ")");
                }
                LOG.info("table {}: converted to Delta; the Parquet files are kept in {}", table, parked);
                converted.add(table);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot convert the tables under " + root, e);
        }
        converted.sort(null);
        return converted;
    }
}
