package org.lethe.stats;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.model.LmTokenizer;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.lethe.testing.TinyModels;

/** The stats job on a tiny model and a 3-author benchmark (forget10: 10 samples, retain90: 20, holdout10: 10). */
class StatsJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;
    private static Path model;

    @BeforeAll
    static void data() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        model = TinyModels.save(bench, 7, shared.resolve("model"));
    }

    static List<String> sets(String... extra) {
        List<String> sets = new ArrayList<>(List.of("stats.dataset=synth", "stats.batch_size=4",
                "stats.projection_dim=64", "stats.top_m=3", "stats.search_block_size=4", "model.threads=1"));
        sets.addAll(Arrays.asList(extra));
        return sets;
    }

    static StatsJob.Summary run(TableStore store, String runId, Path model, List<String> sets) {
        StatsRequest request = StatsRequest.of(LetheConfig.load(Optional.empty(), sets));
        return new StatsJob(SPARK.session(), store).run(request, runId, model.toString());
    }

    private static final String STATS = "role, split, answer_tokens, mean_nll, min_logprob, min_k, mean_entropy,"
            + " grad_norm, entanglement, retain_alignment";

    @Test
    void oneTwoAndFourPartitionsGiveTheSameStatisticsAndPairs() {
        Map<String, List<Object>> first = null;
        Map<String, Double> firstPairs = null;
        for (int partitions : new int[] {1, 2, 4}) {
            String runId = "p" + partitions;
            StatsJob.Summary s = run(store, runId, model, sets("stats.partitions=" + partitions));
            assertEquals(Map.of("forget", 10L, "retain", 20L, "holdout", 10L), s.samples());
            assertEquals(30, s.pairs());
            // LoRA rank 8 on q and v of 2 layers (hidden 64, 4/2 heads of 16): A 8x64, B 64x8 and 32x8.
            assertEquals(2 * (8 * 64 + 64 * 8) + 2 * (8 * 64 + 32 * 8), s.gradientParameters());
            Map<String, List<Object>> stats = new TreeMap<>();
            for (Row r : store.read(StatsJob.SAMPLE_STATS).filter(col("run_id").equalTo(runId))
                    .selectExpr(("sample_id, " + STATS).split(", ")).collectAsList()) {
                List<Object> v = new ArrayList<>();
                for (int i = 1; i < r.size(); i++) {
                    v.add(r.get(i));
                }
                stats.put(r.getString(0) + "/" + r.getString(1), v);
            }
            assertEquals(40, stats.size());
            Map<String, Double> pairs = new HashMap<>();
            for (Row r : store.read(StatsJob.INFLUENCE_PAIRS).filter(col("run_id").equalTo(runId)).collectAsList()) {
                pairs.put(r.getAs("forget_sample_id") + "|" + r.getAs("retain_sample_id"), r.getAs("similarity"));
            }
            if (first == null) {
                first = stats;
                firstPairs = pairs;
                continue;
            }
            // Statistics: bitwise (Double.equals compares bits); pairs: the same sets, similarities within 1e-6.
            assertEquals(first, stats, partitions + " partitions");
            assertEquals(firstPairs.keySet(), pairs.keySet(), partitions + " partitions");
            for (Map.Entry<String, Double> e : pairs.entrySet()) {
                assertEquals(firstPairs.get(e.getKey()), e.getValue(), 1e-6, e.getKey());
            }
        }
    }

    @Test
    void pairsAreRankedAndEntanglementIsTheMeanOfTheTopSimilarities(@TempDir Path tmp) {
        run(store, "ranked", model, sets("stats.splits.holdout=\"\"", "stats.top_m=25"));
        Map<String, List<Row>> byForget = new TreeMap<>();
        for (Row r : store.read(StatsJob.INFLUENCE_PAIRS).filter(col("run_id").equalTo("ranked"))
                .orderBy("forget_sample_id", "rank").collectAsList()) {
            byForget.computeIfAbsent(r.getAs("forget_sample_id"), k -> new ArrayList<>()).add(r);
        }
        assertEquals(10, byForget.size());
        Map<String, Row> stats = new HashMap<>();
        store.read(StatsJob.SAMPLE_STATS).filter(col("run_id").equalTo("ranked")).collectAsList()
                .forEach(r -> stats.put(r.getAs("sample_id"), r));
        for (Map.Entry<String, List<Row>> e : byForget.entrySet()) {
            List<Row> ranked = e.getValue();
            // top_m 25 > 20 retain samples: every retain sample, once, ranks 1..20 by falling similarity.
            assertEquals(20, ranked.size());
            assertEquals(20, ranked.stream().map(r -> (String) r.getAs("retain_sample_id")).distinct().count());
            double sum = 0;
            for (int i = 0; i < ranked.size(); i++) {
                assertEquals(i + 1, (int) ranked.get(i).getAs("rank"));
                double sim = ranked.get(i).getAs("similarity");
                assertTrue(sim >= -1 - 1e-9 && sim <= 1 + 1e-9, "cosine " + sim);
                if (i > 0) {
                    assertTrue(sim <= (double) ranked.get(i - 1).getAs("similarity"));
                }
                sum += sim;
            }
            Row f = stats.get(e.getKey());
            assertEquals("forget", f.getAs("role"));
            // All retain samples kept: the top-m mean and the mean over all retain samples agree.
            assertEquals(sum / 20, (double) f.getAs("entanglement"), 1e-12);
            assertEquals(sum / 20, (double) f.getAs("retain_alignment"), 1e-9);
        }
        for (Row r : stats.values()) {
            if (!"forget".equals(r.getAs("role"))) {
                assertTrue(r.isNullAt(r.fieldIndex("entanglement")), "entanglement is for forget samples only");
            }
            assertTrue((double) r.getAs("grad_norm") > 0);
            assertTrue((double) r.getAs("mean_nll") > 0);
            assertTrue((int) r.getAs("answer_tokens") > 0);
        }
        // A fresh tiny model: its mean NLL is about log(vocab) on every sample.
        double meanNll = store.read(StatsJob.SAMPLE_STATS).filter(col("run_id").equalTo("ranked"))
                .agg(org.apache.spark.sql.functions.avg("mean_nll")).head().getDouble(0);
        assertEquals(Math.log(LmTokenizer.vocabularySize(shared.resolve("bench/tokenizer.json"))), meanNll, 0.2);
    }

    @Test
    void theBlockwiseSearchEqualsABruteForceSearch() {
        StructType schema = new StructType().add("sample_id", DataTypes.StringType)
                .add("vector", DataTypes.createArrayType(DataTypes.FloatType));
        SplittableRandom rng = new SplittableRandom(3);
        List<Row> forget = new ArrayList<>();
        List<Row> retain = new ArrayList<>();
        Map<String, float[]> vectors = new HashMap<>();
        for (int i = 0; i < 23; i++) {
            for (List<Row> list : List.of(forget, retain)) {
                if (list == forget && i >= 7) {
                    continue;
                }
                String id = (list == forget ? "f" : "r") + i;
                float[] v = new float[5];
                Float[] boxed = new Float[5];
                for (int j = 0; j < 5; j++) {
                    v[j] = (float) rng.nextGaussian();
                    boxed[j] = v[j];
                }
                vectors.put(id, v);
                list.add(RowFactory.create(id, boxed));
            }
        }
        // Two retain vectors equal up to scale: a tie, broken by id.
        float[] twin = vectors.get("r3").clone();
        Float[] boxedTwin = new Float[5];
        for (int j = 0; j < 5; j++) {
            twin[j] *= 2;
            boxedTwin[j] = twin[j];
        }
        vectors.put("r30", twin);
        retain.add(RowFactory.create("r30", boxedTwin));
        Dataset<Row> f = SPARK.session().createDataFrame(forget, schema);
        Dataset<Row> r = SPARK.session().createDataFrame(retain, schema);
        List<String> expected = new ArrayList<>();
        for (Row fr : forget) {
            String fid = fr.getString(0);
            List<Object[]> sims = new ArrayList<>();
            for (Row rr : retain) {
                sims.add(new Object[] {rr.getString(0), cosine(vectors.get(fid), vectors.get(rr.getString(0)))});
            }
            sims.sort((a, b) -> (double) a[1] != (double) b[1] ? Double.compare((double) b[1], (double) a[1])
                    : ((String) a[0]).compareTo((String) b[0]));
            for (int i = 0; i < 4; i++) {
                expected.add(String.format("%s %s %d %.9f", fid, sims.get(i)[0], i + 1, (double) sims.get(i)[1]));
            }
        }
        expected.sort(null);
        for (int block : new int[] {1, 3, 100}) {
            InfluenceSearch.Result res = InfluenceSearch.search(SPARK.session(), f, r, 7, 24, 4, block);
            List<String> actual = new ArrayList<>();
            for (Row p : res.pairs().collectAsList()) {
                actual.add(String.format("%s %s %d %.9f", p.getString(0), p.getString(1), p.getInt(3), p.getDouble(2)));
            }
            actual.sort(null);
            assertEquals(expected, actual, "block size " + block);
        }
        assertTrue(expected.stream().anyMatch(s -> s.contains(" r3 ")), "the tie is exercised");
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    @Test
    void aDerivedRequestIsTheRequestOfTheSameValuesSetOnTheCommandLine() {
        StatsRequest derived = StatsRequest.builder(LetheConfig.defaults()).dataset("synth").holdoutSplit("").build();
        LetheConfig set = LetheConfig.load(Optional.empty(),
                List.of("stats.dataset=synth", "stats.splits.holdout=\"\""));
        assertEquals(set.sha256(), derived.provenance().sha256());
        // LetheConfig has identity equality; its toString is its JSON, so the records' texts compare every field.
        assertEquals(StatsRequest.of(set).toString(), derived.toString());
        assertEquals(Map.of("forget", "forget10", "retain", "retain90"), derived.splits());
        assertEquals(new org.lethe.data.IngestedDataset.Ref("synth", "ingest-synth"), derived.data());
        StatsRequest other = derived.toBuilder().dataRunId("ingest-2").build();
        assertEquals(new org.lethe.data.IngestedDataset.Ref("synth", "ingest-2"), other.data());
        assertEquals(Map.of("forget", "forget10", "retain", "retain90"), other.splits(), "toBuilder keeps the values");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StatsRequest.builder(LetheConfig.defaults()).build());
        assertEquals("lethe.stats.dataset must be set", e.getMessage());
    }

    @Test
    void badSettingsFailBeforeAnySparkWorkNamingTheKey(@TempDir Path tmp) {
        TableStore empty = new TableStore(SPARK.session(), tmp.resolve("none").toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(empty, "bad", model, sets("stats.projection_dim=0")));
        assertTrue(e.getMessage().contains("lethe.stats.projection_dim must be > 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> run(empty, "bad", model, sets("stats.gradient=[lora, x]")));
        assertTrue(e.getMessage().contains("lethe.stats.gradient"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> run(empty, "bad", model, sets("stats.gradient=[\"nothing\\\\.here\"]")));
        assertTrue(e.getMessage().startsWith("lethe.stats.gradient: trainable parameter patterns"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> run(empty, "bad", tmp, sets()));
        assertTrue(e.getMessage().contains("is not a model directory"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> run(empty, "bad", model, sets()));
        assertTrue(e.getMessage().contains("run `lethe ingest` first"), e.getMessage());
        assertFalse(empty.exists(StatsJob.SAMPLE_STATS));
    }
}
