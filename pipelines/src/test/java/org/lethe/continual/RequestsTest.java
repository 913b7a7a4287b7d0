package org.lethe.continual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/** Which requests a continual run takes (max_attempts, invalid, cancelled), and cancelling. */
class RequestsTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final Instant DAY = Instant.parse("2026-11-20T09:00:00Z");

    private static Requests.Request request(String id, int minutes) {
        return Requests.Request.submitted(id, DAY.plusSeconds(60L * minutes), "synth", ForgetSelector.parse("authors:1"),
                "npo", List.of());
    }

    @Test
    void dueLeavesOutSettledRequestsAndCancelRefusesWhatCannotBeCancelled(@TempDir Path tmp) {
        TableStore store = new TableStore(SPARK.session(), tmp.toString());
        Requests requests = new Requests(SPARK.session(), store);
        assertEquals("request nope does not exist (no requests table under " + store.root() + ")",
                assertThrows(IllegalArgumentException.class, () -> requests.cancel("nope", DAY)).getMessage());
        Instant at = DAY.plusSeconds(3600);
        requests.write(request("pending", 0),
                // one failed attempt (RUNNING counts one), and two
                request("failed-once", 1).with(Requests.Status.RUNNING, at, "c1", null)
                        .with(Requests.Status.FAILED, at, "c1", "boom"),
                new Requests.Request("failed-twice", DAY.plusSeconds(120), "synth", ForgetSelector.parse("authors:1"),
                        "npo", List.of(), Requests.Status.FAILED, at, "c2", 2, "boom"),
                request("invalid", 3).with(Requests.Status.FAILED, at, "c1", Requests.INVALID + "lethe.unlearn.lr"),
                request("done", 4).with(Requests.Status.RUNNING, at, "c1", null)
                        .with(Requests.Status.SUCCEEDED, at, "c1", null),
                request("running", 5).with(Requests.Status.RUNNING, at, "c3", null),
                request("to-cancel", 6));

        LocalDate day = LocalDate.parse("2026-11-20");
        assertEquals(List.of("pending", "failed-once", "running", "to-cancel"),
                requests.due("synth", day, 2).stream().map(Requests.Request::requestId).toList());
        assertEquals(List.of("pending", "failed-once", "failed-twice", "running", "to-cancel"),
                requests.due("synth", day, 3).stream().map(Requests.Request::requestId).toList());
        assertEquals(List.of(), requests.due("synth", day.minusDays(1), 3));

        Requests.Request cancelled = requests.cancel("to-cancel", at);
        assertEquals(List.of(Requests.Status.CANCELLED, at), List.of(cancelled.status(), cancelled.updatedAt()));
        assertEquals(cancelled, requests.get("to-cancel").orElseThrow());
        long versions = io.delta.tables.DeltaTable.forPath(SPARK.session(), store.location(Requests.TABLE)).history().count();
        assertEquals(cancelled, requests.cancel("to-cancel", at.plusSeconds(5)), "cancelling again changes nothing");
        assertEquals(versions, io.delta.tables.DeltaTable.forPath(SPARK.session(), store.location(Requests.TABLE))
                .history().count());
        assertEquals(Requests.Status.CANCELLED, requests.cancel("failed-twice", at).status(), "a FAILED one can be");
        assertEquals("request done SUCCEEDED (continual run c1): its forgetting is applied and cannot be cancelled",
                assertThrows(IllegalArgumentException.class, () -> requests.cancel("done", at)).getMessage());
        assertEquals("request running is RUNNING in continual run c3: cancel it once that run has ended",
                assertThrows(IllegalArgumentException.class, () -> requests.cancel("running", at)).getMessage());
        assertEquals(List.of("pending", "failed-once", "running"),
                requests.due("synth", day, 3).stream().map(Requests.Request::requestId).toList());
    }
}
