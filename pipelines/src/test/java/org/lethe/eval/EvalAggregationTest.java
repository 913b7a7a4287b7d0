package org.lethe.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.eval.EvalAggregation.RetainReference;
import org.lethe.eval.EvalTables.Sample;
import org.lethe.eval.EvalTables.Summary;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/** Hand-computed aggregates of tiny synthetic eval samples, missing components, and the table round trip. */
class EvalAggregationTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final double EPS = 1e-12;

    /** Samples of one run at step 0 of dataset "d". */
    private static final class Samples {
        final String run;
        final long step;
        final List<Sample> list = new ArrayList<>();

        Samples(String run, long step) {
            this.run = run;
            this.step = step;
        }

        Samples add(String split, String metric, Double... values) {
            for (int i = 0; i < values.length; i++) {
                list.add(new Sample(run, step, "d", split, split + i, metric, values[i], null));
            }
            return this;
        }

        List<Summary> aggregate(RetainReference retain) {
            return EvalAggregation.aggregate(run, step, "d", list, retain);
        }

        RetainReference asRetain() {
            return new RetainReference(run, step, list);
        }
    }

    private static Map<String, Summary> byMetric(List<Summary> rows) {
        return rows.stream().collect(Collectors.toMap(Summary::metric, Function.identity()));
    }

    /** Every utility component, with hand-picked means: harmonic mean 9 / 20. */
    private static Samples utilityRun(String run) {
        return new Samples(run, 0)
                .add("forget", "probability", 0.2, 0.6)
                .add("forget", "rouge_l_recall", 0.4, 0.8)
                .add("forget", "truth_ratio", 0.5, 2.0, 1.0)
                .add("retain", "probability", 0.25, 0.75)
                .add("retain", "rouge_l_recall", 0.5, 0.5)
                .add("retain", "truth_ratio", 0.5, 1.5)
                .add("real_authors", "probability", 0.5)
                .add("real_authors", "rouge_l_recall", 0.5)
                .add("real_authors", "truth_ratio", 0.5)
                .add("world_facts", "probability", 1.0)
                .add("world_facts", "rouge_l_recall", 1.0)
                .add("world_facts", "truth_ratio", 0.75, 0.75);
    }

    @Test
    void perSetAggregatesAndModelUtility() {
        Map<String, Summary> rows = byMetric(utilityRun("u").aggregate(null));
        assertEquals(0.4, rows.get("forget_probability").value(), EPS);
        assertEquals(2, rows.get("forget_probability").n());
        assertEquals("forget", rows.get("forget_probability").split());
        assertEquals("forget.probability", rows.get("forget_probability").dependsOn());
        // forget: mean(min(R, 1/R)) = (0.5 + 0.5 + 1) / 3
        assertEquals(2.0 / 3, rows.get("forget_truth_ratio").value(), EPS);
        // elsewhere: mean(max(0, 1 - R)) = (0.5 + 0) / 2
        assertEquals(0.25, rows.get("retain_truth_ratio").value(), EPS);
        assertEquals(0.25, rows.get("world_facts_truth_ratio").value(), EPS);
        // 9 / (2 + 2 + 4 + 2 + 2 + 2 + 1 + 1 + 4)
        Summary mu = rows.get("model_utility");
        assertEquals(9.0 / 20, mu.value(), EPS);
        assertEquals(9, mu.n());
        assertNull(mu.split());
        assertNull(mu.missingReason());
        assertEquals("retain.probability, retain.rouge_l_recall, retain.truth_ratio, real_authors.probability,"
                + " real_authors.rouge_l_recall, real_authors.truth_ratio, world_facts.probability,"
                + " world_facts.rouge_l_recall, world_facts.truth_ratio", mu.dependsOn());
    }

    @Test
    void missingComponentsGiveNullWithAReasonNeverZero() {
        Samples s = new Samples("m", 0)
                .add("retain", "probability", 0.5)
                .add("retain", "rouge_l_recall", 0.5)
                .add("retain", "truth_ratio", 0.5)
                .add("real_authors", "probability", 0.5)
                .add("real_authors", "rouge_l_recall", (Double) null)
                .add("forget", "token_entropy", 3.0, 5.0);
        Map<String, Summary> rows = byMetric(s.aggregate(null));
        Summary mu = rows.get("model_utility");
        assertNull(mu.value());
        assertEquals(0, mu.n());
        assertEquals("missing real_authors.rouge_l_recall, real_authors.truth_ratio, world_facts.probability,"
                + " world_facts.rouge_l_recall, world_facts.truth_ratio", mu.missingReason());
        // A metric whose values are all NULL is a NULL aggregate, not a mean of nothing
        Summary rouge = rows.get("real_authors_rouge_l_recall");
        assertNull(rouge.value());
        assertEquals("all 1 samples have a NULL rouge_l_recall", rouge.missingReason());
        // Other per-sample metrics are averaged under <split>_<metric>
        assertEquals(4.0, rows.get("forget_token_entropy").value(), EPS);

        Summary fq = rows.get("forget_quality");
        assertNull(fq.value());
        assertEquals("no retain run given", fq.missingReason());
        assertEquals("forget.truth_ratio", fq.dependsOn());
        Summary efficacy = rows.get("forget_efficacy");
        assertNull(efficacy.value());
        assertTrue(efficacy.missingReason().startsWith("none of forget.rouge_l_recall, forget.probability"),
                efficacy.missingReason());
        Summary privleak = rows.get("privleak");
        assertNull(privleak.value());
        assertEquals("no forget.mia_min_k values in this run", privleak.missingReason());
        for (Summary row : rows.values()) {
            assertTrue(row.value() != null || row.missingReason() != null, row.metric());
            assertTrue(row.value() == null || row.missingReason() == null, row.metric());
        }
    }

    @Test
    void forgetQualityIsTheKsPValueOverTheItemsBothRunsHave() {
        Samples model = new Samples("model", 4).add("forget", "truth_ratio", 1.0, 2.0, 3.0, 9.0);
        Samples retain = new Samples("retain", 0).add("forget", "truth_ratio", 4.0, 5.0, 6.0);
        Summary fq = byMetric(model.aggregate(retain.asRetain())).get("forget_quality");
        // Items 0..2 only: D = 1 for 3 vs 3, exact p = 2 / C(6, 3)
        assertEquals(0.1, fq.value(), EPS);
        assertEquals(3, fq.n());
        assertEquals("retain", fq.retainRunId());
        assertEquals("forget.truth_ratio, retain@0:forget.truth_ratio", fq.dependsOn());

        // The retain run against itself
        Summary self = byMetric(retain.aggregate(retain.asRetain())).get("forget_quality");
        assertEquals(1.0, self.value(), 0.0);

        Summary none = byMetric(model.aggregate(RetainReference.absent("other"))).get("forget_quality");
        assertNull(none.value());
        assertEquals("retain run other has no eval_samples for dataset d", none.missingReason());

        Samples disjoint = new Samples("dis", 0);
        disjoint.list.add(new Sample("dis", 0, "d", "forget", "elsewhere", "truth_ratio", 1.0, null));
        Summary noCommon = byMetric(model.aggregate(disjoint.asRetain())).get("forget_quality");
        assertNull(noCommon.value());
        assertEquals("no forget sample has a truth_ratio in both runs (4 here, 1 in dis)", noCommon.missingReason());
    }

    @Test
    void forgetEfficacyAveragesTheKnowledgeMeasuresPresent() {
        Samples s = new Samples("e", 0)
                .add("forget", "rouge_l_recall", 0.6)
                .add("forget", "probability", 0.4)
                .add("forget", "truth_ratio", 0.5, 2.0, 1.0);
        Summary three = byMetric(s.aggregate(null)).get("forget_efficacy");
        // 1 - mean(0.6, 0.4, 1 - 2/3)
        assertEquals(1 - (0.6 + 0.4 + 1.0 / 3) / 3, three.value(), EPS);
        assertEquals(3, three.n());
        assertEquals("forget.rouge_l_recall, forget.probability, forget.truth_ratio", three.dependsOn());

        s.add("forget", "cosine_similarity", 0.9).add("forget", "entailment", 1.0, 0.0);
        Summary five = byMetric(s.aggregate(null)).get("forget_efficacy");
        assertEquals(1 - (0.6 + 0.4 + 1.0 / 3 + 0.9 + 0.5) / 5, five.value(), EPS);
        assertEquals(5, five.n());
        assertEquals("forget.rouge_l_recall, forget.probability, forget.truth_ratio, forget.cosine_similarity,"
                + " forget.entailment", five.dependsOn());
    }

    @Test
    void privLeakComparesMinKAucAgainstTheRetainRunOrHalf() {
        // AUC' = P(holdout < forget), ties 1/2: f=1 -> 0, f=2 -> 1/2 (tie with 2), f=3 -> 1 (above 2): 1.5 / 6
        Samples model = new Samples("model", 0)
                .add("forget", "mia_min_k", 1.0, 2.0, 3.0)
                .add("holdout", "mia_min_k", 2.0, 4.0);
        Summary alone = byMetric(model.aggregate(null)).get("privleak");
        assertEquals((0.25 - 0.5) / 0.5 * 100, alone.value(), EPS);
        assertEquals(5, alone.n());
        assertNull(alone.retainRunId());
        assertEquals("forget.mia_min_k, holdout.mia_min_k, retain_auc=0.5 (no retain run given)", alone.dependsOn());

        // Retain: f=3 above h=1 and h=2 of 5 holdout scores: AUC' 0.4
        Samples retain = new Samples("ret", 2)
                .add("forget", "mia_min_k", 3.0)
                .add("holdout", "mia_min_k", 1.0, 2.0, 4.0, 5.0, 6.0);
        Summary against = byMetric(model.aggregate(retain.asRetain())).get("privleak");
        assertEquals((0.25 - 0.4) / 0.4 * 100, against.value(), EPS);
        assertEquals("ret", against.retainRunId());
        assertEquals("forget.mia_min_k, holdout.mia_min_k, ret@2:forget.mia_min_k, ret@2:holdout.mia_min_k",
                against.dependsOn());

        // A retain run without MIA scores: the default, saying why
        Samples noMia = new Samples("nomia", 0).add("forget", "truth_ratio", 1.0);
        Summary fallback = byMetric(model.aggregate(noMia.asRetain())).get("privleak");
        assertEquals(-50.0, fallback.value(), EPS);
        assertEquals("forget.mia_min_k, holdout.mia_min_k, retain_auc=0.5 (retain run nomia has no forget and"
                + " holdout mia_min_k)", fallback.dependsOn());
    }

    @Test
    void twoValuesOfOneSampleAndMetricAreAnError() {
        Samples s = new Samples("dup", 0).add("forget", "probability", 0.5);
        s.list.add(new Sample("dup", 0, "d", "forget", "forget0", "probability", 0.7, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.aggregate(null));
        assertEquals("eval_samples of run dup step 0 dataset d: sample forget0 has two values of forget.probability",
                e.getMessage());
        Samples other = new Samples("x", 0).add("forget", "probability", 0.5);
        e = assertThrows(IllegalArgumentException.class,
                () -> EvalAggregation.aggregate("y", 0, "d", other.list, null));
        assertTrue(e.getMessage().contains("is from run x step 0 dataset d, expected run y"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Summary("r", 0, "d", null, "model_utility", null, 0, null, null, "x"));
        assertTrue(e.getMessage().contains("a NULL value needs a missing_reason"), e.getMessage());
    }

    @Test
    void summarizeReadsTheTableAndComparesWithTheRetainRunsLastStep(@TempDir Path dir) {
        TableStore store = new TableStore(SPARK.session(), dir.toString());
        List<Sample> all = new ArrayList<>(utilityRun("model").list);
        Samples model5 = utilityRun("model");
        model5.list.replaceAll(s -> new Sample(s.runId(), 5, s.dataset(), s.split(), s.sampleId(), s.metric(),
                s.value(), "gen"));
        all.addAll(model5.list);
        Samples retain = new Samples("ret", 3).add("forget", "truth_ratio", 0.5, 2.0, 1.0);
        all.addAll(retain.list);
        EvalTables.writeSamples(store, EvalTables.samples(SPARK.session(), all));

        List<Summary> written = EvalAggregation.summarizeToStore(store, "model", "ret");
        List<Summary> read = store.read(EvalTables.EVAL_SUMMARY).collectAsList().stream().map(Summary::fromRow)
                .toList();
        assertEquals(written.size(), read.size());
        assertEquals(2, read.stream().map(Summary::step).distinct().count());
        for (long step : new long[] {0, 5}) {
            Summary fq = read.stream().filter(r -> r.step() == step && r.metric().equals("forget_quality"))
                    .findFirst().orElseThrow();
            // Same forget truth ratios as the retain run's at its only step, 3
            assertEquals(1.0, fq.value(), 0.0);
            assertEquals(3, fq.n());
            assertEquals("forget.truth_ratio, ret@3:forget.truth_ratio", fq.dependsOn());
            Summary mu = read.stream().filter(r -> r.step() == step && r.metric().equals("model_utility"))
                    .findFirst().orElseThrow();
            assertEquals(9.0 / 20, mu.value(), EPS);
        }
        // NULLs survive the round trip
        Summary privleak = read.stream().filter(r -> r.metric().equals("privleak")).findFirst().orElseThrow();
        assertNull(privleak.value());
        assertNull(privleak.split());

        // Re-summarizing replaces the run's rows, never duplicates them
        EvalAggregation.summarizeToStore(store, "model", "ret");
        assertEquals(written.size(), store.read(EvalTables.EVAL_SUMMARY).count());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EvalAggregation.summarizeToStore(store, "nobody", null));
        assertEquals("eval_samples has no rows of run nobody", e.getMessage());
    }
}
