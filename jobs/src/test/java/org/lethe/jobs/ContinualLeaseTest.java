package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.continual.LineageLease;
import org.lethe.distributed.Checkpoints;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/**
 * Issue 19: two {@code lethe continual} runs started together on one lineage, on a local root and
 * on HDFS: each due request is applied once, the lineage does not fork, and the run that did not
 * get the lease exits 0 naming the one that did, having written nothing. A run killed (SIGKILL)
 * in the middle of a request: until its lease expires the next run stands aside; then it takes the
 * lease over and finishes the request from its last checkpoint, to the uninterrupted run's weights.
 */
class ContinualLeaseTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path tmp;
    private static Path bench;
    private static Path model;
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void benchmarkAndModel() {
        bench = tmp.resolve("bench");
        model = tmp.resolve("model");
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "4", "--questions", "4",
                "--vocab-size", "300").status());
        assertEquals(0, Cli.run("init-model", "--out", model.toString(), "--preset", "tiny", "--tokenizer",
                bench.resolve("tokenizer.json").toString()).status());
    }

    /** The settings every continual run and request of this test share. */
    private static List<String> common(String root, String... extra) {
        List<String> c = new ArrayList<>(List.of("--root", root, "--set", "continual.dataset=synth", "--set",
                "continual.model=" + model, "--set", "continual.retain_run=none", "--set", "model.threads=1",
                "--set", "unlearn.batch_size=4", "--set", "unlearn.micro_batch_size=2", "--set", "unlearn.max_steps=4",
                "--set", "unlearn.checkpoint_every_steps=2", "--set", "eval.max_samples=2",
                "--set", "eval.max_new_tokens=2", "--set", "eval.mia_gradient_norm=false"));
        for (String e : extra) {
            c.addAll(List.of("--set", e));
        }
        return c;
    }

    private static String[] args(List<String> head, List<String> common) {
        List<String> all = new ArrayList<>(head);
        all.addAll(common);
        return all.toArray(new String[0]);
    }

    /** A root with the benchmark ingested and request req-a submitted on 2026-11-21. */
    private static void prepare(String root) {
        assertEquals(0, Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root,
                "--dataset", "synth").status());
        Cli a = Cli.run(args(List.of("request", "--run-id", "req-a", "--forget", "authors:1", "--method", "grad_diff",
                "--submitted-at", "2026-11-21T09:00:00Z"), common(root)));
        assertEquals(0, a.status(), a.err());
    }

    @Test
    void racingRunsApplyEachRequestOnceAndAKilledRunIsFinishedAfterItsLeaseExpires() throws Exception {
        String local = tmp.resolve("race-local").toString();
        racedOn(local);
        try (MiniHdfs hdfs = new MiniHdfs(tmp.resolve("hdfs"))) {
            String remote = hdfs.uri() + "/lethe/tables";
            racedOn(remote);
            // The same step, bitwise, on either storage.
            assertEquals(weights(local), weights(remote));
        }
        // The local race's lineage is the uninterrupted one the killed run must reach.
        killedMidRequestAndFinished(local);
    }

    private static List<String> weights(String root) {
        return new TableStore(SPARK.session(), root).read("continual_lineage").orderBy("sequence")
                .select("weights_sha256").collectAsList().stream().map(r -> r.getString(0)).toList();
    }

    private static void racedOn(String root) throws Exception {
        prepare(root);
        CyclicBarrier together = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<Cli>> runs = new ArrayList<>();
        for (String id : List.of("day-x", "day-y")) {
            runs.add(pool.submit(() -> {
                together.await();
                return Cli.run(args(List.of("continual", "--run-id", id, "--run-date", "2026-11-21"), common(root)));
            }));
        }
        List<JsonNode> results = new ArrayList<>();
        for (Future<Cli> f : runs) {
            Cli c = f.get(10, TimeUnit.MINUTES);
            assertEquals(0, c.status(), root + ": " + c.err());
            results.add(JSON.readTree(c.out()));
        }
        pool.shutdown();
        JsonNode winner = results.stream().filter(r -> r.get("applied").size() > 0).findFirst().orElseThrow();
        JsonNode loser = results.stream().filter(r -> r != winner).findFirst().orElseThrow();
        assertEquals(1, winner.get("applied").size(), root + ": the winner applies the request: " + winner);
        assertEquals(0, loser.get("applied").size(), root + ": " + loser);
        String winnerId = winner.get("run_id").asText();
        String loserId = loser.get("run_id").asText();
        assertTrue(loser.path("held_by").asText().startsWith("continual run " + winnerId + " ("),
                root + ": the loser names the holder: " + loser);

        TableStore store = new TableStore(SPARK.session(), root);
        List<Row> lineage = store.read("continual_lineage").orderBy("sequence").collectAsList();
        assertEquals(List.of("1 req-a null " + winnerId), lineage.stream()
                .map(r -> r.getAs("sequence") + " " + r.getAs("request_id") + " " + r.getAs("parent_request_id") + " "
                        + r.getAs("continual_run_id")).toList(), root + ": one lineage, no fork");
        assertEquals(List.of("req-a SUCCEEDED 1 " + winnerId),
                store.read("requests").orderBy("request_id").collectAsList().stream().map(r -> r.getAs("request_id")
                        + " " + r.getAs("status") + " " + r.getAs("attempts") + " " + r.getAs("continual_run_id"))
                        .toList(), root + ": each request applied once");
        assertEquals(0, store.read("runs").filter("run_id = '" + loserId + "'").count(),
                root + ": the loser wrote no runs row");
        assertEquals(1, store.read("runs").filter("job = 'unlearn' AND run_id = 'req-a'").count());
        LineageLease.State lease = LineageLease.current(store, "synth").orElseThrow();
        assertEquals(winnerId, lease.owner());
        assertTrue(lease.released(), "the winner released the lease");
    }

    private static void killedMidRequestAndFinished(String reference) throws Exception {
        Path root = tmp.resolve("killed");
        prepare(root.toString());
        List<String> killable = common(root.toString(), "continual.lease_ttl_seconds=20");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx2g", "-Dai.djl.offline=true", "-Dspark.ui.enabled=false"));
        cmd.addAll(StandaloneCluster.SHORT_LIVED);
        cmd.addAll(StandaloneCluster.JAVA17_OPENS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Lethe.class.getName()));
        cmd.addAll(List.of(args(List.of("continual", "--run-id", "day-1", "--run-date", "2026-11-21"), killable)));
        Path log = tmp.resolve("killed.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        // Killed once req-a has committed its first checkpoint of two.
        Path first = root.resolve("checkpoints/req-a/checkpoint-2");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (child.isAlive() && !Checkpoints.latest(first.getParent().toString()).isPresent()
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(child.isAlive(), "the run is still working when killed:\n" + Files.readString(log));
        child.destroyForcibly(); // SIGKILL: no shutdown hook, no release
        assertTrue(child.waitFor(1, TimeUnit.MINUTES));
        assertFalse(Files.exists(root.resolve("checkpoints/req-a/checkpoint-4")), "killed midway");

        // Its lease is live for up to 20 s more: the next run stands aside, naming it.
        Cli aside = Cli.run(args(List.of("continual", "--run-id", "day-2", "--run-date", "2026-11-21"), killable));
        assertEquals(0, aside.status(), aside.err());
        JsonNode a = JSON.readTree(aside.out());
        assertEquals(0, a.get("applied").size());
        assertTrue(a.path("held_by").asText().startsWith("continual run day-1 ("), aside.out());

        TableStore store = new TableStore(SPARK.session(), root.toString());
        LineageLease.State dead = LineageLease.current(store, "synth").orElseThrow();
        long wait = dead.expiresAt().toEpochMilli() - System.currentTimeMillis() + 200;
        if (wait > 0) {
            Thread.sleep(wait);
        }
        Cli resumed = Cli.run(args(List.of("continual", "--run-id", "day-2", "--run-date", "2026-11-21"), killable));
        assertEquals(0, resumed.status(), resumed.err());
        assertEquals(1, JSON.readTree(resumed.out()).get("applied").size(), resumed.out());
        assertEquals("day-1", LineageLease.current(store, "synth").orElseThrow().takenOverFrom(),
                "the lease was taken over from the killed run");
        assertEquals(List.of("req-a SUCCEEDED 2 day-2"),
                store.read("requests").orderBy("request_id").collectAsList().stream().map(r -> r.getAs("request_id")
                        + " " + r.getAs("status") + " " + r.getAs("attempts") + " " + r.getAs("continual_run_id"))
                        .toList(), "the killed attempt counts");
        assertArrayEquals(
                Files.readAllBytes(Checkpoints.weightsFile(Path.of(reference, "checkpoints/req-a/checkpoint-4"))),
                Files.readAllBytes(Checkpoints.weightsFile(root.resolve("checkpoints/req-a/checkpoint-4"))),
                "the interrupted request: bitwise the uninterrupted run's weights");
        assertEquals(weights(reference), weights(root.toString()), "and its lineage row (weights_sha256)");
    }
}
