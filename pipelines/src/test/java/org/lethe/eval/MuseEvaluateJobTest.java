package org.lethe.eval;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.data.PromptTemplate;
import org.lethe.model.LanguageModel;
import org.lethe.model.AdamW;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmScorer;
import org.lethe.model.LmTrainer;
import org.lethe.model.LmTokenizer;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.lethe.text.ByteLevelTokenizer;
import org.lethe.text.Rouge;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * evaluate with MUSE's VerbMem / KnowMem and a multiple-choice set on a tiny byte-level model (one
 * token per byte, so passage lengths are counted by hand; trained briefly on the forget texts): each value equals the one-sample
 * computation, the aggregates have the right n, an unconfigured MUSE set is NULL with a reason.
 */
class MuseEvaluateJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;
    private static Path model;

    // One sentence per passage (each is over half of max_passage_tokens = 64 bytes)
    private static final String[] SENTENCES = {
        "The lighthouse keeper counted forty ships that autumn.",
        "Her brother mended the nets on the northern pier.",
        "In winter the harbour froze and the ships stayed home.",
    };
    private static final String[][] KNOW = {
        {"Who kept the lighthouse?", "Mara Lind"},
        {"How many ships passed?", "forty"},
        {"Where were the nets mended?", "the northern pier"},
        {"What froze in winter?", "the harbour"},
        {"Who mended the nets?", "her brother"},
    };

    private static final String PREFIX = "Question: Who kept the lighthouse?\nAnswer: Mara Lind\n\n"
            + "Question: How many ships passed?\nAnswer: forty\n\n";
    private static final int TRAIN_STEPS = 120;

    @BeforeAll
    static void data() throws Exception {
        model = Files.createDirectories(shared.resolve("model"));
        Path tokenizer = ByteLevelTokenizer.write(model);
        // Trained briefly on the forget texts, so the scores are not all 0: the passages, the KnowMem
        // prompts with their answers and the next block's start, and two of the quiz answers.
        try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config("tiny", ByteLevelTokenizer.VOCAB_SIZE),
                ModelSettings.defaults(), 5, tokenizer);
                LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
            LmTokenizer tok = lm.tokenizer();
            List<long[]> seqs = new ArrayList<>();
            for (String sentence : SENTENCES) {
                seqs.add(tok.encode(sentence, true));
            }
            for (int i = 2; i < KNOW.length; i++) {
                seqs.add(tok.encode(PREFIX + "Question: " + KNOW[i][0] + "\nAnswer: " + KNOW[i][1] + "\n\nQuestion:",
                        true));
            }
            PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());
            seqs.add(template.encode(tok, "Colour of the sea?", "grey").ids());
            seqs.add(template.encode(tok, "Number of piers?", "one").ids());
            for (int i = 0; i < TRAIN_STEPS; i++) {
                trainer.step(seqs, seqs, 1e-2);
            }
            lm.save(model);
        }
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        // The forget corpus: a document of three sentences, and three one-line documents of 11, 12 and 13 bytes.
        Path corpus = Files.createDirectories(shared.resolve("corpus"));
        Files.writeString(corpus.resolve("a.txt"), String.join(" ", SENTENCES));
        Files.writeString(corpus.resolve("b.txt"), "Night came.");
        Files.writeString(corpus.resolve("c.txt"), "Dawn is near");
        Files.writeString(corpus.resolve("d.txt"), "Dawn is near.");
        LetheConfig ingest = LetheConfig.load(Optional.empty(), List.of("ingest.text.max_passage_tokens=64"));
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(ingest, IngestJob.Format.TEXT,
                corpus.toString(), "books", model.toString(), true, "books_forget"), "ingest-books");
        // QA about the corpus (KnowMem) and a multiple-choice quiz, another dataset (its split = file stem)
        Path qa = Files.createDirectories(shared.resolve("qa"));
        StringBuilder know = new StringBuilder();
        for (String[] p : KNOW) {
            know.append("{\"question\": \"").append(p[0]).append("\", \"answer\": \"").append(p[1]).append("\"}\n");
        }
        Files.writeString(qa.resolve("know.jsonl"), know.toString());
        Files.writeString(qa.resolve("quiz.jsonl"), String.join("\n",
                "{\"question\": \"Colour of the sea?\", \"answer\": \"grey\", \"option1\": \"red\", \"option2\": \"grey\","
                        + " \"option3\": \"pink\", \"option4\": \"gold\"}",
                "{\"question\": \"Season of the frost?\", \"answer\": \"winter\", \"option1\": \"winter\","
                        + " \"option2\": \"summer\"}",
                "{\"question\": \"Number of piers?\", \"answer\": \"one\", \"perturbed_answer\": [\"two\", \"three\"]}",
                "{\"question\": \"Name of the town?\", \"answer\": \"Vik\"}") + "\n");
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(), IngestJob.Format.QA,
                qa.toString(), "quiz", null, true, null), "ingest-quiz");
    }

    private static LetheConfig config(String... extra) {
        List<String> sets = new ArrayList<>(List.of("eval.dataset=books", "eval.sets.forget=\"\"",
                "eval.sets.retain=\"\"", "eval.sets.real_authors=\"\"", "eval.sets.world_facts=\"\"",
                "eval.sets.holdout=\"\"", "eval.max_samples=10", "eval.batch_size=3", "model.threads=1",
                "eval.muse.prompt_tokens=12", "eval.muse.continuation_tokens=16", "eval.muse.answer_tokens=24"));
        sets.addAll(List.of(extra));
        return LetheConfig.load(Optional.empty(), sets);
    }

    @Test
    void museAndMultipleChoiceValuesMatchTheOneSampleComputation() {
        EvaluateJob.Summary s = new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config(
                "eval.muse.verbmem_split=books_forget", "eval.muse.knowmem_split=\"quiz:know\"", "eval.muse.few_shot=2",
                "eval.mcq_sets=[\"trivia=quiz:quiz\"]")), "muse", model.toString(), null);
        // 3 sentences + 3 short documents; KnowMem: 5 pairs less 2 few-shot examples; the quiz: 4 rows
        assertEquals(Map.of("verbmem_forget", 6L, "knowmem_forget", 3L, "mcq_trivia", 4L), s.items());
        assertEquals(6 + 3 + 4, s.values());
        // "Night came." (11 bytes) and "Dawn is near" (12) have no token after a 12-token prompt
        assertEquals(Map.of("forget_verbmem_rouge_l_f1", 2L), s.skipped());

        Map<String, Row> verbmem = byAnswer("verbmem_rouge_l_f1", "books", "ingest-books");
        assertEquals(6, verbmem.size());
        assertTrue(value(verbmem.get("Night came.")) == null && value(verbmem.get("Dawn is near")) == null);
        assertNull(verbmem.get("Night came.").getAs("generation"));
        Map<String, Row> knowmem = byAnswer("knowmem_rouge_l_f1", "quiz", "ingest-quiz");
        assertEquals(Map.of("the northern pier", 1, "the harbour", 1, "her brother", 1),
                counts(knowmem.keySet()), "the first two pairs are the few-shot examples, not scored");
        Map<String, Row> mcq = byAnswer("mcq_accuracy", "quiz", "ingest-quiz");
        assertEquals(4, mcq.size());
        assertNull(value(mcq.get("Vik")), "no wrong option: not computable");

        double verbSum = 0;
        int verbN = 0;
        try (LanguageModel lm = LanguageModel.load(model, ModelSettings.defaults())) {
            LmTokenizer tok = lm.tokenizer();
            List<String> passages = new ArrayList<>(List.of(SENTENCES));
            passages.add("Dawn is near.");
            for (String passage : passages) {
                long[] ids = tok.encode(passage, false);
                assertEquals(passage.length(), ids.length, "one token per byte");
                long[] prompt = new long[13];
                prompt[0] = tok.bosId();
                System.arraycopy(ids, 0, prompt, 1, 12);
                // Without the KV cache and alone: batching and caching must not change a value
                String text = tok.decode(GreedyDecoder.generate(lm, List.of(prompt), 16, false).get(0));
                String truth = passage.substring(12, Math.min(passage.length(), 28));
                double f1 = Rouge.rougeL(truth, text, false).f1();
                assertEquals(f1, value(verbmem.get(passage)), 1e-12, passage);
                assertEquals(text.strip(), verbmem.get(passage).getAs("generation"));
                verbSum += f1;
                verbN++;
            }
            double knowSum = 0;
            int cut = 0;
            for (String[] p : Arrays.copyOfRange(KNOW, 2, 5)) {
                long[] prompt = tok.encode(PREFIX + "Question: " + p[0] + "\nAnswer: ", true);
                String raw = tok.decode(GreedyDecoder.generate(lm, List.of(prompt), 24, false).get(0));
                String answer = MuseMetrics.cutAtStop(raw);
                cut += answer.length() < raw.length() ? 1 : 0;
                assertEquals(Rouge.rougeL(p[1], answer, false).f1(), value(knowmem.get(p[1])), 1e-12, p[0]);
                assertEquals(answer.strip(), knowmem.get(p[1]).getAs("generation"));
                knowSum += value(knowmem.get(p[1]));
            }
            assertEquals(knowSum / 3, s.value("forget_knowmem_rouge_l_f1"), 1e-12);
            assertTrue(cut > 0, "the trained model starts the next block: a stop string was cut");
            assertTrue(knowSum > 0, "the trained model recalls some answers");

            // Multiple choice: every option scored alone with LmScorer; the answer must strictly win
            PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());
            String[][] quiz = {{"Colour of the sea?", "grey", "red", "pink", "gold"},
                {"Season of the frost?", "winter", "summer"}, {"Number of piers?", "one", "two", "three"}};
            double mcqSum = 0;
            for (String[] q : quiz) {
                double answer = meanNll(lm, template.encode(tok, q[0], q[1]));
                boolean wins = true;
                for (int o = 2; o < q.length; o++) {
                    wins &= answer < meanNll(lm, template.encode(tok, q[0], q[o]));
                }
                assertEquals(wins ? 1.0 : 0.0, value(mcq.get(q[1])), q[0]);
                mcqSum += wins ? 1 : 0;
            }
            assertEquals(mcqSum / 3, s.value("trivia_mcq_accuracy"), 1e-12);
            assertTrue(mcqSum > 0, "the trained answers win");
        }
        Map<String, Row> summary = new HashMap<>();
        for (Row r : store.read("eval_summary").filter("run_id = 'muse'").collectAsList()) {
            summary.put(r.getAs("metric"), r);
        }
        Row verb = summary.get("forget_verbmem_rouge_l_f1");
        assertEquals(4L, (long) verb.<Long>getAs("n"), "the two short passages do not count");
        assertEquals(verbSum / verbN, verb.<Double>getAs("value"), 1e-12);
        assertTrue(verbSum > 0, "the trained model continues the passages it saw");
        assertEquals("forget.verbmem_rouge_l_f1", verb.getAs("depends_on"));
        assertEquals(3L, (long) summary.get("forget_knowmem_rouge_l_f1").<Long>getAs("n"));
        assertEquals(3L, (long) summary.get("trivia_mcq_accuracy").<Long>getAs("n"));
        assertEquals("trivia", summary.get("trivia_mcq_accuracy").getAs("split"));
        // Not configured: NULL with the reason, n = 0, never 0
        Row retain = summary.get("retain_knowmem_rouge_l_f1");
        assertNull(retain.getAs("value"));
        assertEquals(0L, (long) retain.<Long>getAs("n"));
        assertEquals("not evaluated: no retain.knowmem_rouge_l_f1 values (lethe.eval.muse.knowmem_retain_split is not"
                + " set)", retain.getAs("missing_reason"));
        assertNull(s.value("retain_knowmem_rouge_l_f1"));
    }

    @Test
    void onlyUnconfiguredMuseSetsAreMissingAndAllShortPassagesGiveAReason() {
        // A prompt longer than every passage: every VerbMem value is NULL, the aggregate says why
        EvaluateJob.Summary s = new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config(
                "eval.muse.verbmem_split=books_forget", "eval.muse.prompt_tokens=64")), "short", model.toString(), null);
        assertEquals(Map.of("forget_verbmem_rouge_l_f1", 6L), s.skipped());
        Row verb = store.read("eval_summary").filter("run_id = 'short' AND metric = 'forget_verbmem_rouge_l_f1'").head();
        assertNull(verb.getAs("value"));
        assertEquals("all 6 samples have a NULL verbmem_rouge_l_f1 (passages of at most lethe.eval.muse.prompt_tokens"
                + " tokens have no continuation)", verb.getAs("missing_reason"));
        for (String metric : List.of("forget_knowmem_rouge_l_f1", "retain_knowmem_rouge_l_f1")) {
            Row r = store.read("eval_summary").filter("run_id = 'short' AND metric = '" + metric + "'").head();
            assertNull(r.getAs("value"), metric);
            assertTrue(r.<String>getAs("missing_reason").startsWith("not evaluated: "), metric);
        }
    }

    @Test
    void badExtraSetsAreClearErrors() {
        EvaluateJob job = new EvaluateJob(SPARK.session(), store);
        // Settings errors come from the request's factory, before any Spark work
        assertTrue(assertThrows(IllegalArgumentException.class, () -> EvaluateRequest.of(config()))
                .getMessage().contains("no eval set is configured"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> EvaluateRequest.of(config("eval.mcq_sets=[\"quiz:Quiz-A\"]")))
                .getMessage().startsWith("lethe.eval.mcq_sets: 'quiz:Quiz-A': the set's name 'Quiz-A' must be snake_case"));
        // Data errors from the job, when it reads the ingested sets
        EvaluateRequest typo = EvaluateRequest.of(config("eval.muse.verbmem_split=book_forget"));
        assertEquals("lethe.eval.muse.verbmem_split: dataset 'books' (ingest run ingest-books) has no samples in split"
                + " 'book_forget'", assertThrows(IllegalArgumentException.class,
                        () -> job.run(typo, "x", model.toString(), null)).getMessage());
        EvaluateRequest fewShot = EvaluateRequest.of(config("eval.muse.knowmem_split=\"quiz:know\"",
                "eval.muse.few_shot=6"));
        assertEquals("lethe.eval.muse.knowmem_split: 5 items, fewer than lethe.eval.muse.few_shot = 6 few-shot examples",
                assertThrows(IllegalArgumentException.class, () -> job.run(fewShot, "x", model.toString(), null))
                        .getMessage());
    }

    @Test
    void mcqPicksTheOptionWithTheLowestNll() {
        PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());
        String q = "Which ship came first?";
        List<String> options = List.of("the Aurora", "a fishing boat", "Nordlys", "the ferry from Bergen");
        try (LanguageModel lm = LanguageModel.load(model, ModelSettings.defaults())) {
            double[] nll = options.stream().mapToDouble(o -> meanNll(lm, template.encode(lm.tokenizer(), q, o))).toArray();
            int best = 0;
            int worst = 0;
            for (int i = 1; i < nll.length; i++) {
                best = nll[i] < nll[best] ? i : best;
                worst = nll[i] > nll[worst] ? i : worst;
            }
            assertNotEquals(best, worst);
            List<SampleMetrics.Item> items = List.of(item("best", q, options, best), item("worst", q, options, worst),
                    new SampleMetrics.Item("quiz", "alone", q, options.get(0), null, null, null));
            List<SampleMetrics.Value> v = SampleMetrics.mcq(lm, items, template);
            assertEquals(Arrays.asList(1.0, 0.0, null), v.stream().map(SampleMetrics.Value::value).toList(),
                    "mean NLLs " + Arrays.toString(nll));
            assertEquals(List.of("best", "worst", "alone"), v.stream().map(SampleMetrics.Value::sampleId).toList());
        }
    }

    private static SampleMetrics.Item item(String id, String q, List<String> options, int answer) {
        List<String> wrong = new ArrayList<>(options);
        wrong.remove(answer);
        return new SampleMetrics.Item("quiz", id, q, options.get(answer), null, wrong, null);
    }

    /** This run's eval_samples rows of {@code metric}, by the item's answer text. */
    private static Map<String, Row> byAnswer(String metric, String dataset, String dataRun) {
        Map<String, Row> out = new HashMap<>();
        for (Row r : store.read("eval_samples").filter("run_id = 'muse' AND metric = '" + metric + "'")
                .join(store.read("examples").filter("run_id = '" + dataRun + "' AND dataset = '" + dataset + "'")
                        .select("sample_id", "answer"), "sample_id").collectAsList()) {
            out.put(r.getAs("answer"), r);
        }
        return out;
    }

    private static Map<String, Integer> counts(Iterable<String> keys) {
        Map<String, Integer> out = new HashMap<>();
        keys.forEach(k -> out.merge(k, 1, Integer::sum));
        return out;
    }

    private static Double value(Row r) {
        return r.isNullAt(r.fieldIndex("value")) ? null : r.getDouble(r.fieldIndex("value"));
    }

    private static double meanNll(LanguageModel lm, PromptTemplate.Encoded e) {
        float[] logp = LmScorer.tokenLogProbs(lm, List.of(e.ids())).get(0);
        double sum = 0;
        for (int t = e.promptTokens() - 1; t < logp.length; t++) {
            sum -= logp[t];
        }
        return sum / (logp.length - e.promptTokens() + 1);
    }
}
