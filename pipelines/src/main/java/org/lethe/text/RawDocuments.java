package org.lethe.text;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.SerializableConfiguration;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Reads raw corpora into documents ({@link TextSchemas#DOCUMENTS}) and rejects
 * ({@link TextSchemas#REJECTS}): plain-text files, one document per file, or JSON Lines, one
 * document per line.
 *
 * <p>The input is a file, a directory (read recursively; only files with the format's extensions,
 * optionally compressed, e.g. {@code .jsonl.gz}; names starting with '.' or '_' are skipped) or a
 * Hadoop glob (every match is read). Paths are relative to the input root: the directory, the
 * glob's fixed leading part, or a file's parent.
 * <ul>
 *   <li>TEXT: doc_id is the file's relative path, line 0, the text is the whole file.
 *   <li>JSONL: doc_id is {@code <relative path>:<line>} (1-based), or the id field's value when
 *       one is configured. Each line is parsed here (not with spark.read().json, which has no line
 *       numbers), so every non-blank line becomes exactly one document or one reject: invalid JSON,
 *       a value that is not an object, a missing or non-string text field, an empty text, a
 *       missing id. Blank lines are not records and are skipped, as JSON Lines readers do.
 * </ul>
 * Files must be UTF-8 (a leading BOM is dropped); a file or line that is not is rejected, never
 * silently repaired. Each task streams whole files, so one JSONL file is read by one task; the
 * documents can be repartitioned afterwards. {@link Result#documents()} and
 * {@link Result#rejects()} each read the files; persist one to read them once.
 */
public final class RawDocuments {

    /** The layout of the input files. */
    public enum Format {
        /** One document per file. */
        TEXT(List.of(".txt")),
        /** One JSON object per line. */
        JSONL(List.of(".jsonl", ".json", ".ndjson"));

        private final List<String> extensions;

        Format(List<String> extensions) {
            this.extensions = extensions;
        }

        /** Extensions a directory's files must have (before a compression suffix). */
        public List<String> extensions() {
            return extensions;
        }
    }

    /** The documents read and the input rows rejected, with file and line. */
    public record Result(Dataset<Row> documents, Dataset<Row> rejects) {}

    /** A whole file larger than this is rejected: a Java string holds fewer than 2^31 chars. */
    static final long MAX_TEXT_BYTES = 1L << 30;
    private static final long BYTES_PER_TASK = 64L << 20;
    private static final List<String> COMPRESSION_SUFFIXES = List.of("", ".gz", ".bz2", ".deflate", ".zst");

    // Documents and rejects in one pass: reason is null for a document.
    private static final StructType READ = new StructType()
            .add("doc_id", DataTypes.StringType, false)
            .add("source_file", DataTypes.StringType, false)
            .add("line", DataTypes.LongType, false)
            .add("text", DataTypes.StringType, true)
            .add("reason", DataTypes.StringType, true)
            .add("detail", DataTypes.StringType, true);

    private final Format format;
    private final String textField;
    private final String idField;
    private final List<String> extensions;

    private RawDocuments(Builder b) {
        this.format = b.format;
        this.textField = b.textField;
        this.idField = b.idField;
        this.extensions = b.extensions != null ? b.extensions : b.format.extensions();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Lists the input's files now (an input that matches no file is an error naming it) and
     * returns lazy datasets that read them on the executors.
     */
    public Result read(SparkSession spark, String input) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        List<InputFile> files = list(conf, input, extensions);
        long bytes = files.stream().mapToLong(InputFile::bytes).sum();
        int slices = (int) Math.max(1, Math.min(files.size(),
                Math.max(spark.sparkContext().defaultParallelism(), (bytes + BYTES_PER_TASK - 1) / BYTES_PER_TASK)));
        List<Row> fileRows = new ArrayList<>();
        for (InputFile f : files) {
            fileRows.add(RowFactory.create(f.path(), f.relative()));
        }
        JavaRDD<Row> rows = JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(fileRows, slices)
                .mapPartitions(new ReadFiles(format, textField, idField,
                        new SerializableConfiguration(new Configuration(conf))));
        Dataset<Row> all = spark.createDataFrame(rows, READ);
        Dataset<Row> documents = all.filter(col("reason").isNull())
                .select("doc_id", "source_file", "line", "text");
        Dataset<Row> rejects = all.filter(col("reason").isNotNull())
                .select(col("doc_id"), col("source_file"), col("line"), col("reason"), col("detail"),
                        col("text").as("raw_text"));
        return new Result(documents, rejects);
    }

    /** A file to read: its qualified path, its path relative to the input root, its size. */
    record InputFile(String path, String relative, long bytes) {}

    /** The files of {@code input}, sorted by path. */
    static List<InputFile> list(Configuration conf, String input, List<String> extensions) {
        Path pattern = new Path(input);
        try {
            FileSystem fs = pattern.getFileSystem(conf);
            FileStatus[] matches = fs.globStatus(pattern);
            if (matches == null || matches.length == 0) {
                throw new IllegalArgumentException(input + ": no such file or directory"
                        + (isGlob(input) ? " (the glob matches nothing)" : ""));
            }
            Path root;
            if (isGlob(input)) {
                root = fs.makeQualified(globRoot(pattern));
            } else {
                root = matches[0].isDirectory() ? matches[0].getPath() : matches[0].getPath().getParent();
            }
            TreeMap<String, InputFile> files = new TreeMap<>();
            for (FileStatus match : matches) {
                if (match.isFile()) {
                    add(files, root, match);
                    continue;
                }
                RemoteIterator<LocatedFileStatus> it = fs.listFiles(match.getPath(), true);
                while (it.hasNext()) {
                    LocatedFileStatus f = it.next();
                    String rel = relative(root, f.getPath());
                    if (!hidden(rel) && hasExtension(f.getPath().getName(), extensions)) {
                        add(files, root, f);
                    }
                }
            }
            if (files.isEmpty()) {
                throw new IllegalArgumentException(input + ": no input files (expected files ending in "
                        + String.join(", ", extensions) + ", optionally compressed, e.g. .gz)");
            }
            return new ArrayList<>(files.values());
        } catch (IOException e) {
            throw new UncheckedIOException(input + ": cannot list: " + e.getMessage(), e);
        }
    }

    private static void add(TreeMap<String, InputFile> files, Path root, FileStatus f) {
        files.put(f.getPath().toString(), new InputFile(f.getPath().toString(), relative(root, f.getPath()), f.getLen()));
    }

    private static boolean isGlob(String input) {
        return input.matches(".*[*?\\[\\]{}].*");
    }

    /** The glob's leading directories without wildcards. */
    private static Path globRoot(Path pattern) {
        Path root = pattern;
        for (Path p = pattern; p != null; p = p.getParent()) {
            if (isGlob(p.getName())) {
                root = p.getParent();
            }
        }
        return root;
    }

    private static String relative(Path root, Path file) {
        String r = root.toUri().getPath();
        String f = file.toUri().getPath();
        if (!r.endsWith("/")) {
            r = r + "/";
        }
        return f.startsWith(r) ? f.substring(r.length()) : file.getName();
    }

    private static boolean hidden(String relative) {
        for (String part : relative.split("/")) {
            if (part.startsWith(".") || part.startsWith("_")) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasExtension(String name, List<String> extensions) {
        String lower = name.toLowerCase(Locale.ROOT);
        for (String ext : extensions) {
            for (String compression : COMPRESSION_SUFFIXES) {
                if (lower.endsWith(ext.toLowerCase(Locale.ROOT) + compression)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Reads a partition's files into document and reject rows, one file at a time. */
    private static final class ReadFiles implements FlatMapFunction<Iterator<Row>, Row> {
        private static final long serialVersionUID = 1L;

        private final Format format;
        private final String textField;
        private final String idField;
        private final SerializableConfiguration conf;

        ReadFiles(Format format, String textField, String idField, SerializableConfiguration conf) {
            this.format = format;
            this.textField = textField;
            this.idField = idField;
            this.conf = conf;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> files) {
            FileReader reader = format == Format.TEXT ? new TextFileReader() : new JsonlFileReader(textField, idField);
            CompressionCodecFactory codecs = new CompressionCodecFactory(conf.value());
            List<Closeable> open = new ArrayList<>();
            TaskContext task = TaskContext.get();
            if (task != null) {
                // Closes the current file also when the task fails or a limit stops reading early.
                task.addTaskCompletionListener((TaskCompletionListener) ctx -> closeAll(open));
            }
            return new Iterator<>() {
                private Iterator<Row> current = Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    while (!current.hasNext() && files.hasNext()) {
                        closeAll(open);
                        Row file = files.next();
                        Path path = new Path(file.getString(0));
                        try {
                            FileSystem fs = path.getFileSystem(conf.value());
                            InputStream in = fs.open(path);
                            open.add(in);
                            CompressionCodec codec = codecs.getCodec(path);
                            if (codec != null) {
                                in = codec.createInputStream(in);
                                open.add(in);
                            }
                            current = reader.rows(in, file.getString(0), file.getString(1));
                        } catch (IOException e) {
                            throw new UncheckedIOException(path + ": cannot read: " + e.getMessage(), e);
                        }
                    }
                    return current.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return current.next();
                }
            };
        }
    }

    /** Closes the streams, outermost (last opened) first, and forgets them. */
    private static void closeAll(List<Closeable> open) {
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (IOException ignored) {
                // Closing after reading: nothing was lost.
            }
        }
        open.clear();
    }

    /** Turns one open file into rows of {@link #READ}. */
    private interface FileReader {
        Iterator<Row> rows(InputStream in, String sourceFile, String relative) throws IOException;
    }

    private static Row document(String docId, String sourceFile, long line, String text) {
        return RowFactory.create(docId, sourceFile, line, text, null, null);
    }

    private static Row reject(String docId, String sourceFile, long line, String raw, String reason, String detail) {
        return RowFactory.create(docId, sourceFile, line, raw, reason, detail);
    }

    /** One document per file. */
    private static final class TextFileReader implements FileReader {
        @Override
        public Iterator<Row> rows(InputStream in, String sourceFile, String relative) throws IOException {
            byte[] bytes = in.readNBytes((int) MAX_TEXT_BYTES + 1);
            if (bytes.length > MAX_TEXT_BYTES) {
                return List.of(reject(relative, sourceFile, 0, null, TextSchemas.TOO_LARGE,
                        "larger than " + MAX_TEXT_BYTES + " bytes")).iterator();
            }
            Decoded text = Decoded.utf8(bytes);
            Row row;
            if (text.error() != null) {
                row = reject(relative, sourceFile, 0, text.text(), TextSchemas.INVALID_UTF8, text.error());
            } else if (text.text().isBlank()) {
                row = reject(relative, sourceFile, 0, text.text(), TextSchemas.EMPTY_TEXT,
                        "the file is empty or only whitespace");
            } else {
                row = document(relative, sourceFile, 0, text.text());
            }
            return List.of(row).iterator();
        }
    }

    /** One document per JSON line, parsed lazily as the task consumes rows. */
    private static final class JsonlFileReader implements FileReader {
        // Strict: "{...} junk" and duplicate keys are invalid lines, not silently half-read.
        private final ObjectMapper json = new ObjectMapper()
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        private final String textField;
        private final String idField;

        JsonlFileReader(String textField, String idField) {
            this.textField = textField;
            this.idField = idField;
        }

        @Override
        public Iterator<Row> rows(InputStream in, String sourceFile, String relative) {
            LineReader lines = new LineReader(in);
            return new Iterator<>() {
                private long number;
                private Row next;

                @Override
                public boolean hasNext() {
                    try {
                        while (next == null) {
                            byte[] bytes = lines.next();
                            if (bytes == null) {
                                return false;
                            }
                            number++;
                            next = parse(bytes, number, sourceFile, relative);
                        }
                        return true;
                    } catch (IOException e) {
                        throw new UncheckedIOException(sourceFile + ": cannot read line " + (number + 1)
                                + ": " + e.getMessage(), e);
                    }
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Row row = next;
                    next = null;
                    return row;
                }
            };
        }

        /** The row of one line, or null for a blank line. */
        private Row parse(byte[] bytes, long line, String sourceFile, String relative) {
            String lineId = relative + ":" + line;
            Decoded decoded = Decoded.utf8(bytes);
            String raw = decoded.text();
            if (decoded.error() != null) {
                return reject(lineId, sourceFile, line, raw, TextSchemas.INVALID_UTF8, decoded.error());
            }
            if (raw.isBlank()) {
                return null;
            }
            JsonNode node;
            try {
                node = json.readTree(raw);
            } catch (JsonProcessingException e) {
                String where = e.getLocation() == null ? "" : " at column " + e.getLocation().getColumnNr();
                return reject(lineId, sourceFile, line, raw, TextSchemas.INVALID_JSON,
                        e.getOriginalMessage() + where);
            }
            if (!node.isObject()) {
                return reject(lineId, sourceFile, line, raw, TextSchemas.NOT_AN_OBJECT,
                        "expected a JSON object, got " + kindOf(node));
            }
            String docId = lineId;
            if (idField != null) {
                JsonNode id = node.get(idField);
                if (id == null || id.isNull() || !(id.isTextual() || id.isNumber()) || id.asText().isBlank()) {
                    return reject(lineId, sourceFile, line, raw, TextSchemas.MISSING_ID,
                            "field '" + idField + "' is " + (id == null ? "absent" : kindOf(id))
                                    + ", expected a non-empty string or a number");
                }
                docId = id.asText();
            }
            JsonNode text = node.get(textField);
            if (text == null || text.isNull()) {
                return reject(docId, sourceFile, line, raw, TextSchemas.MISSING_TEXT,
                        "field '" + textField + "' is " + (text == null ? "absent" : "null"));
            }
            if (!text.isTextual()) {
                return reject(docId, sourceFile, line, raw, TextSchemas.TEXT_NOT_STRING,
                        "field '" + textField + "' is " + kindOf(text) + ", expected a string");
            }
            if (text.textValue().isBlank()) {
                return reject(docId, sourceFile, line, raw, TextSchemas.EMPTY_TEXT,
                        "field '" + textField + "' is empty or only whitespace");
            }
            return document(docId, sourceFile, line, text.textValue());
        }

        private static String kindOf(JsonNode node) {
            if (node.isNull()) {
                return "null";
            }
            return switch (node.getNodeType()) {
                case ARRAY -> "an array";
                case OBJECT -> "an object";
                case NUMBER -> "a number";
                case BOOLEAN -> "a boolean";
                case STRING -> node.textValue().isBlank() ? "an empty string" : "a string";
                default -> node.getNodeType().toString().toLowerCase(Locale.ROOT);
            };
        }
    }

    /** Text decoded as UTF-8, with the first malformed byte's offset (and U+FFFD for it) when invalid. */
    record Decoded(String text, String error) {
        /** {@code bytes} as UTF-8 without a leading byte order mark. */
        static Decoded utf8(byte[] bytes) {
            CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            ByteBuffer in = ByteBuffer.wrap(bytes);
            CharBuffer out = CharBuffer.allocate(bytes.length);
            CoderResult result = strict.decode(in, out, true);
            if (result.isError()) {
                String error = "not valid UTF-8 at byte " + in.position();
                String lenient = new String(bytes, StandardCharsets.UTF_8);
                return new Decoded(lenient.startsWith("\uFEFF") ? lenient.substring(1) : lenient, error);
            }
            strict.flush(out);
            out.flip();
            String text = out.toString();
            return new Decoded(text.startsWith("\uFEFF") ? text.substring(1) : text, null);
        }
    }

    /** Splits a stream into lines at '\n' (a trailing '\r' dropped), as raw bytes. */
    static final class LineReader {
        private final InputStream in;
        private final byte[] buffer = new byte[1 << 16];
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private int pos;
        private int limit;
        private boolean eof;

        LineReader(InputStream in) {
            this.in = in;
        }

        /** The next line without its terminator, or null at the end of the stream. */
        byte[] next() throws IOException {
            line.reset();
            boolean any = false;
            while (true) {
                if (pos == limit) {
                    if (eof) {
                        break;
                    }
                    limit = in.read(buffer);
                    pos = 0;
                    if (limit <= 0) {
                        limit = 0;
                        eof = true;
                        break;
                    }
                }
                any = true;
                int start = pos;
                while (pos < limit && buffer[pos] != '\n') {
                    pos++;
                }
                line.write(buffer, start, pos - start);
                if (pos < limit) {
                    pos++; // the '\n'
                    return trimCr(line.toByteArray());
                }
            }
            return any && line.size() > 0 ? trimCr(line.toByteArray()) : null;
        }

        private static byte[] trimCr(byte[] bytes) {
            int n = bytes.length;
            return n > 0 && bytes[n - 1] == '\r' ? Arrays.copyOf(bytes, n - 1) : bytes;
        }
    }

    /** Builds a {@link RawDocuments} reader: {@code setX} for required values, {@code optX} for optional ones. */
    public static final class Builder {
        private Format format;
        private String textField = "text";
        private String idField;
        private List<String> extensions;

        private Builder() {}

        public Builder setFormat(Format format) {
            this.format = format;
            return this;
        }

        /** JSONL: the field holding the document text; default "text". */
        public Builder optTextField(String textField) {
            this.textField = textField;
            return this;
        }

        /** JSONL: a field holding the document id (string or number); default none: {@code <file>:<line>}. */
        public Builder optIdField(String idField) {
            this.idField = idField;
            return this;
        }

        /** Extensions of the files read from a directory; default the format's. */
        public Builder optExtensions(List<String> extensions) {
            this.extensions = List.copyOf(extensions);
            return this;
        }

        public RawDocuments build() {
            Objects.requireNonNull(format, "RawDocuments: setFormat is required");
            if (textField == null || textField.isEmpty()) {
                throw new IllegalArgumentException("RawDocuments: the text field name must not be empty");
            }
            if (idField != null && idField.isEmpty()) {
                throw new IllegalArgumentException("RawDocuments: the id field name must not be empty (null for none)");
            }
            if (extensions != null && extensions.isEmpty()) {
                throw new IllegalArgumentException("RawDocuments: extensions must not be empty");
            }
            return new RawDocuments(this);
        }
    }
}
