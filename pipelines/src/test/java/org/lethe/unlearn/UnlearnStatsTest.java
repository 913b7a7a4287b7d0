package org.lethe.unlearn;

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
import org.lethe.stats.StatsJob;
import org.lethe.stats.StatsRequest;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.lethe.distributed.Checkpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.lethe.testing.TinyModels;

/** unlearn with statistics of `lethe stats` runs: entangled retain selection and skip_forgotten. */
class UnlearnStatsTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;
    private static Path model;
    private static Path retainModel;

    @BeforeAll
    static void data() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        model = TinyModels.save(bench, 7, shared.resolve("model"));
        retainModel = TinyModels.save(bench, 8, shared.resolve("retain-model"));
        for (Object[] run : new Object[][] {{"stats-target", model}, {"stats-retain", retainModel}}) {
            new StatsJob(SPARK.session(), store).run(StatsRequest.of(LetheConfig.load(Optional.empty(),
                    List.of("stats.dataset=synth", "stats.splits.holdout=\"\"", "stats.projection_dim=64",
                    "stats.top_m=3", "model.threads=1"))), (String) run[0], run[1].toString());
        }
    }

    private static UnlearnJob.Summary run(String runId, Path output, String... extra) {
        List<String> sets = new ArrayList<>(List.of("unlearn.dataset=synth", "unlearn.model=" + model,
                "unlearn.method=grad_diff", "unlearn.epochs=2", "unlearn.batch_size=4", "unlearn.micro_batch_size=2",
                "unlearn.lr=1e-3", "unlearn.output=" + output, "model.threads=1", "unlearn.max_steps=3"));
        sets.addAll(List.of(extra));
        return new UnlearnJob(SPARK.session(), store).run(UnlearnRequest.of(LetheConfig.load(Optional.empty(), sets)),
                runId);
    }

    private static final StructType ROWS = new StructType().add("sample_id", DataTypes.StringType)
            .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("labels", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("refusal_ids", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("refusal_labels", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("mismatch_ids", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("mismatch_labels", DataTypes.createArrayType(DataTypes.IntegerType));

    private static Dataset<Row> rows(String... ids) {
        List<Row> out = new ArrayList<>();
        for (String id : ids) {
            out.add(RowFactory.create(id, new Integer[] {1, 2}, new Integer[] {-100, 2}, null, null, null, null));
        }
        return SPARK.session().createDataFrame(out, ROWS);
    }

    /** forget pair_id -> its retain partner, recognized by its first token id (retainRows' r{i} starts with i). */
    private static Map<String, String> partners(Dataset<Row> plan, Dataset<Row> retain) {
        Map<String, String> out = new HashMap<>();
        for (Row r : plan.filter(col("role").equalTo("retain")).select("pair_id", "input_ids").collectAsList()) {
            out.put(r.getString(0), "r" + r.getList(1).get(0));
        }
        return out;
    }

    private static Dataset<Row> retainRows(int n) {
        List<Row> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(RowFactory.create("r" + i, new Integer[] {i, 2}, new Integer[] {-100, 2}, null, null, null, null));
        }
        return SPARK.session().createDataFrame(out, ROWS);
    }

    @Test
    void entangledSelectionPairsEachForgetSampleWithItsRankedRetainSamplesCyclingByEpoch() {
        Dataset<Row> forget = rows("f0", "f1", "f2");
        Dataset<Row> retain = retainRows(5);
        StructType pairSchema = new StructType().add("forget_sample_id", DataTypes.StringType)
                .add("retain_sample_id", DataTypes.StringType).add("rank", DataTypes.IntegerType);
        // f0: r3 (rank 1), r1 (rank 2), r9 (not a retain row: ignored); f1: r4 only; f2: no pairs (random).
        Dataset<Row> pairs = SPARK.session().createDataFrame(List.of(RowFactory.create("f0", "r3", 1),
                RowFactory.create("f0", "r9", 2), RowFactory.create("f0", "r1", 3), RowFactory.create("f1", "r4", 1)),
                pairSchema);
        Map<String, String> random0 = partners(UnlearnJob.plan(forget, retain, 3, 5, 0, 0, 2, 1), retain);
        for (int epoch = 0; epoch < 3; epoch++) {
            Dataset<Row> plan = UnlearnJob.plan(forget, retain, pairs, 3, 5, 0, epoch, 2, 1);
            Map<String, String> p = partners(plan, retain);
            assertEquals(3, p.size());
            assertEquals(epoch % 2 == 0 ? "r3" : "r1", p.get("f0"), "epoch " + epoch);
            assertEquals("r4", p.get("f1"), "epoch " + epoch);
            if (epoch == 0) {
                assertEquals(random0.get("f2"), p.get("f2"), "without pairs: the seeded partner");
            }
            // Retain rows sit in their forget sample's step and micro-batch.
            List<Row> steps = plan.groupBy("pair_id").agg(org.apache.spark.sql.functions.countDistinct("step", "micro")
                    .as("n")).collectAsList();
            steps.forEach(r -> assertEquals(1L, r.getLong(1), r.getString(0)));
        }
    }

    @Test
    void entangledUnlearningIsPartitionInvariant(@TempDir Path tmp) throws Exception {
        byte[] first = null;
        for (int partitions : new int[] {1, 2}) {
            UnlearnJob.Summary s = run("ent-p" + partitions, tmp.resolve("p" + partitions),
                    "unlearn.retain_selection=entangled", "unlearn.stats_run_id=stats-target",
                    "unlearn.partitions=" + partitions);
            assertEquals(3, s.steps());
            byte[] w = Files.readAllBytes(Checkpoints.weightsFile(Path.of(s.checkpoint())));
            if (first == null) {
                first = w;
            } else {
                assertArrayEquals(first, w);
            }
        }
        // Different retain partners than random pairing: different weights.
        UnlearnJob.Summary random = run("ent-random", tmp.resolve("random"));
        assertTrue(!java.util.Arrays.equals(first, Files.readAllBytes(Checkpoints.weightsFile(Path.of(random.checkpoint())))));
    }

    @Test
    void skipForgottenLeavesOutSamplesAlreadyAtTheRetainModelsLoss(@TempDir Path tmp) {
        Map<String, Double> own = new HashMap<>();
        Map<String, Double> ret = new HashMap<>();
        for (Row r : store.read(StatsJob.SAMPLE_STATS).filter(col("role").equalTo("forget")).collectAsList()) {
            (r.getString(r.fieldIndex("run_id")).equals("stats-target") ? own : ret)
                    .put(r.getAs("sample_id"), r.getAs("mean_nll"));
        }
        Set<String> forgotten = new TreeSet<>();
        own.forEach((id, nll) -> {
            if (nll >= ret.get(id)) {
                forgotten.add(id);
            }
        });
        assertEquals(10, own.size());
        assertTrue(!forgotten.isEmpty() && forgotten.size() < 10, "both kinds exist: " + forgotten);
        UnlearnJob.Summary s = run("skip", tmp.resolve("skip"), "unlearn.skip_forgotten=true",
                "unlearn.stats_run_id=stats-target", "unlearn.retain_stats_run_id=stats-retain");
        assertEquals(10 - forgotten.size(), s.forgetSamples());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run("bad", tmp.resolve("bad"), "unlearn.skip_forgotten=true", "unlearn.stats_run_id=stats-target"));
        assertTrue(e.getMessage().contains("lethe.unlearn.retain_stats_run_id"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> run("bad", tmp.resolve("bad"), "unlearn.retain_selection=closest"));
        assertTrue(e.getMessage().contains("lethe.unlearn.retain_selection must be random or entangled"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> run("bad", tmp.resolve("bad"),
                "unlearn.retain_selection=entangled", "unlearn.stats_run_id=nope"));
        assertTrue(e.getMessage().contains("stats run 'nope' has no influence_pairs"), e.getMessage());
    }
}
