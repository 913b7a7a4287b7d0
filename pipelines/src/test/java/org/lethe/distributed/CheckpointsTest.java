package org.lethe.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.data.FictitiousAuthors;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.storage.CommittedDirectory;
import org.lethe.storage.Locations;
import org.lethe.storage.ModelCache;
import org.lethe.testing.FaultyFileSystem;
import org.lethe.testing.TinyModels;

/**
 * Checkpoints on a non-local output ({@code faulty:}): a save that dies at any operation leaves the
 * previous committed checkpoint as {@link Checkpoints#latest}, bitwise; local outputs keep their
 * layout; directories without a commit marker are skipped.
 */
class CheckpointsTest {

    private static final Configuration CONF = new Configuration();

    @TempDir
    static Path shared;
    /** Models 1..3 for steps 1..3, and the bytes each saves as model.safetensors. */
    private static final List<LanguageModel> MODELS = new ArrayList<>();
    private static final List<byte[]> WEIGHTS = new ArrayList<>();
    private static NDManager manager;
    private static AdamW optimizer;

    @BeforeAll
    static void models() throws Exception {
        Path bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        for (int seed = 1; seed <= 3; seed++) {
            Path dir = TinyModels.save(bench, seed, shared.resolve("model-" + seed));
            MODELS.add(LanguageModel.load(dir, ModelSettings.defaults()));
            WEIGHTS.add(Files.readAllBytes(dir.resolve("model.safetensors")));
        }
        manager = NDManager.newBaseManager();
        optimizer = new AdamW(manager, AdamW.Settings.defaults());
        NDArray w = manager.ones(new ai.djl.ndarray.types.Shape(3));
        optimizer.update(Map.of("w", w), Map.of("w", manager.ones(new ai.djl.ndarray.types.Shape(3))), 0.1);
    }

    @AfterAll
    static void close() {
        MODELS.forEach(LanguageModel::close);
        optimizer.close();
        manager.close();
    }

    private static String save(String output, int step) {
        return Checkpoints.save(output, MODELS.get(step - 1), optimizer, step, 42, "config-sha", "run", null);
    }

    /** The bytes of the latest checkpoint's weights, read through a node cache as a loader would. */
    private static byte[] latestWeights(String output, ModelCache cache) throws Exception {
        Checkpoints.Found found = Checkpoints.latest(output).orElseThrow();
        try (ModelCache.Lease lease = cache.acquire(Locations.hadoopPath(found.dir()), CONF)) {
            return Files.readAllBytes(lease.path().resolve("model.safetensors"));
        }
    }

    @Test
    void aSaveThatDiesAtAnyOperationLeavesThePreviousCheckpointLatest(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 1L << 30, Duration.ofDays(1));
        int failures = 0;
        for (int n = 1; ; n++) {
            String output = FaultyFileSystem.path(tmp.resolve("new-" + n)).toString();
            FaultyFileSystem.disarm();
            save(output, 1);
            FaultyFileSystem.arm(n);
            try {
                save(output, 2);
            } catch (RuntimeException e) {
                assertTrue(e.getMessage().contains("injected fault at operation"), e.getMessage());
                failures++;
            } finally {
                FaultyFileSystem.disarm();
            }
            Checkpoints.Found latest = Checkpoints.latest(output).orElseThrow();
            if (failures < n) {
                // The save reached its end before operation n: checkpoint-2 is whole and committed.
                assertEquals(2, latest.globalStep());
                assertArrayEquals(WEIGHTS.get(1), latestWeights(output, cache));
                break;
            }
            assertEquals(1, latest.globalStep(), "after a fault at operation " + n);
            assertEquals(1, latest.optimizerStep());
            assertEquals("config-sha", latest.configSha256());
            assertArrayEquals(WEIGHTS.get(0), latestWeights(output, cache), "after a fault at operation " + n);
        }
        // Every file's create, the marker's create and rename: a loop of one or two rounds tests nothing.
        assertTrue(failures >= 5, failures + " faults injected");
    }

    @Test
    void aReplacementThatDiesLeavesTheOldCheckpointOrNone(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 1L << 30, Duration.ofDays(1));
        int failures = 0;
        for (int n = 1; ; n++) {
            String output = FaultyFileSystem.path(tmp.resolve("replace-" + n)).toString();
            FaultyFileSystem.disarm();
            save(output, 1);
            save(output, 2);
            FaultyFileSystem.arm(n);
            boolean failed = false;
            try {
                // Step 2 again, with the weights of model 3.
                Checkpoints.save(output, MODELS.get(2), optimizer, 2, 42, "config-sha", "run", null);
            } catch (RuntimeException e) {
                failed = true;
                failures++;
            } finally {
                FaultyFileSystem.disarm();
            }
            Checkpoints.Found latest = Checkpoints.latest(output).orElseThrow();
            if (!failed) {
                assertEquals(2, latest.globalStep());
                assertArrayEquals(WEIGHTS.get(2), latestWeights(output, cache));
                break;
            }
            if (n == 1) {
                // Died deleting the old marker: the old checkpoint-2 is still whole.
                assertEquals(2, latest.globalStep());
                assertArrayEquals(WEIGHTS.get(1), latestWeights(output, cache));
            } else {
                assertEquals(1, latest.globalStep(), "after a fault at operation " + n);
                assertArrayEquals(WEIGHTS.get(0), latestWeights(output, cache), "after a fault at operation " + n);
            }
        }
        assertTrue(failures >= 5, failures + " faults injected");
    }

    @Test
    void localCheckpointsAreRenamedIntoPlaceWithTheirMarkerAndUnmarkedOnesAreSkipped(@TempDir Path tmp)
            throws Exception {
        String output = tmp.resolve("out").toString();
        assertEquals(Optional.empty(), Checkpoints.latest(output));
        String dir = save(output, 1);
        assertEquals(tmp.resolve("out").resolve("checkpoint-1").toString(), dir);
        Path local = Path.of(dir);
        assertArrayEquals(WEIGHTS.get(0), Files.readAllBytes(Checkpoints.weightsFile(local)));
        assertTrue(Files.isRegularFile(local.resolve(CommittedDirectory.MARKER)));
        assertTrue(Files.isRegularFile(local.resolve("trainer_state.json")));
        assertTrue(Files.isDirectory(local.resolve("optimizer")));
        try (var left = Files.list(tmp.resolve("out"))) {
            assertEquals(List.of("checkpoint-1"), left.map(p -> p.getFileName().toString()).toList(),
                    "no staging directory left");
        }
        assertEquals(Checkpoints.weightsSha256(dir, CONF), CommittedDirectory.read(
                Locations.hadoopPath(dir), CONF).orElseThrow().file("model.safetensors").orElseThrow().sha256());
        assertEquals(org.lethe.store.Fingerprints.sha256(new org.apache.hadoop.fs.Path(
                Checkpoints.weightsFile(local).toUri()), CONF), Checkpoints.weightsSha256(dir, CONF));

        // An earlier Lethe's checkpoint-5 (or a dead writer's): whole files, no marker.
        save(output, 3);
        Path unmarked = tmp.resolve("out").resolve("checkpoint-5");
        Files.move(tmp.resolve("out").resolve("checkpoint-3"), unmarked);
        Files.delete(unmarked.resolve(CommittedDirectory.MARKER));
        Checkpoints.Found latest = Checkpoints.latest(output).orElseThrow();
        assertEquals(1, latest.globalStep());
        assertEquals(dir, latest.dir());

        // The optimizer's moments come back from a committed checkpoint.
        try (AdamW restored = new AdamW(manager, AdamW.Settings.defaults())) {
            Checkpoints.restoreOptimizer(latest, restored, manager);
            assertEquals(1, restored.step());
            assertArrayEquals(optimizer.firstMoments().get("w").toFloatArray(),
                    restored.firstMoments().get("w").toFloatArray());
        }
        assertFalse(Checkpoints.latest(tmp.resolve("none").toString()).isPresent());
    }

    @Test
    void outputLocationsAreLocalPathsOrHadoopUris() {
        assertEquals("/tmp/x/y", Checkpoints.location("file:///tmp/x/y", "k"));
        assertEquals("/tmp/x/y", Checkpoints.location("/tmp/x/y/", "k"));
        assertEquals("s3a://bucket/runs/r1", Checkpoints.location("s3a://bucket/runs/r1", "k"));
        assertEquals("hdfs://nn:8020/lethe/x", Checkpoints.location("hdfs://nn:8020/lethe/x", "k"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Checkpoints.location("s3a:", "lethe.train.output"))
                .getMessage().startsWith("lethe.train.output must be a local directory or a Hadoop file system URI"));
    }
}
