package org.lethe.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.lethe.testing.TestSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class RunsTest {
    private static final Instant START = Instant.parse("2024-01-01T00:00:00.123456Z");
    private static final Instant END = Instant.parse("2024-01-01T00:10:00Z");

    @RegisterExtension static final TestSpark SPARK = new TestSpark();

    @TempDir Path root;

    private static RunRecord started(String runId, String job) {
        return RunRecord.started(runId, job, "{\"lethe\":{}}", "ab12", "0.1.0", "local-1", START);
    }

    @Test
    void reRecordingAJobReplacesItsRowOnly() {
        Runs runs = new Runs(new TableStore(SPARK.session(), root.toString()));
        RunRecord unlearn = started("a", "unlearn");
        runs.record(unlearn);
        runs.record(started("a", "evaluate"));
        runs.record(started("b", "unlearn"));
        RunRecord done = unlearn.withFingerprints("m1", "d1").succeeded(END);
        runs.record(done);

        assertEquals(Optional.of(done), runs.get("a", "unlearn"));
        assertEquals(List.of(
                List.of("a", "evaluate", "RUNNING"),
                List.of("a", "unlearn", "SUCCEEDED"),
                List.of("b", "unlearn", "RUNNING")), TestSpark.rows(runs.read().select("run_id", "job", "status")));
        assertEquals(Optional.empty(), runs.get("c", "unlearn"));
    }

    @Test
    void failuresKeepTheirMessage() {
        Runs runs = new Runs(new TableStore(SPARK.session(), root.toString()));
        RunRecord failed = started("a", "unlearn").failed(END, "loss is NaN at step 3");
        runs.record(failed);
        assertEquals(Optional.of(failed), runs.get("a", "unlearn"));
    }

    @Test
    void inconsistentRecordsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new RunRecord("a", "unlearn", RunStatus.SUCCEEDED, "{}", "x",
                null, null, null, null, null, START, END, END, "error on success"));
        assertThrows(IllegalArgumentException.class, () -> started("a b", "unlearn"));
    }
}
