package org.lethe.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.monotonically_increasing_id;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.when;

/**
 * The ingest job: corpora (TOFU layout, generic question/answer files) become the {@code examples},
 * {@code memberships}, {@code rejects} and {@code refusals} tables. Every input row ends as exactly
 * one membership or one reject; all work runs on executors and the tables are committed only after
 * every check passed.
 */
public final class IngestJob {

    private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Input layouts. */
    public enum Format {
        TOFU, QA, TEXT;

        public static Format parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--format: unknown '" + s + "' (expected tofu, qa or text)");
            }
        }
    }

    /** Counts of one ingest, printed as the job's JSON result. */
    public record Summary(String runId, String dataset, long read, long memberships, long examples,
            long rejected, Map<String, Long> rejectedByReason, Map<String, Long> membershipsBySplit,
            long refusals, List<String> files, List<String> skipped, String dataFingerprint) implements JobResult {

        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("dataset", dataset);
            o.put("read", read);
            o.put("memberships", memberships);
            o.put("examples", examples);
            o.put("rejected", rejected);
            ObjectNode reasons = o.putObject("rejected_by_reason");
            rejectedByReason.forEach(reasons::put);
            ObjectNode splits = o.putObject("memberships_by_split");
            membershipsBySplit.forEach(splits::put);
            o.put("refusals", refusals);
            files.forEach(o.putArray("files")::add);
            skipped.forEach(o.putArray("skipped")::add);
            o.put("data_fingerprint", dataFingerprint);
            return o;
        }
    }

    /** Raised by {@code --strict} when anything was rejected; no table was written. */
    public static final class RejectedRowsException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Summary summary;

        RejectedRowsException(Summary summary) {
            super("--strict: " + summary.rejected() + " of " + summary.read() + " rows rejected "
                    + summary.rejectedByReason() + "; no table was written");
            this.summary = summary;
        }

        public Summary summary() {
            return summary;
        }
    }

    public static final StructType EXAMPLES = new StructType()
            .add("run_id", DataTypes.StringType, false)
            .add("dataset", DataTypes.StringType, false)
            .add("sample_id", DataTypes.StringType, false)
            .add("author_id", DataTypes.LongType, true)
            .add("question", DataTypes.StringType, false)
            .add("answer", DataTypes.StringType, false)
            .add("paraphrased_answer", DataTypes.StringType, true)
            .add("perturbed_answers", DataTypes.createArrayType(DataTypes.StringType, false), true)
            .add("paraphrased_question", DataTypes.StringType, true)
            .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
            .add("prompt_tokens", DataTypes.IntegerType, true)
            .add("tokenizer_sha256", DataTypes.StringType, true);

    private final SparkSession spark;
    private final TableStore store;

    public IngestJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /** Runs the ingest as run {@code runId} and commits its tables; throws before writing anything on failure. */
    public Summary run(IngestRequest request, String runId) {
        Inputs inputs = switch (request.format()) {
            case TOFU -> tofuInputs(request, runId);
            case QA -> qaInputs(request);
            case TEXT -> textInputs(request);
        };
        if (inputs.parsed().isEmpty()) {
            throw new IllegalArgumentException(request.input() + ": no recognised input file (skipped: "
                    + inputs.skipped() + ")");
        }
        Dataset<Row> parsed = inputs.parsed().stream().reduce(Dataset::unionByName).orElseThrow()
                .withColumn("sample_id", when(col("reason").isNull(),
                        sha2(concat(col("question"), lit("\u0000"), col("answer")), 256)))
                // A unique row key: passages of one document share (source_file, line).
                .withColumn("row_key", monotonically_increasing_id())
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            return finish(request, runId, inputs, parsed);
        } finally {
            parsed.unpersist();
        }
    }

    private Summary finish(IngestRequest request, String runId, Inputs inputs, Dataset<Row> parsed) {
        String dataset = request.dataset();
        Dataset<Row> rejected = parsed.filter(col("reason").isNotNull());
        Dataset<Row> ok = parsed.filter(col("reason").isNull());

        // A sample twice in one split: the first occurrence by line stays.
        Dataset<Row> ranked = ok.withColumn("occurrence", row_number().over(
                Window.partitionBy("split", "sample_id").orderBy("source_file", "line", "passage")));
        rejected = rejected.unionByName(ranked.filter(col("occurrence").gt(1)).drop("occurrence")
                .withColumn("reason", lit("duplicate_in_split")));
        ok = ranked.filter(col("occurrence").equalTo(1)).drop("occurrence");

        // Nothing may be in a forget split and its paired retain split, nor held out and trained on.
        List<String> splits = inputs.splits();
        Dataset<Row> conflicts = null;
        for (String forget : splits) {
            Optional<String> retain = TofuLayout.pairedRetain(forget);
            if (retain.isPresent() && splits.contains(retain.get())) {
                Dataset<Row> forgetIds = ok.filter(col("split").equalTo(forget)).select("sample_id");
                Dataset<Row> bad = ok.filter(col("split").equalTo(retain.get()))
                        .join(forgetIds, ok.col("sample_id").equalTo(forgetIds.col("sample_id")), "left_semi")
                        .withColumn("reason", lit("overlaps_" + forget));
                conflicts = conflicts == null ? bad : conflicts.unionByName(bad);
            }
        }
        Object[] training = splits.stream().filter(TofuLayout::isTraining).toArray();
        Object[] holdout = splits.stream().filter(TofuLayout::isHoldout).toArray();
        Dataset<Row> trainingIds = ok.filter(col("split").isin(training)).select("sample_id").distinct();
        Dataset<Row> heldOutTrained = ok.filter(col("split").isin(holdout))
                .join(trainingIds, ok.col("sample_id").equalTo(trainingIds.col("sample_id")), "left_semi")
                .withColumn("reason", lit("holdout_in_training_data"));
        conflicts = conflicts == null ? heldOutTrained : conflicts.unionByName(heldOutTrained);
        rejected = rejected.unionByName(conflicts);
        ok = ok.join(conflicts.select("row_key"), scalaSeq("row_key"), "left_anti");

        // Length limits: characters without a model, tokens (TOFU's encoding) with one.
        Dataset<Row> examples = examples(ok, dataset, runId, inputs.rowsPerAuthor());
        String tokenizerSha = null;
        if (request.model() != null) {
            tokenizerSha = org.lethe.store.Fingerprints.sha256(new Path(request.model(), "tokenizer.json"),
                    spark.sparkContext().hadoopConfiguration());
            examples = tokenize(examples, request, tokenizerSha, inputs.plainText());
            int maxTokens = request.maxTokens();
            Dataset<Row> tooLong = examples.filter(expr("size(input_ids) > " + maxTokens)).select("sample_id");
            rejected = rejected.unionByName(ok.join(tooLong, scalaSeq("sample_id"), "left_semi")
                    .withColumn("reason", lit("too_long:tokens>" + maxTokens)));
            ok = ok.join(tooLong, scalaSeq("sample_id"), "left_anti");
            examples = examples.join(tooLong, scalaSeq("sample_id"), "left_anti");
        } else {
            int maxChars = request.maxChars();
            Column tooLong = length(col("question")).plus(length(col("answer"))).gt(maxChars);
            rejected = rejected.unionByName(ok.filter(tooLong).withColumn("reason", lit("too_long:chars>" + maxChars)));
            ok = ok.filter(tooLong.unary_$bang());
            examples = examples.filter(length(col("question")).plus(length(col("answer"))).leq(maxChars));
        }

        Dataset<Row> memberships = ok.select(lit(runId).as("run_id"), lit(dataset).as("dataset"),
                col("split"), col("sample_id"), col("source_file"), col("line"), col("passage"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> rejects = rejected.select(lit(runId).as("run_id"), lit(dataset).as("dataset"),
                col("split"), col("source_file"), col("line"), col("reason"), col("raw"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        examples = examples.persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long read = parsed.count();
            long kept = memberships.count();
            long bad = rejects.count();
            if (read != kept + bad) {
                throw new IllegalStateException("ingest lost rows: read " + read + " != memberships " + kept
                        + " + rejects " + bad);
            }
            Map<String, Long> byReason = countBy(rejects, "reason");
            Map<String, Long> bySplit = countBy(memberships, "split");
            long refusals = inputs.refusals() == null ? 0 : inputs.refusals().count();
            Row fp = memberships.agg(expr("sum(xxhash64(split, sample_id, source_file, line))"), count(lit(1))).head();
            String fingerprint = fingerprint(dataset, inputs.files(), fp.isNullAt(0) ? 0 : fp.getLong(0), tokenizerSha);
            Summary summary = new Summary(runId, dataset, read, kept, examples.count(), bad, byReason,
                    bySplit, refusals, inputs.files(), inputs.skipped(), fingerprint);
            if (request.strict() && bad > 0) {
                throw new RejectedRowsException(summary);
            }
            store.write(Tables.EXAMPLES, examples, "dataset");
            store.write(Tables.MEMBERSHIPS, memberships, "dataset", "split");
            store.write(Tables.REJECTS, rejects, "dataset");
            if (inputs.refusals() != null) {
                store.write(Tables.REFUSALS, inputs.refusals(), "dataset");
            }
            LOG.info("ingest {}: {} rows read, {} memberships, {} rejected {}", dataset, read, kept, bad, byReason);
            return summary;
        } finally {
            memberships.unpersist();
            rejects.unpersist();
            examples.unpersist();
        }
    }

    /** One row per sample: first question/answer, author from {@code full}, variants merged. */
    private Dataset<Row> examples(Dataset<Row> ok, String dataset, String runId, int rowsPerAuthor) {
        // Deterministic choice among files: the variant of the first (file, line) that has one.
        String order = "named_struct('f', source_file, 'l', line)";
        return ok.groupBy("sample_id").agg(
                expr("min_by(question, " + order + ")").as("question"),
                expr("min_by(answer, " + order + ")").as("answer"),
                expr("min(CASE WHEN split = 'full' THEN floor((line - 1) / " + rowsPerAuthor + ") END)")
                        .cast(DataTypes.LongType).as("author_id"),
                expr("min_by(paraphrased_answer, CASE WHEN paraphrased_answer IS NOT NULL THEN " + order + " END)")
                        .as("paraphrased_answer"),
                expr("min_by(perturbed_answers, CASE WHEN perturbed_answers IS NOT NULL THEN " + order + " END)")
                        .as("perturbed_answers"),
                expr("min_by(paraphrased_question, CASE WHEN paraphrased_question IS NOT NULL THEN " + order + " END)")
                        .as("paraphrased_question"))
                .select(lit(runId).as("run_id"), lit(dataset).as("dataset"), col("sample_id"), col("author_id"),
                        col("question"), col("answer"), col("paraphrased_answer"), col("perturbed_answers"),
                        col("paraphrased_question"),
                        lit(null).cast(DataTypes.createArrayType(DataTypes.IntegerType, false)).as("input_ids"),
                        lit(null).cast(DataTypes.IntegerType).as("prompt_tokens"),
                        lit(null).cast(DataTypes.StringType).as("tokenizer_sha256"));
    }

    /** TOFU's encoding of every example with the model's tokenizer, on the executors. */
    private Dataset<Row> tokenize(Dataset<Row> examples, IngestRequest request, String tokenizerSha,
            boolean plainText) {
        // Plain text trains on every token: an empty template masks only BOS.
        PromptTemplate template = plainText ? new PromptTemplate("", "", "") : request.template();
        return SampleEncoder.encode(spark, examples, request.model(), template, tokenizerSha);
    }

    // ---- inputs

    /** @param plainText rows are passages (question empty), encoded as BOS + text + EOS */
    private record Inputs(List<Dataset<Row>> parsed, List<String> splits, List<String> files,
            List<String> skipped, Dataset<Row> refusals, int rowsPerAuthor, boolean plainText) {}

    private Inputs tofuInputs(IngestRequest request, String runId) {
        Path root = new Path(request.input());
        List<Dataset<Row>> parsed = new ArrayList<>();
        List<JsonSources.Source> sources = new ArrayList<>();
        List<String> splits = new ArrayList<>();
        List<String> files = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        Dataset<Row> refusals = null;
        QaRecordParser parser = QaRecordParser.tofu();
        for (FileStatus f : list(root)) {
            String name = f.getPath().getName();
            Optional<TofuLayout.Entry> entry = f.isDirectory() ? Optional.empty() : TofuLayout.recognise(name);
            if (entry.isEmpty()) {
                skipped.add(name + (f.isDirectory() ? "/" : ""));
                continue;
            }
            files.add(name);
            if (entry.get().kind() == TofuLayout.Kind.REFUSALS) {
                refusals = refusals(f.getPath(), name, runId, request.dataset());
            } else {
                splits.add(entry.get().split());
                sources.add(new JsonSources.Source(f.getPath(), name, entry.get().split(), f.getLen()));
            }
        }
        if (!sources.isEmpty()) {
            parsed.add(JsonSources.readAll(spark, sources, parser, request.wholeFileMaxBytes()));
        }
        return new Inputs(parsed, splits, files, skipped, refusals, rowsPerAuthor(root, request.rowsPerAuthor()),
                false);
    }

    private Inputs qaInputs(IngestRequest request) {
        Path root = new Path(request.input());
        List<Dataset<Row>> parsed = new ArrayList<>();
        List<String> splits = new ArrayList<>();
        List<String> files = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        QaRecordParser parser = new QaRecordParser(request.questionField(), request.answerField());
        List<JsonSources.Source> jsonSources = new ArrayList<>();
        for (FileStatus f : list(root)) {
            String name = f.getPath().getName();
            String lower = name.toLowerCase(Locale.ROOT);
            int dot = name.lastIndexOf('.');
            String split = request.split() != null ? request.split() : dot > 0 ? name.substring(0, dot) : name;
            if (f.isDirectory() || name.startsWith(".") || name.startsWith("_")) {
                skipped.add(name + (f.isDirectory() ? "/" : ""));
            } else if (lower.endsWith(".jsonl") || lower.endsWith(".json")) {
                jsonSources.add(new JsonSources.Source(f.getPath(), name, split, f.getLen()));
            } else if (lower.endsWith(".parquet") || lower.endsWith(".csv")) {
                parsed.add(TabularSources.read(spark, f.getPath(), name, split, parser, lower.endsWith(".csv")));
            } else {
                skipped.add(name);
                continue;
            }
            if (!skipped.contains(name) && !skipped.contains(name + "/")) {
                files.add(name);
                if (!splits.contains(split)) {
                    splits.add(split);
                }
            }
        }
        if (!jsonSources.isEmpty()) {
            parsed.add(JsonSources.readAll(spark, jsonSources, parser, request.wholeFileMaxBytes()));
        }
        return new Inputs(parsed, splits, files, skipped, null, request.rowsPerAuthor(), false);
    }

    /**
     * Raw documents (txt files, or JSONL with a text field) cut by Spark NLP into passages of at
     * most {@code ingest.text.max_passage_tokens} model tokens; each passage is one sample (empty
     * question, the passage as answer) of the split {@code --split} or its file's stem. A document
     * that yields no passage is one reject.
     */
    private Inputs textInputs(IngestRequest request) {
        // IngestRequest.of guarantees a model with --format text.
        org.lethe.text.RawDocuments.Result raw = org.lethe.text.RawDocuments.builder()
                .setFormat(request.textFormat())
                .optTextField(request.textField())
                .build().read(spark, request.input());
        org.lethe.text.TextPassages.Result cut = org.lethe.text.TextPassages.builder()
                .setModelDir(request.model())
                .setMaxTokens(request.maxPassageTokens())
                .build().run(raw.documents());
        Column split = request.split() != null ? lit(request.split())
                : expr("regexp_replace(substring_index(source_file, '/', -1), '[.][^.]*$', '')");
        Dataset<Row> passages = cut.passages().select(col("source_file"), col("line"), split.as("split"),
                lit(null).cast(DataTypes.StringType).as("reason"), col("text").as("raw"), lit("").as("question"),
                col("text").as("answer"), lit(null).cast(DataTypes.StringType).as("paraphrased_answer"),
                lit(null).cast(DataTypes.createArrayType(DataTypes.StringType, false)).as("perturbed_answers"),
                lit(null).cast(DataTypes.StringType).as("paraphrased_question"), col("passage_index").as("passage"));
        Dataset<Row> rejects = raw.rejects().unionByName(cut.rejects()).select(col("source_file"), col("line"),
                split.as("split"), col("reason"), col("raw_text").as("raw"), lit(null).cast(DataTypes.StringType).as("question"),
                lit(null).cast(DataTypes.StringType).as("answer"), lit(null).cast(DataTypes.StringType).as("paraphrased_answer"),
                lit(null).cast(DataTypes.createArrayType(DataTypes.StringType, false)).as("perturbed_answers"),
                lit(null).cast(DataTypes.StringType).as("paraphrased_question"), lit(null).cast(DataTypes.IntegerType).as("passage"));
        return new Inputs(List.of(passages.unionByName(rejects)), List.of(), List.of(request.input()), List.of(), null,
                request.rowsPerAuthor(), true);
    }

    private Dataset<Row> refusals(Path file, String name, String runId, String dataset) {
        JavaRDD<Row> rows = JsonSources.lines(spark, file).map(t -> RowFactory.create(runId, dataset, name, t._2(),
                new String(t._1(), StandardCharsets.UTF_8).strip()));
        return spark.createDataFrame(rows, new StructType()
                .add("run_id", DataTypes.StringType, false)
                .add("dataset", DataTypes.StringType, false)
                .add("source_file", DataTypes.StringType, false)
                .add("line", DataTypes.LongType, false)
                .add("text", DataTypes.StringType, false));
    }

    /** Rows per author in {@code full}: the generator's manifest says, else {@code configured} (TOFU: 20). */
    private int rowsPerAuthor(Path root, int configured) {
        Path manifest = new Path(root, "manifest.json");
        try {
            FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (fs.exists(manifest)) {
                try (var in = fs.open(manifest)) {
                    var node = JSON.readTree(in).get("questions_per_author");
                    if (node != null && node.canConvertToInt() && node.asInt() > 0) {
                        return node.asInt();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(manifest + ": cannot read: " + e.getMessage(), e);
        }
        return configured;
    }

    private List<FileStatus> list(Path root) {
        try {
            FileSystem fs = root.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(root)) {
                throw new IllegalArgumentException("--input " + root + ": no such file or directory");
            }
            FileStatus status = fs.getFileStatus(root);
            List<FileStatus> all = new ArrayList<>(status.isDirectory() ? Arrays.asList(fs.listStatus(root))
                    : List.of(status));
            all.sort((a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
            return all;
        } catch (IOException e) {
            throw new UncheckedIOException("--input " + root + ": cannot list: " + e.getMessage(), e);
        }
    }

    /** Order-independent digest of what was ingested: dataset, files, memberships, tokenizer. */
    private static String fingerprint(String dataset, List<String> files, long membershipHash, String tokenizerSha) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((dataset + "\n" + String.join("\n", files) + "\n" + membershipHash + "\n" + tokenizerSha)
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, Long> countBy(Dataset<Row> rows, String column) {
        Map<String, Long> out = new TreeMap<>();
        for (Row r : rows.groupBy(column).count().collectAsList()) {
            out.put(r.getString(0), r.getLong(1));
        }
        return new LinkedHashMap<>(out);
    }

    private static scala.collection.Seq<String> scalaSeq(String... names) {
        return scala.collection.JavaConverters.asScalaBuffer(Arrays.asList(names)).toSeq();
    }
}
