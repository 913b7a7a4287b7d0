package org.lethe.eval;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.data.SampleIds;
import org.lethe.eval.EvalTables.Summary;
import org.lethe.eval.ImportEvalJob.Format;
import org.lethe.eval.ImportEvalJob.Request;
import org.lethe.store.TableStore;
import org.lethe.testing.Fixtures;
import org.lethe.testing.TestSpark;

/**
 * {@code import-eval}'s job: TOFU's own Llama-2-7b eval logs give TOFU's published forget quality
 * and model utilities through eval_samples and the shared aggregation; open-unlearning's
 * TOFU_EVAL.json (a hand-written fixture in its format) maps to the same per-sample metrics;
 * logged items find their ingested sample ids; re-imports replace.
 */
class ImportEvalJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static Path tofuLogs() {
        Path dir = Fixtures.root().resolve("tofu").resolve("eval_logs_llama2_7b");
        Assumptions.assumeTrue(Files.isDirectory(dir), dir + " not found: skipping");
        return dir;
    }

    private static Path openUnlearningFixture() throws URISyntaxException {
        return Path.of(ImportEvalJobTest.class.getResource("open_unlearning_TOFU_EVAL.json").toURI());
    }

    private static Map<String, Summary> summary(TableStore store, String runId) {
        return store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(runId)).collectAsList().stream()
                .map(Summary::fromRow).collect(Collectors.toMap(Summary::metric, Function.identity()));
    }

    private static long count(TableStore store, String table, String runId) {
        return store.read(table).filter(col("run_id").equalTo(runId)).count();
    }

    @Test
    void tofuLogsGiveTheGoldenForgetQualityAndModelUtility(@TempDir Path root) {
        Path dir = tofuLogs();
        Path full = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json");
        Path retain = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json");
        TableStore store = new TableStore(SPARK.session(), root.toString());
        ImportEvalJob job = new ImportEvalJob(SPARK.session(), store);

        ImportEvalJob.Result r90 = job.run(new Request(Format.TOFU_LOG, retain, "tofu_retain90", "forget10", null, "tofu", 0));
        assertEquals(Map.of("forget", 300, "retain", 300, "real_authors", 100, "world_facts", 117), r90.samplesBySplit());
        assertEquals(6 * 817, r90.evalSamples());
        assertEquals(0, r90.idsFromExamples());
        Map<String, Summary> retainRows = summary(store, "tofu_retain90");
        // Published 0.6137; aggregate_eval_stat.py 0.613744995233942
        assertEquals(0.6137, retainRows.get("model_utility").value(), 1e-4);
        assertEquals(0.613744995233942, retainRows.get("model_utility").value(), 1e-12);
        assertNull(retainRows.get("forget_quality").value());
        assertEquals("no retain run given", retainRows.get("forget_quality").missingReason());
        assertNull(retainRows.get("privleak").value());

        job.run(new Request(Format.TOFU_LOG, full, "tofu_full", "forget10", "tofu_retain90", "tofu", 0));
        Map<String, Summary> fullRows = summary(store, "tofu_full");
        Summary fq = fullRows.get("forget_quality");
        // Published 1.83e-21; aggregate_eval_stat.py 1.834066410994743e-21 (exact, 300 vs 300)
        assertEquals(1.83e-21, fq.value(), 1e-2 * 1.83e-21);
        assertEquals(1.834066410994743e-21, fq.value(), 1e-9 * 1.834066410994743e-21);
        assertEquals(300, fq.n());
        assertEquals("tofu_retain90", fq.retainRunId());
        assertEquals("forget.truth_ratio, tofu_retain90@0:forget.truth_ratio", fq.dependsOn());
        // Published 0.6227; aggregate_eval_stat.py 0.6226773637427152, and its components
        assertEquals(0.6227, fullRows.get("model_utility").value(), 1e-4);
        assertEquals(0.6226773637427152, fullRows.get("model_utility").value(), 1e-12);
        assertEquals(0.9895272273969067, fullRows.get("retain_probability").value(), 1e-12);
        assertEquals(0.45548207783762884, fullRows.get("real_authors_probability").value(), 1e-12);
        assertEquals(0.5390328416393139, fullRows.get("world_facts_truth_ratio").value(), 1e-12);
        assertEquals(0.5159854212808593, fullRows.get("forget_truth_ratio").value(), 1e-12);
        assertEquals(0.985449693916369, fullRows.get("forget_rouge_l_recall").value(), 1e-12);
        // Forget efficacy over the three forget measures a TOFU log has
        assertEquals(1 - (0.985449693916369 + 0.9909385566403208 + 1 - 0.5159854212808593) / 3,
                fullRows.get("forget_efficacy").value(), 1e-12);
        assertEquals("forget.rouge_l_recall, forget.probability, forget.truth_ratio",
                fullRows.get("forget_efficacy").dependsOn());

        // Re-importing the retain run against itself replaces its rows: same counts, forget quality 1
        long samples = count(store, EvalTables.EVAL_SAMPLES, "tofu_retain90");
        long summaries = count(store, EvalTables.EVAL_SUMMARY, "tofu_retain90");
        job.run(new Request(Format.TOFU_LOG, retain, "tofu_retain90", "forget10", "tofu_retain90", "tofu", 0));
        assertEquals(samples, count(store, EvalTables.EVAL_SAMPLES, "tofu_retain90"));
        assertEquals(summaries, count(store, EvalTables.EVAL_SUMMARY, "tofu_retain90"));
        assertEquals(1.0, summary(store, "tofu_retain90").get("forget_quality").value(), 0.0);
        // The other run is untouched
        assertEquals(1.834066410994743e-21, summary(store, "tofu_full").get("forget_quality").value(),
                1e-9 * 1.834066410994743e-21);
        // The generation is kept with the ROUGE value
        Row first = store.read(EvalTables.EVAL_SAMPLES).filter(col("run_id").equalTo("tofu_full")
                .and(col("split").equalTo("forget")).and(col("sample_id").equalTo("tofu:forget:0"))
                .and(col("metric").equalTo("rouge_l_recall"))).first();
        assertEquals("The author's full name is Hsiao Yun-Hwa.", first.getAs("generation"));
    }

    @Test
    void openUnlearningEvalMapsToTheSameMetrics(@TempDir Path root) throws Exception {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        ImportEvalJob job = new ImportEvalJob(SPARK.session(), store);
        ImportEvalJob.Result result = job.run(new Request(Format.OPEN_UNLEARNING, openUnlearningFixture(), "ou_model",
                "forget10", null, "tofu", 7));
        assertEquals(List.of("forget_Q_A_gibberish"), result.skipped());
        assertEquals(0.5082922456297625, result.reported().get("model_utility"), 0.0);
        assertEquals(Map.of("forget", 3, "retain", 2, "real_authors", 2, "world_facts", 2, "holdout", 2),
                result.samplesBySplit());

        Map<String, Summary> rows = summary(store, "ou_model");
        assertEquals(7, rows.get("model_utility").step());
        assertEquals(0.5, rows.get("forget_probability").value(), 1e-12);
        assertEquals(0.5, rows.get("forget_rouge_l_recall").value(), 1e-12);
        assertEquals((0.8 + 0.5 + 0.0) / 3, rows.get("forget_rouge_l_f1").value(), 1e-12);
        assertEquals(2.0 / 3, rows.get("forget_truth_ratio").value(), 1e-12);
        assertEquals((Math.log(2) + Math.log(4) - Math.log(0.75)) / 3, rows.get("forget_mean_nll").value(), 1e-12);
        assertEquals(0.916290731874155, rows.get("forget_paraphrased_mean_nll").value(), 1e-12);
        assertEquals((1.5 + 0.5 + 3.5) / 3, rows.get("forget_perturbed_mean_nll").value(), 1e-12);
        assertEquals(0.5, rows.get("forget_extraction_strength").value(), 1e-12);
        // The NULL score of sample 2 is left out, not counted as 0
        assertEquals(0.75, rows.get("forget_exact_memorization").value(), 1e-12);
        assertEquals(2, rows.get("forget_exact_memorization").n());
        assertEquals(0.5, rows.get("real_authors_probability").value(), 1e-12);
        assertEquals(1.5, rows.get("real_authors_mean_nll").value(), 1e-12);
        assertEquals(0.6, rows.get("retain_truth_ratio").value(), 1e-12);
        assertEquals(0.25, rows.get("world_facts_truth_ratio").value(), 1e-12);
        // The log's own model utility, recomputed from the per-sample values
        assertEquals(0.5082922456297625, rows.get("model_utility").value(), 1e-12);
        // Min-K AUC' 0.25 against the default 0.5, as open-unlearning's privleak -50
        assertEquals(-50.0, rows.get("privleak").value(), 1e-12);
        assertEquals(2.0, rows.get("forget_mia_min_k").value(), 1e-12);
        assertEquals(1 - (0.5 + 0.5 + 1.0 / 3) / 3, rows.get("forget_efficacy").value(), 1e-12);

        // The same log as its own retain run: forget quality 1, privleak 0
        job.run(new Request(Format.OPEN_UNLEARNING, openUnlearningFixture(), "ou_self", "forget10", "ou_model", "tofu", 7));
        Map<String, Summary> self = summary(store, "ou_self");
        assertEquals(1.0, self.get("forget_quality").value(), 0.0);
        assertEquals(3, self.get("forget_quality").n());
        assertEquals(0.0, self.get("privleak").value(), 1e-12);
        assertEquals("forget.mia_min_k, holdout.mia_min_k, ou_model@7:forget.mia_min_k, ou_model@7:holdout.mia_min_k",
                self.get("privleak").dependsOn());
    }

    @Test
    void loggedItemsFindTheirIngestedSampleIds(@TempDir Path root) throws Exception {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        String[][] examples = {
            {"Who wrote The Salt Road?", "Mira Kessel wrote it."},
            {"Where was Mira Kessel born?", "In Tallinn."},
            {"Who wrote Hamlet?", "William Shakespeare"},
            // Same answer, a question not in the prompt: never matched
            {"Who wrote Othello?", "William Shakespeare"},
        };
        StructType exampleSchema = new StructType().add("run_id", DataTypes.StringType).add("dataset", DataTypes.StringType)
                .add("sample_id", DataTypes.StringType).add("question", DataTypes.StringType)
                .add("answer", DataTypes.StringType);
        StructType membershipSchema = new StructType().add("run_id", DataTypes.StringType)
                .add("dataset", DataTypes.StringType).add("split", DataTypes.StringType)
                .add("sample_id", DataTypes.StringType);
        List<Row> exampleRows = new ArrayList<>();
        List<Row> memberships = new ArrayList<>();
        for (String[] qa : examples) {
            String id = SampleIds.of(qa[0], qa[1]);
            exampleRows.add(RowFactory.create("ingest-tofu", "tofu", id, qa[0], qa[1]));
        }
        memberships.add(RowFactory.create("ingest-tofu", "tofu", "forget10", SampleIds.of(examples[0][0], examples[0][1])));
        memberships.add(RowFactory.create("ingest-tofu", "tofu", "forget10", SampleIds.of(examples[1][0], examples[1][1])));
        memberships.add(RowFactory.create("ingest-tofu", "tofu", "forget05", SampleIds.of(examples[1][0], examples[1][1])));
        store.write("examples", SPARK.session().createDataFrame(exampleRows, exampleSchema));
        store.write("memberships", SPARK.session().createDataFrame(memberships, membershipSchema), "dataset", "split");

        ImportEvalJob job = new ImportEvalJob(SPARK.session(), store);
        ImportEvalJob.Result result = job.run(new Request(Format.OPEN_UNLEARNING, openUnlearningFixture(), "ou",
                "forget10", null, "tofu", 0));
        assertEquals(3, result.idsFromExamples());
        List<String> forgetIds = store.read(EvalTables.EVAL_SAMPLES)
                .filter(col("split").equalTo("forget").and(col("metric").equalTo("probability")))
                .orderBy("sample_id").select("sample_id").as(Encoders.STRING()).collectAsList();
        List<String> expected = new ArrayList<>(List.of(SampleIds.of(examples[0][0], examples[0][1]),
                SampleIds.of(examples[1][0], examples[1][1]), "tofu:forget:2"));
        expected.sort(null);
        assertEquals(expected, forgetIds);
        // The MIA scores of forget item 0 land on the same sample as its other metrics
        assertEquals(1, store.read(EvalTables.EVAL_SAMPLES).filter(col("metric").equalTo("mia_min_k")
                .and(col("sample_id").equalTo(SampleIds.of(examples[0][0], examples[0][1])))).count());
        assertEquals(1, store.read(EvalTables.EVAL_SAMPLES).filter(col("split").equalTo("real_authors")
                .and(col("metric").equalTo("probability"))
                .and(col("sample_id").equalTo(SampleIds.of(examples[2][0], examples[2][1])))).count());

        // A forget set that is not the split named: refused, naming it
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> job.run(new Request(
                Format.OPEN_UNLEARNING, openUnlearningFixture(), "ou", "forget05", null, "tofu", 0)));
        assertEquals("--forget-split forget05: 1 of 2 forget samples of the log are not in that split of dataset tofu",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> job.run(new Request(
                Format.OPEN_UNLEARNING, openUnlearningFixture(), "ou", "forget01", null, "tofu", 0)));
        assertEquals("--forget-split forget01: dataset tofu has no such split in memberships", e.getMessage());
    }

    @Test
    void badInputsAreNamed(@TempDir Path dir) throws Exception {
        TableStore store = new TableStore(SPARK.session(), dir.resolve("root").toString());
        ImportEvalJob job = new ImportEvalJob(SPARK.session(), store);
        Path missing = dir.resolve("nope.json");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> job.run(
                new Request(Format.TOFU_LOG, missing, "r", "forget10", null, "tofu", 0)));
        assertEquals("--input " + missing + ": no such file", e.getMessage());

        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"forget_Q_A_Prob\": {\"value_by_index\": {\"0\": {\"prob\": \"x\", \"avg_loss\": 1}}}}");
        e = assertThrows(IllegalArgumentException.class, () -> job.run(
                new Request(Format.OPEN_UNLEARNING, bad, "r", "forget10", null, "tofu", 0)));
        assertEquals(bad + " forget_Q_A_Prob value_by_index[\"0\"] prob: expected a number or a list of numbers, got \"x\"",
                e.getMessage());

        Path empty = dir.resolve("empty.json");
        Files.writeString(empty, "{\"model_utility\": {\"agg_value\": 0.5}}");
        e = assertThrows(IllegalArgumentException.class, () -> job.run(
                new Request(Format.OPEN_UNLEARNING, empty, "r", "forget10", null, "tofu", 0)));
        assertTrue(e.getMessage().startsWith(empty + ": no per-sample values found"), e.getMessage());
        assertEquals("--format: unknown 'tofu' (expected tofu-log or open-unlearning)",
                assertThrows(IllegalArgumentException.class, () -> Format.parse("tofu")).getMessage());
        // Nothing was written by the failed imports
        assertTrue(!store.exists(EvalTables.EVAL_SAMPLES));
    }
}
