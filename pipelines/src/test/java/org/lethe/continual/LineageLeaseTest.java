package org.lethe.continual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/** The lineage lease: one holder among racers, nothing written by a loser, takeover after expiry, fencing. */
class LineageLeaseTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final Duration HOUR = Duration.ofHours(1);

    /** The lease table's Delta version (how many commits it has had, minus one). */
    private static long tableVersion(TableStore store) {
        Row last = SPARK.session().sql("DESCRIBE HISTORY delta.`" + store.location(LineageLease.TABLE) + "` LIMIT 1")
                .head();
        return last.getLong(last.fieldIndex("version"));
    }

    @Test
    void ofRunsRacingForTheLeaseExactlyOneHoldsItAndTheOthersWriteNothing(@TempDir Path tmp) throws Exception {
        TableStore store = new TableStore(SPARK.session(), tmp.toString());
        int racers = 4;
        CyclicBarrier start = new CyclicBarrier(racers);
        ExecutorService pool = Executors.newFixedThreadPool(racers);
        List<Future<LineageLease.Attempt>> attempts = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            String owner = "daily-" + i;
            attempts.add(pool.submit(() -> {
                start.await();
                return LineageLease.acquire(SPARK.session(), store, "synth", owner, HOUR);
            }));
        }
        List<LineageLease> held = new ArrayList<>();
        List<LineageLease.State> refused = new ArrayList<>();
        for (Future<LineageLease.Attempt> f : attempts) {
            LineageLease.Attempt a = f.get();
            a.lease().ifPresent(held::add);
            a.heldBy().ifPresent(refused::add);
        }
        pool.shutdown();
        assertEquals(1, held.size(), "exactly one racer holds the lease");
        assertEquals(racers - 1, refused.size());
        LineageLease winner = held.get(0);
        assertEquals(1, winner.state().version());
        for (LineageLease.State holder : refused) {
            assertEquals(winner.state().owner(), holder.owner(), "a loser is told who holds it");
            assertEquals(winner.state().token(), holder.token());
        }
        assertEquals(winner.state(), LineageLease.current(store, "synth").orElseThrow());
        // One row, one version: the losers' commits were skipped (Delta version 0 = the one commit).
        assertEquals(0, tableVersion(store));
        assertEquals(1, store.read(LineageLease.TABLE).count());

        // While it is held, another run writes nothing and names the holder.
        LineageLease.Attempt late = LineageLease.acquire(SPARK.session(), store, "synth", "daily-9", HOUR);
        assertTrue(late.lease().isEmpty());
        assertTrue(late.heldBy().orElseThrow().describe().startsWith("continual run " + winner.state().owner() + " ("),
                late.heldBy().orElseThrow().describe());
        assertEquals(0, tableVersion(store));
        // Another dataset's lineage has a lease of its own.
        try (LineageLease other = LineageLease.acquire(SPARK.session(), store, "other", "daily-9", HOUR).lease()
                .orElseThrow()) {
            assertEquals("other", other.state().dataset());
        }

        winner.renew();
        assertEquals(2, winner.state().version());
        winner.check();
        winner.close();
        LineageLease.State released = LineageLease.current(store, "synth").orElseThrow();
        assertTrue(released.released());
        assertEquals(3, released.version());
        try (LineageLease next = LineageLease.acquire(SPARK.session(), store, "synth", "daily-9", HOUR).lease()
                .orElseThrow()) {
            assertEquals(4, next.state().version());
            assertNull(next.state().takenOverFrom(), "a released lease is taken, not taken over");
        }
    }

    @Test
    void anExpiredLeaseIsTakenOverAndItsStalledHolderIsFenced(@TempDir Path tmp) throws Exception {
        TableStore store = new TableStore(SPARK.session(), tmp.toString());
        // A holder that died: its row expired a second ago and nobody renews it.
        Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);
        LineageLease.State dead = new LineageLease.State("synth", 7, "daily-1", "dead-token", "host x, pid 1",
                now.minusSeconds(60), now.minusSeconds(20), now.minusSeconds(1), false, null);
        store.writeOnce(LineageLease.TABLE, SPARK.session().createDataFrame(List.of(dead.row()),
                org.lethe.store.Tables.columns(LineageLease.TABLE)), "lethe-lease-synth", 7);

        LineageLease stalled = LineageLease.acquire(SPARK.session(), store, "synth", "daily-2", HOUR).lease()
                .orElseThrow();
        assertEquals(8, stalled.state().version());
        assertEquals("daily-1", stalled.state().takenOverFrom(), "taken over from the dead run");

        // daily-2 stalls past its expiry and daily-3 takes the lease over (as acquire does after expiry).
        Instant later = Instant.now().truncatedTo(ChronoUnit.MICROS);
        LineageLease.State taker = new LineageLease.State("synth", 9, "daily-3", "taker-token", "host y, pid 2",
                later, later, later.plus(HOUR), false, "daily-2");
        store.writeOnce(LineageLease.TABLE, SPARK.session().createDataFrame(List.of(taker.row()),
                org.lethe.store.Tables.columns(LineageLease.TABLE)), "lethe-lease-synth", 9);
        // daily-2 wakes: its renewal (version 9) is skipped, it learns it lost, and check() fails naming daily-3.
        stalled.renew();
        IllegalStateException e = assertThrows(IllegalStateException.class, stalled::check);
        assertTrue(e.getMessage().startsWith("continual run daily-2 no longer holds the lease on the lineage of dataset"
                + " synth: taken over by continual run daily-3 (host y, pid 2;"), e.getMessage());
        stalled.close(); // does not release daily-3's lease
        assertEquals(Optional.of(taker), LineageLease.current(store, "synth"));
        assertFalse(LineageLease.current(store, "synth").orElseThrow().released());
    }
}
