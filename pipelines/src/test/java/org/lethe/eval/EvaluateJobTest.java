package org.lethe.eval;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.data.PromptTemplate;
import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmScorer;
import org.lethe.model.ModelSettings;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.lethe.text.Rouge;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.lethe.testing.TinyModels;

/** evaluate on a tiny model: every per-sample value equals the same quantity computed one sample at a time. */
class EvaluateJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;
    private static Path model;

    @BeforeAll
    static void data() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(3, 3, 10).write(bench, 512);
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        model = TinyModels.save(bench, 11, shared.resolve("model"));
    }

    private static LetheConfig config(String... extra) {
        List<String> sets = new ArrayList<>(List.of("eval.dataset=synth", "eval.max_samples=4", "eval.max_new_tokens=6",
                "eval.batch_size=3", "model.threads=1"));
        sets.addAll(List.of(extra));
        return LetheConfig.load(Optional.empty(), sets);
    }

    @Test
    void everyValueMatchesTheOneSampleComputation() {
        EvaluateJob.Summary s = new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config()), "target",
                model.toString(), null);
        assertEquals(0, s.step());
        assertNull(s.value("forget_quality"), "no retain run: missing, not zero");
        // An untrained model generates nothing of the answers: ROUGE-L 0, so the harmonic mean is 0.
        assertEquals(0.0, s.value("retain_rouge_l_recall"));
        assertEquals(0.0, s.value("model_utility"));
        assertTrue(s.value("real_authors_probability") > 0.2 && s.value("real_authors_probability") < 0.3,
                "normalized over the answer and its 3 perturbations: about 1/4");
        // The same model against itself as the retain run: identical truth ratios, forget quality 1.
        EvaluateJob.Summary self = new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config()), "same",
                model.toString(), "target");
        assertEquals(1.0, self.value("forget_quality"), 1e-12);
        Row fq = store.read("eval_summary").filter("run_id = 'target' AND metric = 'forget_quality'").head();
        assertTrue(fq.isNullAt(fq.fieldIndex("value")));
        assertEquals("no retain run given", fq.getString(fq.fieldIndex("missing_reason")));
        // forget10 of 3 authors is one author (10 items): the first 4 of each set are evaluated.
        assertEquals(4L, s.items().get("forget"));
        assertEquals(4L, s.items().get("retain"));
        List<Row> rows = store.read("eval_samples").filter("run_id = 'target' AND split = 'forget'").collectAsList();
        Map<String, Map<String, Row>> bySample = new HashMap<>();
        for (Row r : rows) {
            bySample.computeIfAbsent(r.getString(r.fieldIndex("sample_id")), x -> new HashMap<>())
                    .put(r.getString(r.fieldIndex("metric")), r);
        }
        assertEquals(4, bySample.size());
        Row item = store.read("examples").filter("run_id = 'ingest-synth'")
                .join(store.read("eval_samples").filter("run_id = 'target' AND split = 'forget'").select("sample_id")
                        .distinct(), "sample_id")
                .orderBy("sample_id").head();
        String id = item.getString(item.fieldIndex("sample_id"));
        Map<String, Row> metrics = bySample.get(id);
        PromptTemplate template = PromptTemplate.of(LetheConfig.defaults());
        try (LanguageModel lm = LanguageModel.load(model, ModelSettings.defaults())) {
            String q = item.getString(item.fieldIndex("question"));
            String a = item.getString(item.fieldIndex("answer"));
            double nll = meanNll(lm, template.encode(lm.tokenizer(), q, a));
            assertEquals(nll, value(metrics, "mean_nll"), 1e-4);
            assertEquals(Math.exp(-nll), value(metrics, "probability"), 1e-5);
            double para = meanNll(lm, template.encode(lm.tokenizer(), q, item.getString(item.fieldIndex("paraphrased_answer"))));
            List<String> perturbed = item.getList(item.fieldIndex("perturbed_answers"));
            double pert = 0;
            for (String p : perturbed) {
                pert += meanNll(lm, template.encode(lm.tokenizer(), q, p));
            }
            double best = Double.MAX_VALUE;
            for (String p : perturbed) {
                best = Math.min(best, meanNll(lm, template.encode(lm.tokenizer(), q, p)));
            }
            pert /= perturbed.size();
            assertEquals(Math.exp(para - pert), value(metrics, "truth_ratio"), 1e-4);
            assertEquals(nll < best ? 1.0 : 0.0, value(metrics, "mcq_accuracy"), "answer beats every wrong option");
            String pq = item.getString(item.fieldIndex("paraphrased_question"));
            if (pq != null) {
                assertEquals(Math.exp(-meanNll(lm, template.encode(lm.tokenizer(), pq, a))),
                        value(metrics, "paraphrased_question_probability"), 1e-5);
            }
            long[] prompt = lm.tokenizer().encode(template.generationPrompt(q), true);
            long[] gen = GreedyDecoder.generate(lm, List.of(prompt), 6, false).get(0);
            String text = lm.tokenizer().decode(gen).strip();
            Row rouge = metrics.get("rouge_l_recall");
            assertEquals(text, rouge.getString(rouge.fieldIndex("generation")));
            assertEquals(Rouge.rougeL(a, text, true).recall(), value(metrics, "rouge_l_recall"), 1e-12);
            assertEquals(TokenEntropy.normalized(gen), value(metrics, "token_entropy"), 1e-12);
            assertEquals(nll, value(metrics, "mia_loss"), 1e-4);
            assertTrue(value(metrics, "mia_gradient_norm") > 0);
            assertTrue(value(metrics, "exact_memorization") >= 0 && value(metrics, "exact_memorization") <= 1);
        }
        assertNull(bySample.get(id).get("mia_reference"), "no reference model configured");
        // Real authors: normalized probability over the answer and its perturbations, all in (0, 1).
        for (Row r : store.read("eval_samples").filter("run_id = 'target' AND split = 'real_authors' AND metric ="
                + " 'probability'").collectAsList()) {
            double p = r.getDouble(r.fieldIndex("value"));
            assertTrue(p > 0 && p < 1, "normalized probability " + p);
        }
    }

    @Test
    void checkpointsAreEvaluatedAtTheirStepsAndReRunsReplace(@TempDir Path tmp) throws Exception {
        // A training output with two committed checkpoints (the same weights; trainer_state.json gives
        // the step) and one without commit marker (its writer died), which is not evaluated.
        Path out = tmp.resolve("output");
        for (int step : new int[] {20, 10, 30}) {
            Path c = tmp.resolve("staging-" + step);
            java.nio.file.Files.createDirectories(c);
            try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(model)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    java.nio.file.Files.copy(f, c.resolve(f.getFileName()));
                }
            }
            java.nio.file.Files.writeString(c.resolve("trainer_state.json"), "{\"global_step\": " + step + "}");
            org.lethe.storage.CommittedDirectory.commit(c, new org.apache.hadoop.fs.Path(
                    out.resolve("checkpoint-" + step).toUri()), new org.apache.hadoop.conf.Configuration());
        }
        java.nio.file.Files.delete(out.resolve("checkpoint-30").resolve(org.lethe.storage.CommittedDirectory.MARKER));
        EvaluateJob job = new EvaluateJob(SPARK.session(), store);
        EvaluateRequest request = EvaluateRequest.of(config("eval.sets.real_authors=\"\"",
                "eval.sets.world_facts=\"\"", "eval.sets.holdout=\"\""));
        List<EvaluateJob.Summary> first = job.runAll(request, "curve", out.toString(), null);
        assertEquals(List.of(10L, 20L), first.stream().map(EvaluateJob.Summary::step).toList());
        job.runAll(request, "curve", out.toString(), null);
        List<Row> counts = store.read("eval_samples").filter("run_id = 'curve'").groupBy("step").count()
                .orderBy("step").collectAsList();
        assertEquals(2, counts.size());
        assertEquals(first.get(0).values(), counts.get(0).getLong(1), "a re-run replaces step 10's rows");
        assertEquals(first.get(1).values(), counts.get(1).getLong(1));
    }

    @Test
    void judgesScoreGenerationsAndTheirAbsenceIsAReasonNotAZero(@TempDir Path tmp) throws Exception {
        Path encoder = org.lethe.judge.TinyJudgeModels.bertSentence(tmp.resolve("encoder"));
        Path nli = org.lethe.judge.TinyJudgeModels.bertNli(tmp.resolve("nli"));
        String[] onlyForget = {"eval.sets.retain=\"\"", "eval.sets.real_authors=\"\"", "eval.sets.world_facts=\"\"",
            "eval.sets.holdout=\"\"", "eval.mia_gradient_norm=false"};
        List<String> with = new ArrayList<>(List.of(onlyForget));
        with.add("eval.judges.encoder=" + encoder);
        with.add("eval.judges.nli=" + nli);
        new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config(with.toArray(new String[0]))), "judged",
                model.toString(), null);
        List<Row> rows = store.read("eval_samples").filter("run_id = 'judged' AND split = 'forget'").collectAsList();
        Map<String, String> generation = new HashMap<>();
        Map<String, Double> cosine = new HashMap<>();
        Map<String, Double> rouge = new HashMap<>();
        Map<String, Double> entail = new HashMap<>();
        for (Row r : rows) {
            String id = r.getString(r.fieldIndex("sample_id"));
            switch (r.getString(r.fieldIndex("metric"))) {
                case "rouge_l_recall" -> {
                    generation.put(id, r.getString(r.fieldIndex("generation")));
                    rouge.put(id, r.getDouble(r.fieldIndex("value")));
                }
                case "cosine_similarity" -> cosine.put(id, r.getDouble(r.fieldIndex("value")));
                case "entailment" -> entail.put(id, r.getDouble(r.fieldIndex("value")));
                default -> { }
            }
        }
        assertEquals(4, cosine.size());
        Map<String, String> answers = new HashMap<>();
        for (Row r : store.read("examples").filter("run_id = 'ingest-synth'").select("sample_id", "answer").collectAsList()) {
            answers.put(r.getString(0), r.getString(1));
        }
        try (org.lethe.judge.SentenceEncoder judge = org.lethe.judge.SentenceEncoder.load(encoder, ModelSettings.defaults())) {
            for (String id : cosine.keySet()) {
                float expected = judge.similarity(List.of(generation.get(id)), List.of(answers.get(id)))[0];
                assertEquals(expected, cosine.get(id), 1e-6, "max(0, cos) of generation and answer");
                // ROUGE-L recall below 0.1 means not entailed, whatever the NLI model says.
                if (rouge.get(id) < 0.1) {
                    assertEquals(0.0, entail.get(id));
                }
            }
        }
        // Without judges: NULL aggregates that say why.
        new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(config(onlyForget)), "unjudged",
                model.toString(), null);
        Row missing = store.read("eval_summary").filter("run_id = 'unjudged' AND metric = 'forget_cosine_similarity'").head();
        assertTrue(missing.isNullAt(missing.fieldIndex("value")));
        assertEquals("no sentence-encoder judge configured (lethe.eval.judges.encoder)",
                missing.getString(missing.fieldIndex("missing_reason")));
    }

    @Test
    void relearningOnTheForgetSetBringsItsProbabilityBack() throws Exception {
        LetheConfig c = config("eval.sets.real_authors=\"\"", "eval.sets.world_facts=\"\"",
                "eval.sets.holdout=\"\"", "eval.mia_gradient_norm=false", "eval.relearn.steps=3",
                "eval.relearn.lr=1e-2", "eval.relearn.batch_size=4");
        EvaluateJob.Summary victim = new EvaluateJob(SPARK.session(), store).run(EvaluateRequest.of(c), "victim",
                model.toString(), null);
        RelearnJob.Summary attack = new RelearnJob(SPARK.session(), store, "test").run(RelearnRequest.of(c), "victim",
                model.toString(), null);
        assertEquals("victim-relearn", attack.relearnRunId());
        double before = victim.value("forget_probability");
        assertEquals(before, attack.before().get("forget_probability").asDouble(), 1e-12);
        double after = attack.after().get("forget_probability").asDouble();
        assertTrue(after > 2 * before, "3 steps at lr 1e-2 on forget10: " + before + " -> " + after);
        Row row = store.read("eval_summary").filter("run_id = 'victim' AND metric = 'relearn_forget_probability'").head();
        assertEquals(after, row.getDouble(row.fieldIndex("value")), 1e-12);
        assertTrue(row.getString(row.fieldIndex("depends_on")).startsWith("victim-relearn@3:"));
    }

    @Test
    void selectBestTakesTheHighestForgetQualityThatKeepsUtility() {
        List<EvalTables.Summary> rows = new ArrayList<>();
        double[][] steps = {{10, 0.1, 0.8}, {20, 0.5, 0.5}, {30, 0.5, 0.9}};
        for (double[] st : steps) {
            rows.add(summary("sel", (long) st[0], "forget_quality", st[1]));
            rows.add(summary("sel", (long) st[0], "model_utility", st[2]));
        }
        rows.add(summary("sel-target", 0, "model_utility", 0.9));
        EvalTables.writeSummary(store, EvalTables.summaries(SPARK.session(), rows));
        // No utility condition: 0.5 at steps 20 and 30, the earlier wins.
        EvaluateJob job = new EvaluateJob(SPARK.session(), store);
        assertEquals(20, job.selectBest(EvaluateRequest.of(config()), "sel").step());
        // Utility >= 0.9 x 0.9 = 0.81: only step 30 qualifies.
        EvaluateJob.Selection s = job.selectBest(EvaluateRequest.of(
                config("eval.select.utility_reference_run=sel-target")), "sel");
        assertEquals(30, s.step());
        assertEquals(0.9, s.modelUtility());
        IllegalStateException none = assertThrows(IllegalStateException.class, () -> job.selectBest(
                EvaluateRequest.of(config("eval.select.utility_reference_run=sel-target",
                        "eval.select.min_utility_ratio=1.5")), "sel"));
        assertTrue(none.getMessage().contains("no evaluated step of run sel satisfies"), none.getMessage());
    }

    private static EvalTables.Summary summary(String run, long step, String metric, double value) {
        return new EvalTables.Summary(run, step, "synth", metric.equals("forget_quality") ? "forget" : null, metric,
                value, 1, null, null, "test");
    }

    @Test
    void badSettingsNameTheKey() {
        // A split without samples is found when the job reads the data.
        EvaluateRequest forget42 = EvaluateRequest.of(config("eval.sets.forget=forget42"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new EvaluateJob(SPARK.session(),
                store).run(forget42, "bad", model.toString(), null));
        assertEquals("lethe.eval.sets.forget: dataset 'synth' (ingest run ingest-synth) has no samples in split"
                + " 'forget42'", e.getMessage());
        // A bad value is found by the request's factory, before any Spark work.
        e = assertThrows(IllegalArgumentException.class, () -> EvaluateRequest.of(config("eval.mia_k=1.5")));
        assertEquals("lethe.eval.mia_k must be in (0, 1], got 1.5", e.getMessage());
    }

    private static double value(Map<String, Row> metrics, String name) {
        Row r = metrics.get(name);
        return r.getDouble(r.fieldIndex("value"));
    }

    private static double meanNll(LanguageModel lm, PromptTemplate.Encoded e) {
        float[] lp = LmScorer.tokenLogProbs(lm, List.of(e.ids())).get(0);
        double s = 0;
        for (int t = e.promptTokens() - 1; t < lp.length; t++) {
            s -= lp[t];
        }
        return s / (lp.length - e.promptTokens() + 1);
    }
}
