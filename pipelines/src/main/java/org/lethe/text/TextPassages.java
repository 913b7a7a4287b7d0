package org.lethe.text;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;

import com.johnsnowlabs.nlp.DocumentAssembler;
import com.johnsnowlabs.nlp.annotators.DocumentNormalizer;
import com.johnsnowlabs.nlp.annotators.sbd.pragmatic.SentenceDetector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Turns raw documents into passages of at most {@code maxTokens} model tokens: a rule-based
 * Spark NLP pipeline strips markup and splits sentences, then each executor packs consecutive
 * sentences greedily, counting tokens with the model's own tokenizer.
 *
 * <p>Stages, per document ({@link TextSchemas#DOCUMENTS} in):
 * <ol>
 *   <li>A null, empty or whitespace-only text is rejected ({@link TextSchemas#EMPTY_TEXT}).
 *   <li>DocumentAssembler, then DocumentNormalizer replaces the separator patterns (block tags,
 *       comments, script/style elements) with a space, then a second DocumentNormalizer deletes
 *       the remove patterns (inline tags such as {@code <b>}, so "<b>Hel</b>lo" stays one word)
 *       and collapses whitespace.
 *   <li>{@link HtmlEntities} decodes character references (the normalizer can only replace a
 *       match with one fixed string), then whitespace (Unicode, so a decoded {@code &nbsp;} too)
 *       is collapsed to single spaces and trimmed: the document's clean text. A document with
 *       nothing left is rejected ({@link TextSchemas#EMPTY_AFTER_NORMALIZATION}).
 *   <li>SentenceDetector (Pragmatic Segmenter rules with its abbreviation list, no model; list
 *       detection off by default) proposes
 *       sentence starts; the sentences are the exact pieces of the clean text between the starts
 *       that follow a space, so they joined by single spaces are exactly the clean text.
 *   <li>{@link PassagePacker} packs them; see there for how tokens are counted and how a sentence
 *       longer than the limit is cut.
 * </ol>
 * Every input document ends up either with at least one passage or with exactly one reject.
 * {@link Result#passages()} and {@link Result#rejects()} each evaluate the pipeline up to the
 * clean text (rule-based, cheap); persist the input to read it only once.
 */
public final class TextPassages {

    /** Inline elements: their tags are deleted so the words around them stay as written. */
    private static final String INLINE_TAGS = "a|abbr|acronym|b|bdi|bdo|big|cite|code|data|del|dfn"
            + "|em|font|i|ins|kbd|mark|nobr|q|s|samp|small|span|strike|strong|sub|sup|time|tt|u|var|wbr";

    /** Default patterns replaced by a space: markup that separates the text around it. */
    public static final List<String> DEFAULT_SEPARATOR_PATTERNS = List.of(
            "(?is:<script\\b.*?</script\\s*>)",
            "(?is:<style\\b.*?</style\\s*>)",
            "(?s:<!--.*?-->)",
            "(?s:<!\\[CDATA\\[.*?\\]\\]>)",
            "<\\?[^<>]*\\?>",
            "(?i:<!?/?(?!(?:" + INLINE_TAGS + ")\\b)[a-z][^<>]*>)");

    /** Default patterns deleted: tags of inline elements. */
    public static final List<String> DEFAULT_REMOVE_PATTERNS = List.of(
            "(?i:</?(?:" + INLINE_TAGS + ")\\b[^<>]*>)");

    private static final Pattern WHITESPACE = Pattern.compile("(?U)\\s+");
    private static final String BLANK = "\\A\\s*\\z";

    /** Passages ({@link TextSchemas#PASSAGES}) and rejected documents ({@link TextSchemas#REJECTS}). */
    public record Result(Dataset<Row> passages, Dataset<Row> rejects) {}

    private final ExecutorTokenizer tokenizer;
    private final int maxTokens;
    private final String separatorPattern;
    private final String removePattern;
    private final boolean useAbbreviations;
    private final boolean detectLists;

    private TextPassages(Builder b) {
        this.tokenizer = b.tokenizer;
        this.maxTokens = b.maxTokens;
        this.separatorPattern = combine("separator", b.separatorPatterns);
        this.removePattern = combine("remove", b.removePatterns);
        this.useAbbreviations = b.useAbbreviations;
        this.detectLists = b.detectLists;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The passages of {@code documents} and the documents that produced none. Lazy: nothing runs
     * until an action; token counting happens on the executors.
     */
    public Result run(Dataset<Row> documents) {
        Dataset<Row> docs = checked(documents);
        Dataset<Row> cleaned = cleaned(docs);
        Dataset<Row> sentences = sentenceStarts(cleaned.filter(col("clean_text").notEqual("")));
        Dataset<Row> passages = sentences
                .select("doc_id", "source_file", "line", "clean_text", "_starts")
                .mapPartitions(new PackPartition(tokenizer, maxTokens), Encoders.row(TextSchemas.PASSAGES));

        Dataset<Row> blank = docs.filter(blank(col("text")))
                .select(col("doc_id"), col("source_file"), col("line"),
                        lit(TextSchemas.EMPTY_TEXT).as("reason"),
                        lit("the text is empty or only whitespace").as("detail"),
                        col("text").as("raw_text"));
        Dataset<Row> emptied = cleaned.filter(col("clean_text").equalTo(""))
                .select(col("doc_id"), col("source_file"), col("line"),
                        lit(TextSchemas.EMPTY_AFTER_NORMALIZATION).as("reason"),
                        lit("nothing is left once markup and whitespace are removed").as("detail"),
                        col("text").as("raw_text"));
        return new Result(passages, conform(blank.unionByName(emptied), TextSchemas.REJECTS));
    }

    /**
     * The documents with non-blank text and their clean text (markup stripped, references
     * decoded, whitespace collapsed): {@link TextSchemas#DOCUMENTS} plus {@code clean_text}.
     */
    public Dataset<Row> normalize(Dataset<Row> documents) {
        return cleaned(checked(documents)).select("doc_id", "source_file", "line", "text", "clean_text");
    }

    /**
     * The sentences of each document's clean text, exact substrings in order, as
     * (doc_id, source_file, line, sentences ARRAY&lt;STRING&gt;); documents left empty are absent.
     */
    public Dataset<Row> sentences(Dataset<Row> documents) {
        Dataset<Row> cleaned = cleaned(checked(documents)).filter(col("clean_text").notEqual(""));
        UserDefinedFunction tile = functions.udf(
                (UDF2<String, scala.collection.Seq<Integer>, String[]>) (text, starts) -> {
                    List<Integer> begins = new ArrayList<>();
                    for (int i = 0; starts != null && i < starts.length(); i++) {
                        begins.add(starts.apply(i));
                    }
                    return tile(text, begins).toArray(new String[0]);
                },
                DataTypes.createArrayType(DataTypes.StringType, false));
        return sentenceStarts(cleaned).select(col("doc_id"), col("source_file"), col("line"),
                tile.apply(col("clean_text"), col("_starts")).as("sentences"));
    }

    /** The documents' required columns, {@code line} as LONG; a missing column is an error. */
    private static Dataset<Row> checked(Dataset<Row> documents) {
        StructType schema = documents.schema();
        List<Column> columns = new ArrayList<>();
        for (StructField want : TextSchemas.DOCUMENTS.fields()) {
            StructField got = field(schema, want.name());
            boolean ok = got != null && (want.dataType().equals(got.dataType())
                    || (want.name().equals("line") && isIntegral(got.dataType())));
            if (!ok) {
                throw new IllegalArgumentException("documents: column '" + want.name() + "' "
                        + (got == null ? "is missing" : "has type " + got.dataType().simpleString())
                        + ", expected " + want.dataType().simpleString() + " (documents need "
                        + TextSchemas.DOCUMENTS.simpleString() + ", got " + schema.simpleString() + ")");
            }
            columns.add(col(want.name()).cast(want.dataType()));
        }
        return documents.select(columns.toArray(new Column[0]));
    }

    /** Non-blank documents with their clean text in {@code clean_text}. */
    private Dataset<Row> cleaned(Dataset<Row> docs) {
        Dataset<Row> in = docs.filter(not(blank(col("text"))));
        List<PipelineStage> stages = new ArrayList<>();
        DocumentAssembler assembler = new DocumentAssembler();
        assembler.setInputCol("text").setCleanupMode("disabled").setOutputCol("_document");
        stages.add(assembler);
        String last = "_document";
        // Separators first: replacing with a space never leaves an empty string, so the remove
        // step never gets an empty document, which DocumentNormalizer rejects (5.5.3 catches the
        // failure itself and silently emits an empty annotation).
        if (separatorPattern != null) {
            stages.add(normalizer(last, "_separated", separatorPattern, " ", removePattern == null));
            last = "_separated";
        }
        if (removePattern != null) {
            stages.add(normalizer(last, "_removed", removePattern, "", true));
            last = "_removed";
        }
        Dataset<Row> annotated = new Pipeline().setStages(stages.toArray(new PipelineStage[0]))
                .fit(in).transform(in);
        Column normalized = last.equals("_document") ? col("text") : col(last + ".result").getItem(0);
        UserDefinedFunction clean = functions.udf((UDF1<String, String>) TextPassages::cleanText,
                DataTypes.StringType);
        return annotated.withColumn("clean_text", clean.apply(normalized))
                .select("doc_id", "source_file", "line", "text", "clean_text");
    }

    /** Adds {@code _starts}: the sentence detector's sentence begin offsets in clean_text. */
    private Dataset<Row> sentenceStarts(Dataset<Row> cleaned) {
        DocumentAssembler assembler = new DocumentAssembler();
        assembler.setInputCol("clean_text").setCleanupMode("disabled").setOutputCol("_clean_document");
        SentenceDetector detector = new SentenceDetector();
        detector.setInputCols(new String[] {"_clean_document"});
        detector.setOutputCol("_sentences");
        detector.setUseAbbreviations(useAbbreviations);
        detector.setDetectLists(detectLists);
        Dataset<Row> annotated = new Pipeline().setStages(new PipelineStage[] {assembler, detector})
                .fit(cleaned).transform(cleaned);
        return annotated.withColumn("_starts", col("_sentences.begin"))
                .drop("_clean_document", "_sentences");
    }

    private static DocumentNormalizer normalizer(String input, String output, String pattern,
            String replacement, boolean collapseWhitespace) {
        DocumentNormalizer n = new DocumentNormalizer();
        n.setInputCols(new String[] {input});
        n.setOutputCol(output);
        n.setAction("clean");
        // One combined pattern: the annotator joins several with "|##|", which also matches "##".
        n.setPatterns(new String[] {pattern});
        n.setReplacement(replacement);
        n.setPolicy(collapseWhitespace ? "pretty_all" : "all");
        n.setLowercase(false);
        n.setEncoding("disable");
        return n;
    }

    /** Decodes character references, collapses all whitespace to single spaces, trims. */
    static String cleanText(String normalized) {
        if (normalized == null) {
            return "";
        }
        return WHITESPACE.matcher(HtmlEntities.decode(normalized)).replaceAll(" ").strip();
    }

    /**
     * The sentences of {@code text} (whitespace-collapsed) cut at the detector's {@code starts};
     * a start counts only where a space precedes it, so the pieces joined by single spaces give
     * back {@code text} exactly, whatever the detector's own sentence strings look like.
     */
    static List<String> tile(String text, List<Integer> starts) {
        List<Integer> sorted = new ArrayList<>(starts);
        Collections.sort(sorted);
        List<String> out = new ArrayList<>();
        int from = 0;
        for (int start : sorted) {
            if (start > from && start < text.length() && text.charAt(start - 1) == ' ') {
                if (start - 1 > from) {
                    out.add(text.substring(from, start - 1));
                }
                from = start;
            }
        }
        if (from < text.length()) {
            out.add(text.substring(from));
        }
        return out;
    }

    private static Column blank(Column text) {
        return text.isNull().or(text.rlike(BLANK));
    }

    private static Dataset<Row> conform(Dataset<Row> rows, StructType schema) {
        Column[] columns = new Column[schema.fields().length];
        for (int i = 0; i < columns.length; i++) {
            StructField f = schema.fields()[i];
            columns[i] = col(f.name()).cast(f.dataType());
        }
        return rows.select(columns);
    }

    private static StructField field(StructType schema, String name) {
        for (StructField f : schema.fields()) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        return null;
    }

    private static boolean isIntegral(DataType t) {
        return t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType)
                || t.equals(DataTypes.ShortType) || t.equals(DataTypes.ByteType);
    }

    /** The patterns as one regex, each checked on the driver; null when there are none. */
    private static String combine(String kind, List<String> patterns) {
        if (patterns.isEmpty()) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < patterns.size(); i++) {
            String p = patterns.get(i);
            try {
                if (Pattern.compile(p).matcher("").matches()) {
                    throw new IllegalArgumentException(kind + " pattern " + (i + 1) + " '" + p
                            + "' matches the empty string (it would apply between every character)");
                }
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(kind + " pattern " + (i + 1) + " '" + p
                        + "' is not a valid Java regex: " + e.getDescription(), e);
            }
            parts.add("(?:" + p + ")");
        }
        return String.join("|", parts);
    }

    /** Per partition: tiles each document's clean text into sentences and packs them. */
    private static final class PackPartition implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;

        private final ExecutorTokenizer tokenizer;
        private final int maxTokens;

        PackPartition(ExecutorTokenizer tokenizer, int maxTokens) {
            this.tokenizer = tokenizer;
            this.maxTokens = maxTokens;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> documents) {
            PassagePacker packer = new PassagePacker(tokenizer::count, maxTokens);
            return new Iterator<>() {
                private Iterator<Row> pending = Collections.emptyIterator();

                @Override
                public boolean hasNext() {
                    while (!pending.hasNext() && documents.hasNext()) {
                        pending = passages(documents.next(), packer);
                    }
                    return pending.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return pending.next();
                }
            };
        }

        private static Iterator<Row> passages(Row doc, PassagePacker packer) {
            String docId = doc.getString(0);
            String sourceFile = doc.getString(1);
            long line = doc.getLong(2);
            String text = doc.getString(3);
            List<Integer> starts = doc.isNullAt(4) ? List.of() : doc.getList(4);
            List<PassagePacker.Passage> packed = packer.pack(tile(text, starts));
            List<Row> rows = new ArrayList<>(packed.size());
            for (int i = 0; i < packed.size(); i++) {
                PassagePacker.Passage p = packed.get(i);
                rows.add(RowFactory.create(docId, sourceFile, line, i, p.text(), p.nTokens(), p.nSentences()));
            }
            return rows.iterator();
        }
    }

    /** Builds a {@link TextPassages}: {@code setX} for required values, {@code optX} for optional ones. */
    public static final class Builder {
        private ExecutorTokenizer tokenizer;
        private int maxTokens;
        private List<String> separatorPatterns = DEFAULT_SEPARATOR_PATTERNS;
        private List<String> removePatterns = DEFAULT_REMOVE_PATTERNS;
        private boolean useAbbreviations = true;
        private boolean detectLists = false;

        private Builder() {}

        /** The Hugging Face model directory whose config.json and tokenizer.json count tokens. */
        public Builder setModelDir(Path modelDir) {
            this.tokenizer = new ExecutorTokenizer(modelDir);
            return this;
        }

        /** As {@link #setModelDir(Path)}, for a location: a local path or any Hadoop URI. */
        public Builder setModelDir(String modelDir) {
            this.tokenizer = new ExecutorTokenizer(modelDir);
            return this;
        }

        /** The largest number of tokens in a passage (no BOS/EOS). */
        public Builder setMaxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** Java regexes replaced by a space (default {@link #DEFAULT_SEPARATOR_PATTERNS}); empty: none. */
        public Builder optSeparatorPatterns(List<String> patterns) {
            this.separatorPatterns = List.copyOf(patterns);
            return this;
        }

        /** Java regexes deleted (default {@link #DEFAULT_REMOVE_PATTERNS}); empty: none. */
        public Builder optRemovePatterns(List<String> patterns) {
            this.removePatterns = List.copyOf(patterns);
            return this;
        }

        /** Whether the sentence detector protects known abbreviations ("Dr.", "e.g."); default true. */
        public Builder optUseAbbreviations(boolean useAbbreviations) {
            this.useAbbreviations = useAbbreviations;
            return this;
        }

        /**
         * Whether the sentence detector looks for numbered list items; default false, because in
         * whitespace-collapsed prose it reads "on Jan. 5. It rained." as a list item "5.".
         */
        public Builder optDetectLists(boolean detectLists) {
            this.detectLists = detectLists;
            return this;
        }

        /**
         * Validates the settings and loads the tokenizer once on the driver, so a bad model
         * directory fails here rather than in every task.
         */
        public TextPassages build() {
            Objects.requireNonNull(tokenizer, "TextPassages: setModelDir is required");
            if (maxTokens < 1) {
                throw new IllegalArgumentException("TextPassages: maxTokens must be >= 1, got " + maxTokens);
            }
            tokenizer.check();
            return new TextPassages(this);
        }
    }
}
