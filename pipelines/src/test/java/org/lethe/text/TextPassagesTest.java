package org.lethe.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.testing.Fixtures;
import org.lethe.testing.TestSpark;

/** The Spark NLP pipeline: markup cleanup, sentences, exact packing on the executors, rejects. */
class TextPassagesTest {

    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    @TempDir static Path byteModel;

    private static SparkSession spark;

    @BeforeAll
    static void start() throws IOException {
        spark = SPARK.session();
        // A model directory whose tokenizer has one token per UTF-8 byte: counts by hand.
        ByteLevelTokenizer.write(byteModel);
        ModelPresets.config("tiny", ByteLevelTokenizer.VOCAB_SIZE).write(byteModel);
    }

    private static Dataset<Row> docs(String... idAndText) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < idAndText.length; i += 2) {
            rows.add(RowFactory.create(idAndText[i], "corpus.jsonl", (long) i / 2 + 1, idAndText[i + 1]));
        }
        return spark.createDataFrame(rows, TextSchemas.DOCUMENTS);
    }

    private static TextPassages bytes(int maxTokens) {
        return TextPassages.builder().setModelDir(byteModel).setMaxTokens(maxTokens).build();
    }

    @Test
    void stripsMarkupDecodesEntitiesAndCollapsesWhitespace() {
        String html = "<html><head><style>p { color: red; }</style>"
                + "<script>if (a < b) { go(); }</script></head>\n<body>"
                + "<h1>Fish &amp; Chips</h1><p>Caf&eacute; <b>open</b>ed&nbsp;today &#8212; prices"
                + " &lt;&nbsp;&pound;5.</p>\n\n<!-- a <p> comment --><p>It&#x2019;s   &quot;good&quot;."
                + "<br/>AT&T &copy 2020 &bogus; ## 1</p></body></html>";
        List<List<Object>> rows = TestSpark.rows(bytes(64).normalize(docs("h", html)).select("clean_text"));
        // Inline <b> is deleted (one word "opened"), block tags become spaces, "##" survives
        // (DocumentNormalizer's own multi-pattern join would also delete it), references
        // without ';' or unknown stay as written.
        assertEquals(List.of(List.of("Fish & Chips Café opened today — prices < £5. It’s \"good\"."
                + " AT&T &copy 2020 &bogus; ## 1")), rows);
    }

    @Test
    void plainTextKeepsItsWordsAndLosesOnlyExtraWhitespace() {
        List<List<Object>> rows = TestSpark.rows(bytes(64)
                .normalize(docs("t", "  Line one,\r\n\tline two:  a < b > c.\u00A0 ")).select("clean_text"));
        assertEquals(List.of(List.of("Line one, line two: a < b > c.")), rows);
    }

    @Test
    void detectsSentencesAroundAbbreviations() {
        Dataset<Row> in = docs("a", "Dr. Smith arrived. He left.",
                "b", "He was born in 1999. Then he moved on Jan. 5. It rained.");
        assertEquals(List.of(
                List.of("a", List.of("Dr. Smith arrived.", "He left.")),
                List.of("b", List.of("He was born in 1999.", "Then he moved on Jan. 5.", "It rained."))),
                sentences(bytes(64), in));
        // Without the abbreviation list "Dr." ends a sentence: the rules, not luck, keep it.
        TextPassages noAbbreviations = TextPassages.builder().setModelDir(byteModel).setMaxTokens(64)
                .optUseAbbreviations(false).build();
        assertEquals(List.of("Dr.", "Smith arrived.", "He left."),
                sentences(noAbbreviations, docs("a", "Dr. Smith arrived. He left.")).get(0).get(1));
    }

    private static List<List<Object>> sentences(TextPassages passages, Dataset<Row> in) {
        List<List<Object>> out = new ArrayList<>();
        for (List<Object> row : TestSpark.rows(passages.sentences(in).select("doc_id", "sentences"))) {
            out.add(List.of(row.get(0), scala.collection.JavaConverters.seqAsJavaList(
                    (scala.collection.Seq<?>) row.get(1))));
        }
        return out;
    }

    /** Documents whose byte counts are worked out in the comments of the expected rows. */
    private static final String[] PACKED = {
        "a", "One two. Three four five. Six.",
        "b", "Alpha beta gamma delta epsilon zeta eta theta.",
        "c", "Short one. Supercalifragilisticexpialidocious! Done.",
        "d", "<p>Caf&eacute; au lait.</p><p>Th&eacute; vert.</p>",
    };

    private static final List<List<Object>> PACKED_25 = List.of(
            // 8 + 1 + 16 = 25 bytes; " Six." would make 30.
            List.of("a", 0, "One two. Three four five.", 25, 2),
            List.of("a", 1, "Six.", 4, 1),
            // One 46-byte sentence, cut before the space that would pass 25 bytes.
            List.of("b", 0, "Alpha beta gamma delta", 22, 1),
            List.of("b", 1, "epsilon zeta eta theta.", 23, 1),
            // A 35-byte word is cut inside at 25 bytes.
            List.of("c", 0, "Short one.", 10, 1),
            List.of("c", 1, "Supercalifragilisticexpia", 25, 1),
            List.of("c", 2, "lidocious!", 10, 1),
            List.of("c", 3, "Done.", 5, 1),
            // Markup stripped first; "é" is 2 bytes: 14 + 1 + 10 = 25 fits exactly.
            List.of("d", 0, "Café au lait. Thé vert.", 25, 2));

    @Test
    void packsExactByteCountsTheSameWithOneOrThreePartitions() {
        TextPassages passages = bytes(25);
        for (int partitions : new int[] {1, 3}) {
            Dataset<Row> in = docs(PACKED).repartition(partitions);
            Dataset<Row> out = passages.run(in).passages();
            assertEquals(TextSchemas.PASSAGES, out.schema());
            assertEquals(PACKED_25, TestSpark.rows(
                    out.select("doc_id", "passage_index", "text", "n_tokens", "n_sentences"),
                    "doc_id", "passage_index"), partitions + " partitions");
            assertEquals(List.of(List.of("a", 1L)), TestSpark.rows(out.filter("doc_id = 'a'")
                    .select("doc_id", "line").distinct()));
        }
    }

    @Test
    void passagesRejoinToTheCleanTextAndStayWithinTheLimit() {
        String text = "The committee met on Monday. It approved the budget after a long debate, "
                + "which lasted well into the night. Mr. Jones voted against it. The vote was 7 to 2. "
                + "Afterwards, the members went home. Nobody spoke to the press.";
        TextPassages passages = bytes(60);
        Dataset<Row> in = docs("m", text);
        String clean = (String) TestSpark.rows(passages.normalize(in).select("clean_text")).get(0).get(0);
        List<Object> sentences = sentences(passages, in).get(0);
        List<List<Object>> rows = TestSpark.rows(passages.run(in).passages()
                .select("passage_index", "text", "n_tokens", "n_sentences"));
        assertEquals(List.of(
                List.of(0, "The committee met on Monday.", 28, 1),
                // The 77-byte sentence alone exceeds 60: cut before "well" (56 bytes).
                List.of(1, "It approved the budget after a long debate, which lasted", 56, 1),
                List.of(2, "well into the night.", 20, 1),
                List.of(3, "Mr. Jones voted against it. The vote was 7 to 2.", 48, 2),
                List.of(4, "Afterwards, the members went home.", 34, 1),
                List.of(5, "Nobody spoke to the press.", 26, 1)), rows);
        List<String> texts = new ArrayList<>();
        for (List<Object> row : rows) {
            assertEquals(((String) row.get(1)).getBytes(StandardCharsets.UTF_8).length, row.get(2));
            texts.add((String) row.get(1));
        }
        assertEquals(clean, String.join(" ", texts));
        assertEquals(String.join(" ", castStrings(sentences.get(1))), String.join(" ", texts));
    }

    @SuppressWarnings("unchecked")
    private static List<String> castStrings(Object list) {
        return (List<String>) list;
    }

    @Test
    void documentsWithoutTextAreRejectedWithTheirReason() {
        Dataset<Row> in = spark.createDataFrame(Arrays.asList(
                RowFactory.create("ok", "f.jsonl", 1L, "Fine."),
                RowFactory.create("empty", "f.jsonl", 2L, ""),
                RowFactory.create("spaces", "f.jsonl", 3L, " \n\t "),
                RowFactory.create("null", "f.jsonl", 4L, null),
                RowFactory.create("tags", "f.jsonl", 5L, "<p> </p><!-- nothing -->"),
                // Only inline tags: the second normalizer's output is empty (it must not fail).
                RowFactory.create("inline", "f.jsonl", 6L, "<b></b><span> </span>"),
                RowFactory.create("nbsp", "f.jsonl", 7L, "&nbsp;")), TextSchemas.DOCUMENTS);
        TextPassages.Result result = bytes(25).run(in);
        assertEquals(TextSchemas.REJECTS.simpleString(), result.rejects().schema().simpleString());
        assertEquals(List.of(
                Arrays.asList("empty", "f.jsonl", 2L, "empty_text", ""),
                Arrays.asList("inline", "f.jsonl", 6L, "empty_after_normalization", "<b></b><span> </span>"),
                Arrays.asList("nbsp", "f.jsonl", 7L, "empty_after_normalization", "&nbsp;"),
                Arrays.asList("null", "f.jsonl", 4L, "empty_text", null),
                Arrays.asList("spaces", "f.jsonl", 3L, "empty_text", " \n\t "),
                Arrays.asList("tags", "f.jsonl", 5L, "empty_after_normalization", "<p> </p><!-- nothing -->")),
                TestSpark.rows(result.rejects().select("doc_id", "source_file", "line", "reason", "raw_text"),
                        "doc_id"));
        assertEquals(List.of(List.of("ok", 0, "Fine.")),
                TestSpark.rows(result.passages().select("doc_id", "passage_index", "text")));
    }

    @Test
    void missingColumnsAndBadPatternsFailOnTheDriver() {
        Dataset<Row> noText = spark.createDataFrame(List.of(RowFactory.create("x", "f", 0L)),
                new StructType().add("doc_id", DataTypes.StringType).add("source_file", DataTypes.StringType)
                        .add("line", DataTypes.LongType));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bytes(8).run(noText));
        assertTrue(e.getMessage().startsWith("documents: column 'text' is missing, expected string"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> TextPassages.builder().setModelDir(byteModel)
                .setMaxTokens(8).optRemovePatterns(List.of("<b>", "x*")).build());
        assertEquals("remove pattern 2 'x*' matches the empty string (it would apply between every"
                + " character)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TextPassages.builder().setModelDir(byteModel)
                .setMaxTokens(8).optSeparatorPatterns(List.of("<(")).build());
        assertTrue(e.getMessage().startsWith("separator pattern 1 '<(' is not a valid Java regex"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TextPassages.builder()
                .setModelDir(byteModel.resolve("absent")).setMaxTokens(8).build());
        assertTrue(e.getMessage().endsWith("absent: model directory not found (it must hold config.json and"
                + " tokenizer.json, at the same path on every executor)"), e.getMessage());
    }

    @Test
    void countsWithTheStories260kTokenizer() {
        Path model = Fixtures.stories260k();
        // Token ids from the fixture's reference.json (HF tokenizer, BOS dropped): 15 and 9.
        String first = "Once upon a time, there was a little girl named Lily.";
        String second = "Tom had a red ball.";
        Dataset<Row> in = docs("s", first + " " + second);
        Map<Integer, List<List<Object>>> byLimit = new LinkedHashMap<>();
        for (int limit : new int[] {24, 23}) {
            TextPassages passages = TextPassages.builder().setModelDir(model).setMaxTokens(limit).build();
            byLimit.put(limit, TestSpark.rows(passages.run(in).passages()
                    .select("passage_index", "text", "n_tokens", "n_sentences")));
        }
        assertEquals(List.of(List.of(0, first + " " + second, 24, 2)), byLimit.get(24));
        assertEquals(List.of(List.of(0, first, 15, 1), List.of(1, second, 9, 1)), byLimit.get(23));

        // A sentence over the limit is cut between words into pieces the tokenizer counts <= 6.
        TextPassages six = TextPassages.builder().setModelDir(model).setMaxTokens(6).build();
        List<String> pieces = new ArrayList<>();
        try (LmTokenizer tokenizer = LmTokenizer.load(model.resolve("tokenizer.json"), LlamaConfig.read(model))) {
            for (List<Object> row : TestSpark.rows(six.run(docs("s", first)).passages()
                    .select("passage_index", "text", "n_tokens"))) {
                String piece = (String) row.get(1);
                assertEquals(tokenizer.encode(piece, false).length, row.get(2), piece);
                assertTrue((int) row.get(2) <= 6, piece);
                pieces.add(piece);
            }
        }
        assertEquals(first, String.join(" ", pieces));
        assertTrue(pieces.size() >= 3, pieces.toString());
    }
}
