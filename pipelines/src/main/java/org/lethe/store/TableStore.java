package org.lethe.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lethe's Parquet tables under one root directory, partitioned by {@code run_id}: writes are
 * staged and committed by renaming whole run partitions, so re-running a run replaces its rows
 * and a failed write leaves the table as it was.
 *
 * <p>Layout: {@code <root>/<table>/run_id=<id>/[<col>=<v>/...]part-*.parquet}, plus {@code
 * <root>/<table>/_lethe_table.json} holding the table's Spark schema and partition columns, so
 * that reads keep the written types (partition discovery would read run_id {@code 2024} as an
 * int). Staging happens in {@code <root>/_staging}, on the table's file system, so that the
 * commit is a rename. One writer per (table, run) at a time.
 */
public final class TableStore {
    public static final String RUN_ID = Tables.RUN_ID;

    private static final Logger LOG = LoggerFactory.getLogger(TableStore.class);
    private static final Pattern TABLE_NAME = Pattern.compile("[a-z][a-z0-9_]*");
    private static final String META_FILE = "_lethe_table.json";
    private static final String STAGING_DIR = "_staging";
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
     * had in the table; other runs are untouched. A table keeps the partition columns of its first
     * write; its schema may gain columns (older runs read them as null) but not change a type.
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
     * As {@link #write(String, Dataset, String...)}, but what a write replaces is the directory of
     * the first {@code keyDepth} partition columns ({@code run_id} first); their values must be
     * valid run ids. {@link Runs} uses (run_id, job) so that jobs of one run do not replace each
     * other's rows.
     */
    public void write(String table, Dataset<Row> rows, int keyDepth, String... partitionColumns) {
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
        Optional<TableMeta> existing = readMeta(table);
        TableMeta meta = merge(table, existing, rows.schema(), partitionBy);
        List<String> keyDirs = keyDirs(table, rows, keyColumns);

        Path tableDir = tableDir(table);
        Path staging = new Path(new Path(root, STAGING_DIR), table + "-" + UUID.randomUUID());
        try {
            if (!keyDirs.isEmpty()) {
                rows.write().partitionBy(partitionBy.toArray(new String[0])).parquet(staging.toString());
            }
            // The schema may only widen, so it can go first: older data stays readable with it.
            if (!existing.equals(Optional.of(meta))) {
                writeMeta(table, meta, staging);
            }
            for (String keyDir : keyDirs) {
                swap(new Path(staging, keyDir), new Path(tableDir, keyDir), new Path(new Path(staging, "_replaced"), keyDir));
            }
            LOG.info("table {}: committed {} ({} partition(s))", table, keyDirs, keyDirs.size());
        } catch (IOException e) {
            throw new UncheckedIOException("table " + table + ": cannot commit the write under " + tableDir, e);
        } finally {
            deleteQuietly(staging);
        }
    }

    /** The table's rows, with the column types they were written with. */
    public Dataset<Row> read(String table) {
        checkTableName(table);
        TableMeta meta = readMeta(table).orElseThrow(
                () -> new IllegalArgumentException("no table '" + table + "' under " + root));
        return spark.read().schema(meta.schema()).parquet(tableDir(table).toString());
    }

    /** Whether {@code table} has been written under this root. */
    public boolean exists(String table) {
        checkTableName(table);
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
                if (status.isDirectory() && TABLE_NAME.matcher(name).matches() && fs.exists(new Path(status.getPath(), META_FILE))) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list tables under " + root, e);
        }
        names.sort(null);
        return names;
    }

    /** Registers every table as a temporary view of the same name; returns the names. */
    public List<String> registerAll() {
        List<String> names = tables();
        for (String name : names) {
            read(name).createOrReplaceTempView(name);
        }
        return names;
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
     * The relative directories ({@code run_id=a/job=b}) this write replaces, one per distinct key,
     * after checking every key value is a valid run id.
     */
    private static List<String> keyDirs(String table, Dataset<Row> rows, List<String> keyColumns) {
        Column[] columns = keyColumns.stream().map(functions::col).toArray(Column[]::new);
        List<String> dirs = new ArrayList<>();
        for (Row key : rows.select(columns).distinct().collectAsList()) {
            StringBuilder dir = new StringBuilder();
            for (int i = 0; i < keyColumns.size(); i++) {
                // An integer key (e.g. an evaluated step) is path-safe as its decimal digits.
                String value = key.get(i) instanceof Number n ? Long.toString(n.longValue()) : key.getString(i);
                try {
                    RunIds.validate(value, keyColumns.get(i));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("table " + table + ": " + e.getMessage(), e);
                }
                // No escaping needed: Spark escapes none of [A-Za-z0-9._-] in partition directory names.
                dir.append(i == 0 ? "" : "/").append(keyColumns.get(i)).append('=').append(value);
            }
            dirs.add(dir.toString());
        }
        dirs.sort(null);
        return dirs;
    }

    /** Moves {@code staged} to {@code target}, parking what was there in {@code parked}. */
    private void swap(Path staged, Path target, Path parked) throws IOException {
        if (!fs.exists(staged)) {
            throw new IOException(staged + " was not written: are the rows nondeterministic?");
        }
        fs.mkdirs(target.getParent());
        boolean hadOld = fs.exists(target);
        if (hadOld) {
            fs.mkdirs(parked.getParent());
            rename(target, parked);
        }
        try {
            rename(staged, target);
        } catch (IOException e) {
            if (hadOld) {
                rename(parked, target);
            }
            throw e;
        }
    }

    private void rename(Path from, Path to) throws IOException {
        // FileSystem.rename moves 'from' INTO 'to' when 'to' is a directory; callers ensure it is absent.
        if (!fs.rename(from, to)) {
            throw new IOException("cannot rename " + from + " to " + to);
        }
    }

    private void deleteQuietly(Path path) {
        try {
            fs.delete(path, true);
        } catch (IOException e) {
            LOG.warn("cannot delete staging directory {}: {}", path, e.toString());
        }
    }

    /** A table's schema (data columns, then partition columns) and partition columns. */
    private record TableMeta(StructType schema, List<String> partitionColumns) {}

    private Optional<TableMeta> readMeta(String table) {
        Path file = new Path(tableDir(table), META_FILE);
        try {
            if (!fs.exists(file)) {
                return Optional.empty();
            }
            JsonNode json;
            try (InputStream in = fs.open(file)) {
                json = JSON.readTree(in);
            }
            List<String> partitionColumns = new ArrayList<>();
            json.get("partition_columns").forEach(c -> partitionColumns.add(c.asText()));
            StructType schema = (StructType) DataType.fromJson(json.get("schema").toString());
            return Optional.of(new TableMeta(schema, partitionColumns));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("table " + table + ": cannot read " + file, e);
        }
    }

    /** Replaces the metadata file by an atomic rename of a copy written in {@code staging}. */
    private void writeMeta(String table, TableMeta meta, Path staging) throws IOException {
        ObjectNode json = JSON.createObjectNode();
        json.putArray("partition_columns").addAll(meta.partitionColumns().stream().map(JSON.getNodeFactory()::textNode).toList());
        json.set("schema", JSON.readTree(meta.schema().json()));
        Path temp = new Path(staging, META_FILE);
        try (OutputStream out = fs.create(temp, true)) {
            out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json).getBytes(StandardCharsets.UTF_8));
        }
        Path target = new Path(tableDir(table), META_FILE);
        fs.mkdirs(target.getParent());
        FileContext.getFileContext(root.toUri(), hadoopConf).rename(temp, target, Options.Rename.OVERWRITE);
    }

    /**
     * The table's metadata after this write: same partition columns as before, existing columns
     * with unchanged types, new columns appended; every column nullable, as Parquet reads them.
     */
    private static TableMeta merge(String table, Optional<TableMeta> existing, StructType written, List<String> partitionBy) {
        if (existing.isPresent() && !existing.get().partitionColumns().equals(partitionBy)) {
            throw new IllegalArgumentException("table " + table + " is partitioned by " + existing.get().partitionColumns()
                    + " but this write partitions by " + partitionBy);
        }
        // Spark resolves column names case-insensitively, so a table must not hold both "x" and "X".
        Map<String, StructField> columns = new LinkedHashMap<>();
        existing.ifPresent(meta -> Arrays.stream(meta.schema().fields()).forEach(f -> columns.put(lower(f.name()), f)));
        for (StructField field : written.fields()) {
            StructField known = columns.putIfAbsent(lower(field.name()), field);
            // catalogString leaves out nullability, which Parquet does not keep anyway.
            if (known != null && !known.dataType().catalogString().equals(field.dataType().catalogString())) {
                throw new IllegalArgumentException("table " + table + ": column " + field.name() + " is "
                        + known.dataType().catalogString() + " in the table but " + field.dataType().catalogString() + " in the rows");
            }
        }
        List<StructField> ordered = new ArrayList<>();
        for (StructField field : columns.values()) {
            if (!partitionBy.contains(field.name())) {
                ordered.add(nullable(field));
            }
        }
        // Partition columns last and in partition order: where Spark puts them when reading.
        partitionBy.forEach(column -> ordered.add(nullable(columns.get(lower(column)))));
        return new TableMeta(new StructType(ordered.toArray(new StructField[0])), List.copyOf(partitionBy));
    }

    private static StructField nullable(StructField field) {
        return new StructField(field.name(), field.dataType(), true, field.metadata());
    }

    private static String lower(String name) {
        return name.toLowerCase(Locale.ROOT);
    }
}
