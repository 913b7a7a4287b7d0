package org.lethe.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.data.FictitiousAuthors;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelSettings;
import org.lethe.testing.FaultyFileSystem;
import org.lethe.testing.TinyModels;

/**
 * The node-local cache of remote model directories, on real tiny models committed to {@code faulty:}
 * (disarmed: a non-local scheme): LRU and idle eviction under a byte bound, SHA-256 checks, one
 * download for concurrent readers, and directories without a commit marker keyed by their listing.
 */
class ModelCacheTest {

    private static final Configuration CONF = new Configuration();

    @TempDir
    static Path shared;
    private static Path bench;
    /** Local copies of three distinct models (seeds 1, 2, 3), committed to faulty: per test. */
    private static final List<Path> MODELS = new ArrayList<>();
    private static long entryBytes;

    @BeforeAll
    static void models() throws Exception {
        bench = shared.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        for (int seed = 1; seed <= 3; seed++) {
            MODELS.add(TinyModels.save(bench, seed, shared.resolve("model-" + seed)));
        }
        try (var files = Files.list(MODELS.get(0))) {
            for (Path f : files.toList()) {
                entryBytes += Files.size(f);
            }
        }
    }

    /** Commits model {@code i} under {@code remoteRoot} (a local directory seen as faulty:), returning its faulty: path. */
    private static org.apache.hadoop.fs.Path remote(Path remoteRoot, int i) throws Exception {
        Path staging = remoteRoot.resolve(".staging-" + i);
        copy(MODELS.get(i), staging);
        org.apache.hadoop.fs.Path target = FaultyFileSystem.path(remoteRoot.resolve("model-" + i));
        CommittedDirectory.commit(staging, target, CONF);
        return target;
    }

    private static void copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static boolean cached(ModelCache cache, String key) {
        return Files.isDirectory(cache.dir().resolve(key));
    }

    @Test
    void theLeastRecentlyUsedModelIsEvictedWhenABoundFittingTwoIsExceeded(@TempDir Path tmp) throws Exception {
        FaultyFileSystem.disarm();
        // Entries also hold a copy of the marker (< 2 KiB): two fit, three do not.
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 2 * entryBytes + entryBytes / 2, Duration.ofDays(1));
        org.apache.hadoop.fs.Path a = remote(tmp.resolve("remote"), 0);
        org.apache.hadoop.fs.Path b = remote(tmp.resolve("remote"), 1);
        org.apache.hadoop.fs.Path c = remote(tmp.resolve("remote"), 2);

        String keyA;
        String keyB;
        try (ModelCache.Lease la = cache.acquire(a, CONF)) {
            assertTrue(la.downloaded());
            keyA = la.key();
            assertArrayEquals(Files.readAllBytes(MODELS.get(0).resolve("model.safetensors")),
                    Files.readAllBytes(la.path().resolve("model.safetensors")));
            // The copy is a model directory the safetensors reader loads.
            try (LanguageModel lm = LanguageModel.load(la.path(), ModelSettings.defaults())) {
                assertEquals(org.lethe.model.LmTokenizer.vocabularySize(bench.resolve("tokenizer.json")),
                        lm.config().vocabSize());
            }
        }
        try (ModelCache.Lease lb = cache.acquire(b, CONF)) {
            assertTrue(lb.downloaded());
            keyB = lb.key();
        }
        try (ModelCache.Lease again = cache.acquire(a, CONF)) {
            assertFalse(again.downloaded(), "a second use of a cached model copies nothing");
        }
        String keyC;
        try (ModelCache.Lease lc = cache.acquire(c, CONF)) {
            assertTrue(lc.downloaded());
            keyC = lc.key();
        }
        // b was used before a's second use: it goes; a and the one just fetched stay.
        assertTrue(cached(cache, keyA));
        assertFalse(cached(cache, keyB));
        assertTrue(cached(cache, keyC));

        try (ModelCache.Lease lb = cache.acquire(b, CONF)) {
            assertTrue(lb.downloaded(), "an evicted model is fetched again");
        }
        assertFalse(cached(cache, keyA), "now a is the least recently used");
        assertTrue(cached(cache, keyB));
        assertTrue(cached(cache, keyC));

        // A model being read is never evicted, even over the bound.
        try (ModelCache.Lease held = cache.acquire(c, CONF)) {
            Files.setLastModifiedTime(held.path(), FileTime.fromMillis(0)); // the oldest by far
            try (ModelCache.Lease la = cache.acquire(a, CONF)) {
                assertTrue(la.downloaded());
            }
            assertTrue(cached(cache, keyC));
            assertFalse(cached(cache, keyB));
        }
    }

    /** A child JVM's main: holds a shared lock on the file {@code args[0]} until its stdin closes. */
    public static void main(String[] args) throws Exception {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(Path.of(args[0]),
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock lock = channel.lock(0, Long.MAX_VALUE, true)) {
            System.out.println("locked");
            System.out.flush();
            System.in.transferTo(java.io.OutputStream.nullOutputStream());
        }
    }

    @Test
    void aModelAnotherJvmIsReadingIsNotEvicted(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), entryBytes + entryBytes / 2, Duration.ofDays(1));
        String keyA;
        try (ModelCache.Lease la = cache.acquire(remote(tmp.resolve("remote"), 0), CONF)) {
            keyA = la.key();
        }
        // Another JVM of this node loads model A: it holds the shared lock a Lease takes.
        Process reader = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), ModelCacheTest.class.getName(),
                cache.dir().resolve(keyA + ".lock").toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            assertEquals("locked", new java.io.BufferedReader(new java.io.InputStreamReader(reader.getInputStream()))
                    .readLine());
            try (ModelCache.Lease lb = cache.acquire(remote(tmp.resolve("remote"), 1), CONF)) {
                assertTrue(lb.downloaded());
            }
            assertTrue(cached(cache, keyA), "over the bound, but read by another JVM");
        } finally {
            reader.getOutputStream().close();
            assertEquals(0, reader.waitFor());
        }
        try (ModelCache.Lease lc = cache.acquire(remote(tmp.resolve("remote"), 2), CONF)) {
            assertTrue(lc.downloaded());
        }
        assertFalse(cached(cache, keyA), "released: evicted as the least recently used");
    }

    @Test
    void entriesIdleLongerThanTheIdleTimeAreEvictedAtTheNextFetch(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 100 * entryBytes, Duration.ofHours(1));
        String old;
        try (ModelCache.Lease l = cache.acquire(remote(tmp.resolve("remote"), 0), CONF)) {
            old = l.key();
            Files.setLastModifiedTime(l.path(), FileTime.fromMillis(System.currentTimeMillis() - 7_200_000));
        }
        try (ModelCache.Lease l = cache.acquire(remote(tmp.resolve("remote"), 1), CONF)) {
            assertTrue(l.downloaded());
        }
        assertFalse(cached(cache, old), "unused for two hours, with one hour allowed");
    }

    @Test
    void aFileCorruptedAfterCommitFailsItsSha256CheckNamingTheFile(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 10 * entryBytes, Duration.ofDays(1));
        org.apache.hadoop.fs.Path a = remote(tmp.resolve("remote"), 0);
        CommittedDirectory.FileEntry weights = CommittedDirectory.read(a, CONF).orElseThrow()
                .file("model.safetensors").orElseThrow();
        Path file = tmp.resolve("remote").resolve("model-0").resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1; // same length: only the digest tells
        Files.write(file, bytes);
        String actual = CommittedDirectory.sha256(file);

        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> cache.acquire(a, CONF));
        assertTrue(e.getMessage().contains(a + "/model.safetensors: SHA-256 " + actual + " differs from "
                + weights.sha256()), e.getMessage());
        try (var left = Files.list(cache.dir())) {
            assertEquals(List.of(), left.filter(p -> !p.getFileName().toString().endsWith(".lock")).toList(),
                    "neither an entry nor a partial copy is left");
        }
    }

    @Test
    void twoThreadsFetchingTheSameModelDownloadItOnce(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 10 * entryBytes, Duration.ofDays(1));
        org.apache.hadoop.fs.Path a = remote(tmp.resolve("remote"), 0);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<boolean[]>> results = new ArrayList<>();
            List<Path> paths = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 2; t++) {
                results.add(pool.submit(() -> {
                    start.await();
                    try (ModelCache.Lease l = cache.acquire(a, CONF)) {
                        paths.add(l.path());
                        return new boolean[] {l.downloaded()};
                    }
                }));
            }
            start.countDown();
            int downloads = 0;
            for (Future<boolean[]> f : results) {
                downloads += f.get()[0] ? 1 : 0;
            }
            assertEquals(1, downloads);
            assertEquals(paths.get(0), paths.get(1));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aModelWithoutMarkerIsKeyedByItsListingAndFetchedAgainAfterItChanges(@TempDir Path tmp) throws Exception {
        ModelCache cache = new ModelCache(tmp.resolve("cache"), 10 * entryBytes, Duration.ofDays(1));
        Path uploaded = tmp.resolve("remote").resolve("base");
        copy(MODELS.get(0), uploaded); // uploaded by hand: no marker
        org.apache.hadoop.fs.Path remote = FaultyFileSystem.path(uploaded);
        String first;
        try (ModelCache.Lease l = cache.acquire(remote, CONF)) {
            assertTrue(l.downloaded());
            first = l.key();
            assertEquals(ModelCache.listingKey(remote.getFileSystem(CONF), remote), first);
            assertArrayEquals(Files.readAllBytes(uploaded.resolve("model.safetensors")),
                    Files.readAllBytes(l.path().resolve("model.safetensors")));
        }
        try (ModelCache.Lease l = cache.acquire(remote, CONF)) {
            assertFalse(l.downloaded());
        }
        // Replaced by another model's weights (same length): a new listing, a new copy.
        Files.copy(MODELS.get(1).resolve("model.safetensors"), uploaded.resolve("model.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(uploaded.resolve("model.safetensors"), FileTime.fromMillis(
                System.currentTimeMillis() + 5_000));
        try (ModelCache.Lease l = cache.acquire(remote, CONF)) {
            assertTrue(l.downloaded());
            assertNotEquals(first, l.key());
            assertArrayEquals(Files.readAllBytes(MODELS.get(1).resolve("model.safetensors")),
                    Files.readAllBytes(l.path().resolve("model.safetensors")));
        }
    }
}
