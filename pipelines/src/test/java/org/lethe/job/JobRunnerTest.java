package org.lethe.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.store.RunRecord;
import org.lethe.store.RunStatus;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import org.lethe.testing.FileSnapshots;
import org.lethe.testing.TestSpark;

/** The run lifecycle every job goes through: RUNNING, heartbeats, then SUCCEEDED or FAILED; idle re-runs write nothing. */
class JobRunnerTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final LetheConfig CONFIG = LetheConfig.defaults();

    private static JobResult result(String model, String data) {
        return JobResult.of(new ObjectMapper().createObjectNode().put("ok", true), model, data);
    }

    @Test
    void aJobIsRunningWhileItWorksThenSucceededWithItsFingerprints(@TempDir Path root) throws Exception {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        Runs runs = new Runs(store);
        JobRunner runner = new JobRunner(SPARK.session(), store, "v1");
        AtomicReference<RunRecord> during = new AtomicReference<>();
        Instant before = Instant.now();
        JobResult r = runner.run("a", "unlearn", CONFIG, () -> {
            during.set(runs.get("a", "unlearn").orElseThrow());
            return result("m1", "d1");
        });
        assertEquals("{\"ok\":true}", r.toJson().toString());

        RunRecord running = during.get();
        assertEquals(RunStatus.RUNNING, running.status());
        assertTrue(!running.startedAt().isBefore(before.minusMillis(1)), running.toString());
        assertEquals(running.startedAt(), running.heartbeatAt());
        assertNull(running.endedAt());
        assertEquals(SPARK.session().sparkContext().applicationId(), running.sparkAppId());
        assertEquals(CONFIG.sha256(), running.configSha256());
        assertEquals("v1", running.codeVersion());
        // The driver's numeric environment: the pins pom.xml's surefire sets, and the default thread count.
        org.lethe.model.NumericEnvironment numerics = org.lethe.model.NumericEnvironment.fromJson(running.numericsJson());
        assertEquals("avx2", numerics.cpuCapability());
        assertEquals("AVX2", numerics.mklCbwr());
        assertEquals(2, numerics.threads());

        RunRecord done = runs.get("a", "unlearn").orElseThrow();
        assertEquals(RunStatus.SUCCEEDED, done.status());
        assertEquals(running.startedAt(), done.startedAt());
        assertEquals("m1", done.modelFingerprint());
        assertEquals("d1", done.dataFingerprint());
        assertNotNull(done.endedAt());
    }

    @Test
    void aFailureIsRecordedWithItsMessageAndRethrown(@TempDir Path root) {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        JobRunner runner = new JobRunner(SPARK.session(), store, "v1");
        IllegalStateException boom = new IllegalStateException("loss is NaN at step 3");
        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> runner.run("a", "unlearn", CONFIG, () -> {
                    throw boom;
                }));
        assertSame(boom, thrown);
        RunRecord failed = new Runs(store).get("a", "unlearn").orElseThrow();
        assertEquals(RunStatus.FAILED, failed.status());
        assertEquals("loss is NaN at step 3", failed.error());
        assertNotNull(failed.endedAt());
    }

    @Test
    void aReRunWithNothingToDoWritesNothingButAFirstRunIsRecorded(@TempDir Path root) throws Exception {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        JobRunner runner = new JobRunner(SPARK.session(), store, "v1");
        JobRunner.Work<JobResult> mustNotRun = () -> {
            throw new AssertionError("the work ran although the job was up to date");
        };
        runner.runUnlessUpToDate("c", "continual", CONFIG, () -> Optional.of(result(null, null)), mustNotRun);
        RunRecord first = new Runs(store).get("c", "continual").orElseThrow();
        assertEquals(RunStatus.SUCCEEDED, first.status());

        Map<String, String> files = FileSnapshots.of(root);
        runner.runUnlessUpToDate("c", "continual", CONFIG, () -> Optional.of(result(null, null)), mustNotRun);
        assertEquals(files, FileSnapshots.of(root));
        assertEquals(first, new Runs(store).get("c", "continual").orElseThrow());
    }

    @Test
    void heartbeatsAdvanceWhileTheJobRunsAndStopWithIt(@TempDir Path root) throws Exception {
        TableStore store = new TableStore(SPARK.session(), root.toString());
        Runs runs = new Runs(store);
        JobRunner runner = new JobRunner(SPARK.session(), store, "v1").withHeartbeat(Duration.ofMillis(200));
        AtomicReference<RunRecord> beaten = new AtomicReference<>();
        runner.run("h", "evaluate", CONFIG, () -> {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (System.nanoTime() < deadline) {
                RunRecord r = runs.get("h", "evaluate").orElseThrow();
                if (r.heartbeatAt().isAfter(r.startedAt())) {
                    beaten.set(r);
                    break;
                }
                Thread.sleep(100);
            }
            return result(null, null);
        });
        assertNotNull(beaten.get(), "no heartbeat within 60 s");
        assertEquals(RunStatus.RUNNING, beaten.get().status());
        RunRecord done = runs.get("h", "evaluate").orElseThrow();
        assertEquals(RunStatus.SUCCEEDED, done.status());
        Map<String, String> files = FileSnapshots.of(root);
        Thread.sleep(1000); // five heartbeat intervals: none may rewrite the finished row
        assertEquals(files, FileSnapshots.of(root));
        assertEquals(done, runs.get("h", "evaluate").orElseThrow());
    }
}
