package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.store.RunRecord;
import org.lethe.store.RunStatus;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/** What {@code runs} says of a job killed outright (kill -9): RUNNING since its start, never a stale SUCCEEDED. */
class JobLifecycleTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void aKilledReRunLeavesItsRunningRowNotTheEarlierSucceededOne(@TempDir Path tmp) throws Exception {
        Path bench = tmp.resolve("bench");
        String root = tmp.resolve("root").toString();
        assertEquals(0, Cli.run("generate-benchmark", "--out", bench.toString(), "--authors", "4").status());
        Cli ingest = Cli.run("ingest", "--format", "tofu", "--input", bench.toString(), "--root", root,
                "--dataset", "synth");
        assertEquals(0, ingest.status(), ingest.err());
        List<String> train = List.of("finetune", "--root", root, "--run-id", "target",
                "--set", "train.dataset=synth", "--set", "train.tokenizer=" + bench.resolve("tokenizer.json"),
                "--set", "train.init_preset=tiny", "--set", "train.batch_size=16", "--set", "train.micro_batch_size=8",
                "--set", "train.resume=false");
        List<String> once = new ArrayList<>(train);
        once.addAll(List.of("--set", "train.max_steps=1"));
        Cli first = Cli.run(once.toArray(new String[0]));
        assertEquals(0, first.status(), first.err());
        Runs runs = new Runs(new TableStore(SPARK.session(), root));
        RunRecord succeeded = runs.get("target", "finetune").orElseThrow();
        assertEquals(RunStatus.SUCCEEDED, succeeded.status());

        // The same job again, long enough to be killed while it trains, in a JVM of its own.
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true"));
        cmd.addAll(StandaloneCluster.JAVA17_OPENS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Lethe.class.getName()));
        cmd.addAll(train);
        cmd.addAll(List.of("--set", "train.epochs=1000"));
        Path log = tmp.resolve("killed.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            RunRecord running = await(runs, succeeded, child, log);
            child.destroyForcibly(); // SIGKILL: no finally, no shutdown hook runs
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the killed JVM did not exit");

            RunRecord after = runs.get("target", "finetune").orElseThrow();
            assertEquals(RunStatus.RUNNING, after.status(), "after kill -9: " + after);
            assertEquals(running.startedAt(), after.startedAt());
            assertTrue(after.startedAt().isAfter(succeeded.endedAt()), after + " vs " + succeeded);
            assertTrue(!after.heartbeatAt().isBefore(after.startedAt()));
            assertNull(after.endedAt());
            assertNull(after.error());
            assertTrue(!after.sparkAppId().equals(succeeded.sparkAppId()), "the killed JVM's application id");
        } finally {
            child.destroyForcibly();
        }
    }

    /** The re-run's RUNNING row, once the child has written it. */
    private static RunRecord await(Runs runs, RunRecord earlier, Process child, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                throw new AssertionError("the re-run exited (" + child.exitValue() + ") before it was killed:\n"
                        + java.nio.file.Files.readString(log));
            }
            Optional<RunRecord> r;
            try {
                r = runs.get("target", "finetune");
            } catch (RuntimeException e) {
                // The child may be replacing its row (a heartbeat) while this JVM reads it: read again.
                Thread.sleep(500);
                continue;
            }
            if (r.isPresent() && r.get().status() == RunStatus.RUNNING && !r.get().equals(earlier)) {
                return r.get();
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no RUNNING row within 3 minutes:\n" + java.nio.file.Files.readString(log));
    }
}
