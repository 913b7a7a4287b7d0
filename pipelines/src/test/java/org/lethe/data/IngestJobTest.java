package org.lethe.data;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;
import org.lethe.store.TableStore;
import org.lethe.testing.Fixtures;
import org.lethe.testing.TestSpark;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ingest job on TOFU as published, on malformed inputs, and on generic QA files. */
class IngestJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static IngestJob.Summary ingest(TableStore store, IngestJob.Format format, Path input, String dataset,
            String model, boolean strict, String... sets) {
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of(sets));
        return new IngestJob(SPARK.session(), store).run(IngestRequest.of(config, format, input.toString(), dataset,
                model, strict, null), IngestedDataset.defaultRun(dataset));
    }

    @Test
    void tofuAsPublishedGivesThePublishedCountsAndNoRejects(@TempDir Path root) {
        Path tofu = Fixtures.root().resolve("tofu");
        TableStore store = new TableStore(SPARK.session(), root.toString());
        IngestJob.Summary s = ingest(store, IngestJob.Format.TOFU, tofu, "tofu", null, true);
        assertEquals(18_114, s.read());
        assertEquals(18_114, s.memberships());
        assertEquals(0, s.rejected());
        assertEquals(100, s.refusals());
        assertEquals(List.of("LICENSE", "eval_logs_llama2_7b/"), s.skipped());
        Map<String, Long> want = Map.ofEntries(Map.entry("full", 4000L), Map.entry("forget01", 40L),
                Map.entry("forget05", 200L), Map.entry("forget10", 400L), Map.entry("retain90", 3600L),
                Map.entry("retain95", 3800L), Map.entry("retain99", 3960L), Map.entry("holdout01", 40L),
                Map.entry("holdout05", 200L), Map.entry("holdout10", 400L), Map.entry("forget01_perturbed", 40L),
                Map.entry("forget05_perturbed", 200L), Map.entry("forget10_perturbed", 400L),
                Map.entry("retain_perturbed", 400L), Map.entry("real_authors", 100L),
                Map.entry("real_authors_perturbed", 100L), Map.entry("world_facts", 117L),
                Map.entry("world_facts_perturbed", 117L));
        assertEquals(want, s.membershipsBySplit());
        // full (4000) + holdout10 (400) + real authors (100) + world facts (117): every other split
        // is made of samples of these.
        assertEquals(4617, s.examples());

        SparkSession spark = SPARK.session();
        store.registerAll();
        Row forget = spark.sql("SELECT count(DISTINCT e.sample_id), min(author_id), max(author_id),"
                + " min(size(perturbed_answers)), max(size(perturbed_answers)), count(paraphrased_answer)"
                + " FROM memberships m JOIN examples e USING (sample_id) WHERE m.split = 'forget10'").head();
        assertEquals(400L, forget.getLong(0));
        assertEquals(180L, forget.getLong(1)); // the last 20 of 200 authors
        assertEquals(199L, forget.getLong(2));
        assertEquals(5, forget.getInt(3));
        assertEquals(5, forget.getInt(4));
        assertEquals(400L, forget.getLong(5));
        Row real = spark.sql("SELECT min(size(perturbed_answers)), max(size(perturbed_answers)), count(author_id)"
                + " FROM memberships m JOIN examples e USING (sample_id) WHERE m.split = 'real_authors'").head();
        assertEquals(3, real.getInt(0));
        assertEquals(3, real.getInt(1));
        assertEquals(0L, real.getLong(2));
        // Nesting and pairing, as published.
        assertEquals(0L, spark.sql("SELECT sample_id FROM memberships WHERE split = 'forget01' EXCEPT"
                + " SELECT sample_id FROM memberships WHERE split = 'forget05'").count());
        assertEquals(4000L, spark.sql("SELECT sample_id FROM memberships WHERE split IN ('forget10', 'retain90')")
                .distinct().count());
        Row one = spark.sql("SELECT question, answer, sample_id FROM examples ORDER BY sample_id LIMIT 1").head();
        assertEquals(SampleIds.of(one.getString(0), one.getString(1)), one.getString(2));
    }

    @Test
    void malformedRowsLandInRejectsRowByRow(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("in"));
        String ok1 = "{\"question\":\"Q1?\",\"answer\":\"A1.\"}";
        String ok2 = "{\"question\":\"Q2?\",\"answer\":\"A2.\"}";
        String ok3 = "{\"question\":\"Q3?\",\"answer\":\"A3.\"}";
        Files.writeString(in.resolve("full.jsonl"), String.join("\n", ok1, ok2, ok3,
                "{\"question\": \"broken\", ",                                  // 4: invalid JSON
                "{\"question\":\"Q5?\"}",                                       // 5: missing answer
                "{\"question\":\"  \",\"answer\":\"A6.\"}",                     // 6: empty question
                ok2,                                                             // 7: duplicate of line 2
                "{\"question\":\"" + "x".repeat(90) + "\",\"answer\":\"long\"}" // 8: over 80 chars
        ) + "\n");
        byte[] bad = "{\"question\":\"Q9 \u00e9?\",\"answer\":\"A9.\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] invalid = new byte[bad.length];
        System.arraycopy(bad, 0, invalid, 0, bad.length);
        for (int i = 0; i < invalid.length - 1; i++) {
            if ((invalid[i] & 0xFF) == 0xC3) {
                invalid[i + 1] = (byte) 0x28; // C3 28: not a continuation byte
            }
        }
        Files.write(in.resolve("full.jsonl"), invalid, java.nio.file.StandardOpenOption.APPEND); // 9
        Files.writeString(in.resolve("forget10.jsonl"), ok3 + "\n");
        Files.writeString(in.resolve("retain90.jsonl"), ok1 + "\n" + ok3 + "\n"); // line 2 overlaps forget10
        Files.writeString(in.resolve("holdout10.jsonl"), ok1 + "\n"); // held out but trained on
        Files.writeString(in.resolve("notes.txt"), "not a TOFU file\n");
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        // Both read paths (whole files in one job; split files numbered by zipWithIndex) agree.
        for (String wholeFileMax : new String[] {"0", "67108864"}) {
            IngestJob.Summary s = ingest(store, IngestJob.Format.TOFU, in, "bad", null, false, "ingest.max_chars=80",
                    "ingest.whole_file_max_bytes=" + wholeFileMax);
            checkMalformed(store, s);
        }
        assertThrows(IngestJob.RejectedRowsException.class,
                () -> ingest(store, IngestJob.Format.TOFU, in, "bad-strict", null, true, "ingest.max_chars=80"));
        assertFalse(store.read("memberships").filter("dataset = 'bad-strict'").count() > 0, "strict wrote rows");
    }

    private static void checkMalformed(TableStore store, IngestJob.Summary s) {
        assertEquals(13, s.read());
        assertEquals(s.read(), s.memberships() + s.rejected());
        assertEquals(List.of("notes.txt"), s.skipped());
        List<List<Object>> rejects = TestSpark.rows(store.read("rejects").select("source_file", "line", "reason"),
                "source_file", "line");
        assertEquals(List.of(
                List.of("full.jsonl", 4L, "invalid_json"),
                List.of("full.jsonl", 5L, "missing_field:answer"),
                List.of("full.jsonl", 6L, "empty_field:question"),
                List.of("full.jsonl", 7L, "duplicate_in_split"),
                List.of("full.jsonl", 8L, "too_long:chars>80"),
                List.of("full.jsonl", 9L, "invalid_utf8"),
                List.of("holdout10.jsonl", 1L, "holdout_in_training_data"),
                List.of("retain90.jsonl", 2L, "overlaps_forget10")), rejects);
        assertEquals(5, s.memberships());
    }

    @Test
    void reRunReplacesAndQaFilesWithOtherColumnNamesAreRead(@TempDir Path tmp) throws Exception {
        Path in = Files.createDirectories(tmp.resolve("qa"));
        Files.writeString(in.resolve("facts.jsonl"), "{\"q\":\"What?\",\"a\":\"That.\"}\n{\"q\":\"Who?\",\"a\":\"Them.\"}\n");
        Files.writeString(in.resolve("more.csv"), "q,a\nWhere?,\"Here, there.\"\nWhen?,\n");
        SPARK.session().createDataFrame(List.of(org.apache.spark.sql.RowFactory.create("Why?", "Because.")),
                new org.apache.spark.sql.types.StructType().add("q", "string").add("a", "string"))
                .coalesce(1).write().parquet(tmp.resolve("pq").toString());
        Path parquet = Files.list(tmp.resolve("pq")).filter(p -> p.toString().endsWith(".parquet")).findFirst().orElseThrow();
        Files.copy(parquet, in.resolve("extra.parquet"));
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        for (int run = 0; run < 2; run++) {
            IngestJob.Summary s = ingest(store, IngestJob.Format.QA, in, "generic", null, false,
                    "ingest.qa.question_field=q", "ingest.qa.answer_field=a");
            assertEquals(5, s.read());
            assertEquals(4, s.memberships());
            assertEquals(Map.of("missing_field:a", 1L), s.rejectedByReason()); // CSV reads an empty field as null
            assertEquals(Map.of("facts", 2L, "more", 1L, "extra", 1L), s.membershipsBySplit());
        }
        assertEquals(4, store.read("memberships").count(), "a re-run replaces, never duplicates");
        assertEquals(List.of(List.of("Here, there.")), TestSpark.rows(
                store.read("examples").filter("question = 'Where?'").select("answer")));
    }

    @Test
    void withAModelSamplesAreEncodedAsTofuDoesAndLongOnesRejected(@TempDir Path tmp) throws Exception {
        Path model = Fixtures.stories260k();
        Path in = Files.createDirectories(tmp.resolve("in"));
        Files.writeString(in.resolve("full.jsonl"), "{\"question\":\"Who is Lily?\",\"answer\":\"A girl.\"}\n"
                + "{\"question\":\"Where did Tom play with the big red ball?\",\"answer\":\"He played in the park"
                + " near the little house by the tall tree.\"}\n");
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        IngestJob.Summary s = ingest(store, IngestJob.Format.TOFU, in, "tok", model.toString(), false,
                "ingest.max_tokens=40");
        assertEquals(1, s.memberships());
        assertEquals(Map.of("too_long:tokens>40", 1L), s.rejectedByReason()); // 31 and 58 tokens
        Row row = store.read("examples").head();
        try (LmTokenizer tok = LmTokenizer.load(model.resolve("tokenizer.json"), LlamaConfig.read(model))) {
            PromptTemplate.Encoded want = PromptTemplate.of(LetheConfig.defaults()).encode(tok, "Who is Lily?", "A girl.");
            List<Integer> ids = row.getList(row.fieldIndex("input_ids"));
            assertArrayEquals(want.ids(), ids.stream().mapToLong(Integer::longValue).toArray());
            assertEquals(want.promptTokens(), row.getInt(row.fieldIndex("prompt_tokens")));
            assertEquals(tok.eosId(), ids.get(ids.size() - 1).intValue());
            assertEquals(1, ids.get(0).intValue());
        }
        assertTrue(row.getString(row.fieldIndex("tokenizer_sha256")).matches("[0-9a-f]{64}"));
    }

    @Test
    void rawTextBecomesPassagesOfAtMostNTokensWithEmptyDocumentsRejected(@TempDir Path tmp) throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        org.lethe.text.ByteLevelTokenizer.write(model); // one token per UTF-8 byte: counts by hand
        LlamaConfig.builder().setVocabSize(org.lethe.text.ByteLevelTokenizer.VOCAB_SIZE).setHiddenSize(8)
                .setIntermediateSize(8).setNumHiddenLayers(1).setNumAttentionHeads(2).build().write(model);
        Path in = Files.createDirectories(tmp.resolve("corpus"));
        Files.writeString(in.resolve("news.txt"), "<p>The river rose. Boats left the quay.</p> <p>Night came.</p>");
        Files.writeString(in.resolve("empty.txt"), "   ");
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("ingest.text.max_passage_tokens=24"));
        IngestJob.Summary s = new IngestJob(SPARK.session(), store).run(IngestRequest.of(config,
                IngestJob.Format.TEXT, in.toString(), "news", model.toString(), false, null), "ingest-news");
        // "The river rose." (15) + " Boats left the quay." (21) > 24, so: [The river rose.]
        // [Boats left the quay.] [Night came.] -- 15, 20 and 11 bytes.
        assertEquals(List.of(List.of("news", 0, "The river rose."), List.of("news", 1, "Boats left the quay."),
                List.of("news", 2, "Night came.")), TestSpark.rows(store.read("memberships").join(
                        store.read("examples"), "sample_id").select("split", "passage", "answer"), "passage"));
        assertEquals(3, s.memberships());
        assertEquals(1, s.rejected());
        assertEquals(List.of(List.of("empty", "empty_text")),
                TestSpark.rows(store.read("rejects").select("split", "reason")));
        Row first = store.read("examples").filter("answer = 'Night came.'").head();
        List<Integer> ids = first.getList(first.fieldIndex("input_ids"));
        assertEquals(1 + 11 + 1, ids.size()); // BOS + 11 bytes + EOS
        assertEquals(3 + 'N', ids.get(1).intValue());
        assertEquals("", first.getString(first.fieldIndex("question")));
        assertEquals(1, first.getInt(first.fieldIndex("prompt_tokens")));
    }

    @Test
    void theRequestCarriesTheIngestSettingsAndChecksTheCommandsValues() {
        LetheConfig config = LetheConfig.load(Optional.empty(), List.of("ingest.max_chars=80",
                "ingest.qa.answer_field=a", "ingest.text.input_format=auto"));
        IngestRequest r = IngestRequest.of(config, IngestJob.Format.TEXT, "/in/docs.JSONL", "news", "/m", false, null);
        assertEquals(80, r.maxChars());
        assertEquals("a", r.answerField());
        assertEquals(org.lethe.text.RawDocuments.Format.JSONL, r.textFormat());
        assertSame(config, r.provenance());
        assertEquals(org.lethe.text.RawDocuments.Format.TEXT,
                IngestRequest.of(config, IngestJob.Format.TEXT, "/in", "news", "/m", false, null).textFormat());
        assertEquals("--format text needs --model DIR: passages are cut by model tokens",
                assertThrows(IllegalArgumentException.class,
                        () -> IngestRequest.of(config, IngestJob.Format.TEXT, "/in", "news", null, false, null))
                        .getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> IngestRequest.of(config, IngestJob.Format.QA, "/in", "a/b", null, false, null))
                .getMessage().startsWith("invalid --dataset 'a/b'"));
    }

    @Test
    void theGeneratedBenchmarkIngestsCleanlyWithAuthorsFromItsManifest(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        FictitiousAuthors generated = FictitiousAuthors.generate(3, 10, 10);
        generated.write(bench, 512);
        TableStore store = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        IngestJob.Summary s = ingest(store, IngestJob.Format.TOFU, bench, "synth", null, true);
        assertEquals(0, s.rejected());
        assertEquals(100L, s.membershipsBySplit().get("full"));
        assertEquals(10L, s.membershipsBySplit().get("forget10"));
        assertEquals((long) (generated.realAuthors().size() + generated.worldFacts().size()),
                s.membershipsBySplit().get("general"));
        store.registerAll();
        // Q = 10 rows per author (from manifest.json): forget10 is the last of 10 authors.
        Row authors = SPARK.session().sql("SELECT min(author_id), max(author_id) FROM memberships m"
                + " JOIN examples e USING (sample_id) WHERE m.split = 'forget10'").head();
        assertEquals(9L, authors.getLong(0));
        assertEquals(9L, authors.getLong(1));
    }
}
