package org.lethe.storage;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * A node-local copy of model directories that live on a remote Hadoop file system (the
 * safetensors reader memory-maps local files). An entry {@code <dir>/<key>} is named by the
 * directory's commit marker digest (or, for a directory without one, by a digest of its listing:
 * names, lengths, modification times), fetched once per node under an exclusive lock on
 * {@code <dir>/.lock}, every file checked against the marker's SHA-256, then renamed into place.
 * The cache is bounded by bytes and evicts the least recently used entries (last use is the entry's
 * modification time) and those idle too long, never one a reader holds ({@link Lease}).
 */
public final class ModelCache {

    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    private static final String TEMP_PREFIX = ".tmp-";
    private static final String LOCK_SUFFIX = ".lock";

    /** Per cache directory and JVM: file locks are held per JVM, so threads coordinate here first. */
    private static final class Shared {
        final ReentrantLock fetch = new ReentrantLock();
        final Map<String, Holder> leases = new HashMap<>();
    }

    private static final class Holder {
        final FileChannel channel;
        final FileLock lock;
        int count;

        Holder(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }
    }

    private static final Map<java.nio.file.Path, Shared> SHARED = new ConcurrentHashMap<>();
    private static long lastTouch;

    private final java.nio.file.Path dir;
    private final long maxBytes;
    private final Duration idle;
    private final Shared shared;

    /** A cache in local directory {@code dir} of at most {@code maxBytes}, evicting entries unused for {@code idle}. */
    public ModelCache(java.nio.file.Path dir, long maxBytes, Duration idle) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("model cache " + dir + ": max bytes must be > 0, got " + maxBytes);
        }
        this.dir = dir.toAbsolutePath().normalize();
        this.maxBytes = maxBytes;
        this.idle = idle;
        this.shared = SHARED.computeIfAbsent(this.dir, d -> new Shared());
    }

    /** The cache directory. */
    public java.nio.file.Path dir() {
        return dir;
    }

    /**
     * A local copy of a model directory held for reading: while it is open, no JVM on this node
     * evicts it. Closing it lets eviction take the entry again.
     */
    public final class Lease implements AutoCloseable {
        private final String key;
        private final java.nio.file.Path path;
        private final boolean downloaded;
        private boolean closed;

        private Lease(String key, java.nio.file.Path path, boolean downloaded) {
            this.key = key;
            this.path = path;
            this.downloaded = downloaded;
        }

        /** The local copy. */
        public java.nio.file.Path path() {
            return path;
        }

        /** The entry's key: the marker digest, or the listing digest of a directory without marker. */
        public String key() {
            return key;
        }

        /** Whether this call copied the directory (false: it was cached already). */
        public boolean downloaded() {
            return downloaded;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                unshare(key);
            }
        }
    }

    /**
     * The local copy of remote directory {@code remote}, fetched if this node has none.
     *
     * @throws UncheckedIOException naming the directory (and, for a corrupt file, the file and both
     *     digests)
     */
    public Lease acquire(Path remote, Configuration conf) {
        try {
            FileSystem fs = remote.getFileSystem(conf);
            Path source = fs.makeQualified(remote);
            Optional<CommittedDirectory.Marker> marker = CommittedDirectory.read(source, conf);
            String key = marker.isPresent() ? marker.get().digest() : listingKey(fs, source);
            Files.createDirectories(dir);
            share(key);
            try {
                java.nio.file.Path entry = dir.resolve(key);
                boolean downloaded = !Files.isDirectory(entry) && fetch(fs, source, marker, key, entry);
                touch(entry);
                return new Lease(key, entry, downloaded);
            } catch (IOException | RuntimeException e) {
                unshare(key);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy model directory " + remote + " into the node cache " + dir
                    + ": " + e.getMessage(), e);
        }
    }

    /**
     * The key of a directory without commit marker (a base model uploaded by hand): the SHA-256 of
     * its listing (relative names, lengths, modification times), so a changed directory is fetched again.
     */
    public static String listingKey(FileSystem fs, Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (LocatedFileStatus f : listFiles(fs, dir)) {
            lines.add(relative(dir, f.getPath()) + "\t" + f.getLen() + "\t" + f.getModificationTime());
        }
        if (lines.isEmpty()) {
            throw new java.io.FileNotFoundException(dir + ": no files (expected a model directory)");
        }
        lines.sort(null);
        return HexFormat.of().formatHex(CommittedDirectory.sha256().digest(
                String.join("\n", lines).getBytes(StandardCharsets.UTF_8)));
    }

    /** Copies {@code source} to {@code entry}, under the node's fetch lock; false if another fetched it first. */
    private boolean fetch(FileSystem fs, Path source, Optional<CommittedDirectory.Marker> marker, String key,
            java.nio.file.Path entry) throws IOException {
        shared.fetch.lock();
        java.nio.file.Path temp = dir.resolve(TEMP_PREFIX + key);
        try (FileChannel channel = FileChannel.open(dir.resolve(LOCK_SUFFIX), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = channel.lock()) {
            if (Files.isDirectory(entry)) {
                return false;
            }
            removeStaleTemps(); // only a fetch holding this lock writes them: others are a dead JVM's
            Files.createDirectories(temp);
            long started = System.nanoTime();
            if (marker.isPresent()) {
                for (CommittedDirectory.FileEntry f : marker.get().files()) {
                    String sha = download(fs, new Path(source, f.path()), temp.resolve(f.path()));
                    if (!sha.equals(f.sha256())) {
                        throw new IOException(new Path(source, f.path()) + ": SHA-256 " + sha + " differs from "
                                + f.sha256() + " in its commit marker (the file changed or was corrupted after"
                                + " commit)");
                    }
                }
                CommittedDirectory.writeLocalMarker(temp, marker.get());
            } else {
                for (LocatedFileStatus f : listFiles(fs, source)) {
                    download(fs, f.getPath(), temp.resolve(relative(source, f.getPath())));
                }
                if (!listingKey(fs, source).equals(key)) {
                    throw new IOException(source + " changed while it was copied (it has no commit marker); try again");
                }
            }
            Files.move(temp, entry, StandardCopyOption.ATOMIC_MOVE);
            LOG.info("model cache {}: copied {} as {} in {} s", dir, source, key,
                    String.format("%.1f", (System.nanoTime() - started) / 1e9));
            touch(entry);
            evict(key);
            return true;
        } finally {
            Locations.deleteTree(temp);
            shared.fetch.unlock();
        }
    }

    private static String download(FileSystem fs, Path from, java.nio.file.Path to) throws IOException {
        Files.createDirectories(to.getParent());
        try (InputStream in = fs.open(from); OutputStream out = Files.newOutputStream(to)) {
            return CommittedDirectory.copyHashing(in, out);
        }
    }

    private static List<LocatedFileStatus> listFiles(FileSystem fs, Path dir) throws IOException {
        List<LocatedFileStatus> files = new ArrayList<>();
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            LocatedFileStatus f = it.next();
            if (!CommittedDirectory.isMarker(f.getPath().getName())) {
                files.add(f);
            }
        }
        return files;
    }

    private static String relative(Path root, Path file) {
        String r = root.toUri().getPath();
        String f = file.toUri().getPath();
        return f.substring(r.endsWith("/") ? r.length() : r.length() + 1);
    }

    /** Deletes entries idle longer than the idle time, then least recently used ones while over the bound. */
    private void evict(String keep) throws IOException {
        record Cached(String key, java.nio.file.Path path, long lastUse, long bytes) {}
        List<Cached> entries = new ArrayList<>();
        try (Stream<java.nio.file.Path> list = Files.list(dir)) {
            for (java.nio.file.Path p : list.filter(Files::isDirectory).toList()) {
                String name = p.getFileName().toString();
                if (!name.startsWith(".")) {
                    entries.add(new Cached(name, p, Files.getLastModifiedTime(p).toMillis(), bytes(p)));
                }
            }
        }
        entries.sort(Comparator.comparingLong(Cached::lastUse));
        long total = entries.stream().mapToLong(Cached::bytes).sum();
        long now = System.currentTimeMillis();
        for (Cached c : entries) {
            boolean idleTooLong = now - c.lastUse() > idle.toMillis();
            if (c.key().equals(keep) || !idleTooLong && total <= maxBytes) {
                continue;
            }
            if (tryDelete(c.key(), c.path())) {
                total -= c.bytes();
                LOG.info("model cache {}: evicted {} ({} bytes, {})", dir, c.key(), c.bytes(),
                        idleTooLong ? "idle" : "least recently used");
            }
        }
        if (total > maxBytes) {
            LOG.warn("model cache {}: {} bytes in use, above its bound of {} (entries in use are kept)", dir, total,
                    maxBytes);
        }
    }

    /** Deletes an entry unless a reader (of this JVM or another) holds it. */
    private boolean tryDelete(String key, java.nio.file.Path entry) throws IOException {
        synchronized (shared.leases) {
            if (shared.leases.containsKey(key)) {
                return false;
            }
            try (FileChannel channel = FileChannel.open(dir.resolve(key + LOCK_SUFFIX), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.tryLock()) {
                if (lock == null) {
                    return false; // another JVM of this node reads it
                }
                return Locations.deleteTree(entry);
            } catch (OverlappingFileLockException e) {
                return false;
            }
        }
    }

    /** Takes (or joins this JVM's) shared lock on {@code <key>.lock}, which keeps eviction away. */
    private void share(String key) throws IOException {
        synchronized (shared.leases) {
            Holder h = shared.leases.get(key);
            if (h == null) {
                // The lock files stay: deleting one could split readers and an evictor across two inodes.
                FileChannel channel = FileChannel.open(dir.resolve(key + LOCK_SUFFIX), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE, StandardOpenOption.READ);
                try {
                    h = new Holder(channel, channel.lock(0, Long.MAX_VALUE, true));
                } catch (IOException | RuntimeException e) {
                    channel.close();
                    throw e;
                }
                shared.leases.put(key, h);
            }
            h.count++;
        }
    }

    private void unshare(String key) {
        synchronized (shared.leases) {
            Holder h = shared.leases.get(key);
            if (h != null && --h.count == 0) {
                shared.leases.remove(key);
                try {
                    h.lock.release();
                    h.channel.close();
                } catch (IOException e) {
                    LOG.warn("model cache {}: cannot release the lock of {}: {}", dir, key, e.getMessage());
                }
            }
        }
    }

    /** Records a use as the entry's modification time, strictly increasing within this JVM. */
    private static void touch(java.nio.file.Path entry) throws IOException {
        long now;
        synchronized (ModelCache.class) {
            now = Math.max(System.currentTimeMillis(), lastTouch + 1);
            lastTouch = now;
        }
        Files.setLastModifiedTime(entry, FileTime.fromMillis(now));
    }

    private void removeStaleTemps() throws IOException {
        try (Stream<java.nio.file.Path> list = Files.list(dir)) {
            for (java.nio.file.Path p : list.toList()) {
                if (p.getFileName().toString().startsWith(TEMP_PREFIX)) {
                    Locations.deleteTree(p);
                }
            }
        }
    }

    private static long bytes(java.nio.file.Path entry) throws IOException {
        try (Stream<java.nio.file.Path> walk = Files.walk(entry)) {
            long sum = 0;
            for (java.nio.file.Path p : walk.filter(Files::isRegularFile).toList()) {
                sum += Files.size(p);
            }
            return sum;
        }
    }
}
