package org.lethe.continual;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.data.IngestedDataset;
import org.lethe.store.TableStore;
import org.lethe.testing.FileSnapshots;
import org.lethe.testing.TestSpark;

import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import org.lethe.testing.TinyModels;

/** Continual unlearning on a tiny model and a 4-author benchmark (6 questions each). */
class ContinualJobTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static Path bench;
    private static Path model;

    @BeforeAll
    static void data() throws Exception {
        bench = shared.resolve("bench");
        FictitiousAuthors.generate(5, 4, 6).write(bench, 512);
        model = TinyModels.save(bench, 3, shared.resolve("model"));
    }

    private static TableStore root(Path dir) {
        TableStore store = new TableStore(SPARK.session(), dir.toString());
        new IngestJob(SPARK.session(), store).run(IngestRequest.of(LetheConfig.defaults(),
                IngestJob.Format.TOFU, bench.toString(), "synth", null, true, null), "ingest-synth");
        return store;
    }

    private static LetheConfig config(String... extra) {
        List<String> sets = new ArrayList<>(List.of("continual.dataset=synth", "continual.model=" + model,
                "continual.train_splits=[full]", "model.threads=1",
                "unlearn.retain_split=full", "unlearn.epochs=1", "unlearn.batch_size=4", "unlearn.micro_batch_size=2",
                "unlearn.lr=1e-3", "unlearn.partitions=2",
                "train.model=" + model, "train.epochs=1", "train.batch_size=8", "train.micro_batch_size=4",
                "train.lr=1e-3", "train.max_steps=2",
                "eval.max_samples=4", "eval.max_new_tokens=3", "eval.batch_size=4", "eval.mia_gradient_norm=false"));
        sets.addAll(List.of(extra));
        return LetheConfig.load(Optional.empty(), sets);
    }

    /** The continual job on {@code store} with the request of {@code config}. */
    private record Continual(ContinualJob job, ContinualRequest request) {
        ContinualJob.Summary run(LocalDate day, String runId) throws Exception {
            return job.run(request, day, runId);
        }

        List<ContinualJob.Step> lineage() {
            return job.lineage("synth");
        }
    }

    private static Continual job(TableStore store, LetheConfig config) {
        return new Continual(new ContinualJob(SPARK.session(), store, "test"), ContinualRequest.of(config));
    }

    private static String authorSample(TableStore store, long author, int k) {
        return store.read("examples").filter("run_id = 'ingest-synth' AND author_id = " + author).orderBy("sample_id")
                .collectAsList().get(k).getString(store.read("examples").schema().fieldIndex("sample_id"));
    }

    @Test
    void requestsApplyInOrderFromThePreviousCheckpointAndARerunChangesNothing(@TempDir Path tmp) throws Exception {
        TableStore store = root(tmp.resolve("root"));
        LetheConfig config = config();
        Requests requests = new Requests(SPARK.session(), store);
        // a forgets the forget10 author (3); b two of author 0's, whose rows are the retain eval set.
        String b1 = authorSample(store, 0, 0);
        String b2 = authorSample(store, 0, 1);
        // Submitted out of order: processing follows the submitted time.
        requests.submit(Requests.Request.submitted("req-b", Instant.parse("2026-11-21T09:00:00Z"), "synth",
                ForgetSelector.parse("samples:" + b1 + "," + b2), "npo", List.of()));
        requests.submit(Requests.Request.submitted("req-a", Instant.parse("2026-11-20T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:3"), "grad_diff", List.of("unlearn.max_steps=2")));
        requests.submit(Requests.Request.submitted("req-c", Instant.parse("2026-11-25T09:00:00Z"), "synth",
                ForgetSelector.parse("split:forget10"), "grad_ascent", List.of()));
        assertThrows(IllegalArgumentException.class, () -> requests.submit(Requests.Request.submitted("req-a",
                Instant.now(), "synth", ForgetSelector.parse("authors:2"), "npo", List.of())), "an id is submitted once");

        ContinualJob.Summary s = job(store, config).run(LocalDate.parse("2026-11-22"), "daily-1");
        assertEquals(2, s.due());
        List<ContinualJob.Step> lineage = job(store, config).lineage();
        assertEquals(List.of("req-a", "req-b"), lineage.stream().map(ContinualJob.Step::requestId).toList());
        ContinualJob.Step a = lineage.get(0);
        ContinualJob.Step b = lineage.get(1);
        assertEquals(1, a.sequence());
        assertNull(a.parentRequestId());
        assertEquals(model.toString(), a.parentCheckpoint());
        assertEquals(2, b.sequence());
        assertEquals("req-a", b.parentRequestId());
        assertEquals(a.checkpoint(), b.parentCheckpoint(), "b starts where a ended");
        assertEquals(a.checkpoint(), b.refModel(), "ref_model = previous");
        assertEquals(6, a.forgetSamples());
        assertEquals(6, a.cumulativeForgetSamples());
        assertEquals(2, b.forgetSamples());
        assertEquals(8, b.cumulativeForgetSamples());
        assertNotEquals(a.retainRunId(), b.retainRunId(), "a different forget set, a different retain run");
        assertNotNull(a.forgetQuality(), () -> store.read("eval_summary").filter("run_id = 'req-a' AND metric ="
                + " 'forget_quality'").head().getAs("missing_reason"));
        assertNotNull(b.modelUtility(), "4 retain items are left after b");
        assertTrue(a.checkpoint().endsWith("checkpoint-2"), a.checkpoint());
        Map<String, Requests.Status> status = new TreeMap<>();
        requests.all().forEach(r -> status.put(r.requestId(), r.status()));
        assertEquals(Map.of("req-a", Requests.Status.SUCCEEDED, "req-b", Requests.Status.SUCCEEDED,
                "req-c", Requests.Status.PENDING), status);

        // The retain run of b trained on full minus a's author and b's two samples: 24 - 8 = 16.
        Row finetune = store.read("runs").filter("run_id = '" + b.retainRunId() + "' AND job = 'finetune'").head();
        assertEquals("SUCCEEDED", finetune.getString(finetune.fieldIndex("status")));
        long trainedOn = store.read("train_steps").filter("run_id = '" + b.retainRunId() + "'").count();
        assertEquals(2, trainedOn, "train.max_steps");
        // b is evaluated on the cumulative forget set (first 4 in file order), never on forgotten retain items.
        List<String> forgotten = new ArrayList<>(List.of(b1, b2));
        store.read("examples").filter("run_id = 'ingest-synth' AND author_id = 3").select("sample_id").collectAsList()
                .forEach(r -> forgotten.add(r.getString(0)));
        List<String> evaluatedForget = store.read("eval_samples").filter("run_id = 'req-b' AND split = 'forget'")
                .select("sample_id").distinct().collectAsList().stream().map(r -> r.getString(0)).toList();
        assertEquals(4, evaluatedForget.size());
        assertTrue(evaluatedRetainCount(store) == 4, "author 0's 6 rows minus b's 2");
        assertTrue(forgotten.containsAll(evaluatedForget), evaluatedForget.toString());
        List<String> evaluatedRetain = store.read("eval_samples").filter("run_id = 'req-b' AND split = 'retain'")
                .select("sample_id").distinct().collectAsList().stream().map(r -> r.getString(0)).toList();
        assertTrue(evaluatedRetain.stream().noneMatch(forgotten::contains), evaluatedRetain.toString());
        // The retain run against itself: forget quality 1.
        Row self = store.read("eval_summary").filter("run_id = '" + b.retainRunId() + "' AND metric = 'forget_quality'")
                .head();
        assertEquals(1.0, self.getDouble(self.fieldIndex("value")), 1e-12);

        // The same date again: nothing is due, no file under the root changes.
        Map<String, String> before = FileSnapshots.of(tmp.resolve("root"));
        ContinualJob.Summary again = job(store, config).run(LocalDate.parse("2026-11-22"), "daily-1");
        assertEquals(0, again.due());
        assertEquals(b.checkpoint(), again.lastCheckpoint());
        assertEquals(before, FileSnapshots.of(tmp.resolve("root")));

        // A request that forgets nothing new reuses b's retain run (same data, same settings).
        requests.submit(Requests.Request.submitted("req-d", Instant.parse("2026-11-22T12:00:00Z"), "synth",
                ForgetSelector.parse("samples:" + b1), "grad_ascent", List.of("unlearn.max_steps=1")));
        long finetunes = store.read("runs").filter("job = 'finetune'").count();
        job(store, config).run(LocalDate.parse("2026-11-23"), "daily-2");
        ContinualJob.Step d = job(store, config).lineage().get(2);
        assertEquals("req-b", d.parentRequestId());
        assertEquals(8, d.cumulativeForgetSamples());
        assertEquals(b.retainRunId(), d.retainRunId());
        assertEquals(finetunes, store.read("runs").filter("job = 'finetune'").count(), "no new retain model");
    }

    @Test
    void badRequestsFailBeforeAnyWorkNamingTheProblem(@TempDir Path tmp) {
        TableStore store = root(tmp.resolve("root"));
        Requests requests = new Requests(SPARK.session(), store);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> requests.selectedCount(IngestedDataset.Ref.of("synth", ""), ForgetSelector.parse("split:nope")));
        assertTrue(e.getMessage().contains("split:nope") && e.getMessage().contains("forget10"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForgetSelector.parse("authors:x"))
                .getMessage().contains("'x' is not an author id"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ForgetSelector.parse("people:1"))
                .getMessage().contains("unknown selector kind 'people'"));
        assertThrows(IllegalArgumentException.class, () -> ContinualRequest.Submission.of(
                LetheConfig.defaults().with(java.util.Map.of("continual.dataset", "synth")), "nope", List.of()));
        // An invalid request (an override the method rejects) is FAILED with the reason; nothing trained.
        requests.submit(Requests.Request.submitted("req-bad", Instant.parse("2026-11-20T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:0"), "npo", List.of("unlearn.lr=-1")));
        e = assertThrows(IllegalArgumentException.class, () -> job(store, config()).run(LocalDate.parse("2026-11-20"), "c"));
        assertTrue(e.getMessage().contains("req-bad") && e.getMessage().contains("lethe.unlearn.lr"), e.getMessage());
        Requests.Request bad = requests.get("req-bad").orElseThrow();
        assertEquals(Requests.Status.FAILED, bad.status());
        assertTrue(bad.error().contains("lethe.unlearn.lr"), bad.error());
        assertTrue(!store.exists("train_steps"));
        assertEquals("authors:0,2", ForgetSelector.parse("Authors: 0, 2").text());
    }

    private static long evaluatedRetainCount(TableStore store) {
        return store.read("eval_samples").filter("run_id = 'req-b' AND split = 'retain'").select("sample_id").distinct()
                .count();
    }

    @Test
    void aFailingInnerJobLeavesItsFailedRun(@TempDir Path tmp) throws Exception {
        TableStore store = root(tmp.resolve("root"));
        Requests requests = new Requests(SPARK.session(), store);
        // Valid settings, but the first step's gradient norm passes the abort threshold.
        requests.submit(Requests.Request.submitted("req-x", Instant.parse("2026-11-20T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:3"), "grad_ascent", List.of("unlearn.abort_grad_norm=1e-12")));
        LetheConfig config = config("continual.max_attempts=2", "continual.retain_run=none");
        Exception e = assertThrows(Exception.class, () -> job(store, config).run(LocalDate.parse("2026-11-20"), "c"));
        assertTrue(e.getMessage().contains("gradient norm"), e.getMessage());
        org.lethe.store.RunRecord unlearn = new org.lethe.store.Runs(store).get("req-x", "unlearn").orElseThrow();
        assertEquals(org.lethe.store.RunStatus.FAILED, unlearn.status());
        assertTrue(unlearn.error().contains("gradient norm"), unlearn.error());
        assertEquals(Requests.Status.FAILED, requests.get("req-x").orElseThrow().status());
        assertTrue(new org.lethe.store.Runs(store).get("req-x", "evaluate").isEmpty(), "nothing evaluated");

        // The next run attempts it again (the second and last attempt); the request behind it waits.
        requests.submit(Requests.Request.submitted("req-y", Instant.parse("2026-11-21T09:00:00Z"), "synth",
                ForgetSelector.parse("authors:2"), "grad_diff", List.of("unlearn.max_steps=1")));
        assertThrows(Exception.class, () -> job(store, config).run(LocalDate.parse("2026-11-21"), "c2"));
        Requests.Request x = requests.get("req-x").orElseThrow();
        assertEquals(List.of(Requests.Status.FAILED, 2, "c2"), List.of(x.status(), x.attempts(), x.continualRunId()));
        assertEquals(Requests.Status.PENDING, requests.get("req-y").orElseThrow().status());
        // FAILED for good: the queue moves on, from the last SUCCEEDED request's model (here the base).
        ContinualJob.Summary moved = job(store, config).run(LocalDate.parse("2026-11-21"), "c3");
        assertEquals(1, moved.due());
        ContinualJob.Step y = moved.applied().get(0);
        assertEquals(List.of("req-y", 1, model.toString()), List.of(y.requestId(), y.sequence(), y.parentCheckpoint()));
        assertEquals(null, y.parentRequestId());
        assertEquals(2, requests.get("req-x").orElseThrow().attempts(), "not attempted again");
        assertEquals(0, job(store, config).run(LocalDate.parse("2026-11-22"), "c4").due());
    }
}
