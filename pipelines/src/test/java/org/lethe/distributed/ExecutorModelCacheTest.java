package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LanguageModel;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The executors' model cache: bounded in parameter bytes, least recently used first, leases never evicted, idle eviction. */
class ExecutorModelCacheTest {

    private static final int VOCAB = 100;

    @TempDir
    static Path shared;
    private static String a;
    private static String b;
    private static String c;
    /** The parameter bytes of one tiny model. */
    private static long modelBytes;

    @BeforeAll
    static void models() {
        a = save(1, "a");
        b = save(2, "b");
        c = save(3, "c");
        // Tiny preset: hidden 64, intermediate 172, 2 layers, 4 query / 2 key-value heads of 16, tied embeddings.
        long perLayer = 64 * 64 + 64 * 32 + 64 * 32 + 64 * 64 // q, k, v, o
                + 3 * 64 * 172 // gate, up, down
                + 2 * 64; // the two RMSNorms
        long parameters = VOCAB * 64 + 2 * perLayer + 64; // embeddings (tied: once), layers, final norm
        modelBytes = parameters * 4; // float32
    }

    private static String save(long seed, String name) {
        Path dir = shared.resolve(name);
        try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config("tiny", VOCAB), ModelSettings.defaults(), seed,
                null)) {
            lm.save(dir);
        }
        return dir.toString();
    }

    @BeforeEach
    void empty() {
        ExecutorModelCache.resetForTest();
    }

    private static ModelSettings bounded(long maxBytes, int idleSeconds) {
        return new ModelSettings("cpu", "float32", 1, maxBytes, idleSeconds);
    }

    /** Logits of a fixed prompt: fails if the model's native memory was freed under it. */
    private static float[] logits(LanguageModel lm) {
        // The scope closes every array of the pass (some attach to the model's manager).
        try (NDScope scope = new NDScope(); NDManager m = lm.manager().newSubManager()) {
            NDArray ids = m.create(new long[][] {{1, 5, 7, 9}});
            NDArray positions = m.create(new long[][] {{0, 1, 2, 3}});
            NDArray mask = m.ones(ids.getShape(), ai.djl.ndarray.types.DataType.INT64);
            return lm.block().logits(lm.parameterStore(), ids, positions, mask, null, false).toFloatArray();
        }
    }

    @Test
    void parameterBytesAreTheParameterCountTimesFourForFloat32() {
        try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("bytes", a, bounded(1L << 30, 0))) {
            assertEquals(97_344 * 4L, modelBytes, "hand count");
            assertEquals(modelBytes, ExecutorModelCache.parameterBytes(lease.model()));
            assertEquals(lease.model().block().parameterCount() * 4, modelBytes);
            assertEquals(modelBytes, ExecutorModelCache.stats().residentBytes());
        }
        // LoRA rank 8 on q and v: A 8x64 and B 64x8 (q), A 8x64 and B 32x8 (v), in 2 layers.
        LoraSettings lora = new LoraSettings(8, 16, List.of("q_proj", "v_proj"), 0);
        try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("bytes-lora", a, bounded(1L << 30, 0), lora)) {
            assertEquals(modelBytes + 2 * (8 * 64 + 64 * 8 + 8 * 64 + 32 * 8) * 4L,
                    ExecutorModelCache.parameterBytes(lease.model()));
        }
    }

    @Test
    void theLeastRecentlyUsedModelNotLeasedIsEvictedAndALeasedOneStillComputes() {
        ModelSettings twoFit = bounded(2 * modelBytes + modelBytes / 2, 0);
        try (ExecutorModelCache.Lease leasedB = ExecutorModelCache.frozen("lru-b", b, twoFit)) {
            float[] before = logits(leasedB.model());
            try (ExecutorModelCache.Lease leaseA = ExecutorModelCache.frozen("lru-a", a, twoFit)) {
                logits(leaseA.model());
            }
            // b is the least recently used but leased: a goes.
            try (ExecutorModelCache.Lease leaseC = ExecutorModelCache.frozen("lru-c", c, twoFit)) {
                logits(leaseC.model());
                assertEquals(List.of("lru-b", "lru-c"), ExecutorModelCache.keys());
            }
            assertEquals(1, ExecutorModelCache.stats().evictions());
            assertEquals(2 * modelBytes, ExecutorModelCache.stats().residentBytes());
            org.junit.jupiter.api.Assertions.assertArrayEquals(before, logits(leasedB.model()), "b computes as before");
        }
        // b's lease ended after c's: c is now the least recently used, and a's return evicts it.
        try (ExecutorModelCache.Lease leaseA = ExecutorModelCache.frozen("lru-a", a, twoFit)) {
            assertEquals(List.of("lru-b", "lru-a"), ExecutorModelCache.keys());
            logits(leaseA.model());
        }
        ExecutorModelCache.Stats s = ExecutorModelCache.stats();
        assertEquals(2, s.evictions());
        assertEquals(2, s.entries());
        assertEquals(2 * modelBytes, s.residentBytes());
        assertEquals(twoFit.cacheMaxBytes(), s.maxBytes());
        assertTrue(s.highWaterBytes() <= s.maxBytes(), "high-water " + s.highWaterBytes() + " <= " + s.maxBytes());
        assertEquals(2 * modelBytes, s.highWaterBytes());
    }

    @Test
    void aModelLargerThanTheBoundIsServedWhileLeasedAndEvictedWhenReleased() {
        ModelSettings tooSmall = bounded(modelBytes / 2, 0);
        try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("big", a, tooSmall)) {
            assertEquals(VOCAB * 4, logits(lease.model()).length);
            assertEquals(1, ExecutorModelCache.stats().entries());
        }
        assertEquals(0, ExecutorModelCache.stats().entries());
        assertEquals(0, ExecutorModelCache.stats().residentBytes());
        assertEquals(1, ExecutorModelCache.stats().evictions());
    }

    @Test
    void idleModelsAreEvictedByTheTimerWithoutAnotherTask() throws InterruptedException {
        ModelSettings oneSecond = bounded(1L << 30, 1);
        try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("idle", a, oneSecond)) {
            // Held for longer than the idle time: a model in use is never idle.
            Thread.sleep(2_500);
            assertEquals(1, ExecutorModelCache.stats().entries());
            logits(lease.model());
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (ExecutorModelCache.stats().entries() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertEquals(0, ExecutorModelCache.stats().entries(), "freed by the timer within 10 s");
        assertEquals(1, ExecutorModelCache.stats().evictions());
    }

    @Test
    void releaseOfALeasedModelClosesItWhenTheLeaseEnds() {
        ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("released", a, bounded(1L << 30, 0));
        ExecutorModelCache.release("released");
        assertEquals(0, ExecutorModelCache.stats().entries());
        assertEquals(0, ExecutorModelCache.stats().residentBytes());
        assertEquals(VOCAB * 4, logits(lease.model()).length, "still computes under its lease");
        lease.close();
    }
}
