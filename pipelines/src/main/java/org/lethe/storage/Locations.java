package org.lethe.storage;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Locations as configs spell them: a local path, a {@code file:} URI, or any other Hadoop file
 * system URI ({@code hdfs://}, {@code s3a://}, {@code abfs://}, {@code gs://}).
 */
public final class Locations {

    private Locations() {}

    /** Whether {@code location} is on the local file system (a path without scheme or a file: URI). */
    public static boolean isLocal(String location) {
        String scheme = new Path(location).toUri().getScheme();
        return scheme == null || scheme.equals("file");
    }

    /** Whether {@code fs} is the local file system. */
    static boolean isLocal(FileSystem fs) {
        return "file".equals(fs.getUri().getScheme());
    }

    /**
     * {@code location} as a Hadoop path: a path without scheme is a local one (made absolute), never
     * resolved against {@code fs.defaultFS}, which on a cluster is HDFS.
     */
    public static Path hadoopPath(String location) {
        return isLocal(location) && new Path(location).toUri().getScheme() == null
                ? new Path(Paths.get(location).toAbsolutePath().normalize().toUri())
                : new Path(location);
    }

    /** A local location as a {@link java.nio.file.Path}: a plain path unchanged, a file: URI its path. */
    public static java.nio.file.Path localPath(String location) {
        URI uri = new Path(location).toUri();
        if (uri.getScheme() == null) {
            return Paths.get(location);
        }
        if (!uri.getScheme().equals("file")) {
            throw new IllegalArgumentException(location + " is not on the local file system");
        }
        return Paths.get(uri.getPath());
    }

    /** A qualified file: Hadoop path as a {@link java.nio.file.Path}. */
    static java.nio.file.Path localPath(Path path) {
        return Paths.get(path.toUri().getPath());
    }

    /** {@code child} under {@code parent}, both spelled as configs spell locations. */
    public static String resolve(String parent, String child) {
        return isLocal(parent) && new Path(parent).toUri().getScheme() == null
                ? Paths.get(parent).resolve(child).toString()
                : new Path(new Path(parent), child).toString();
    }

    /** Deletes a local tree, best effort (cleanup paths; the result says whether it is gone). */
    static boolean deleteTree(java.nio.file.Path root) {
        if (root == null || !Files.exists(root)) {
            return true;
        }
        try (Stream<java.nio.file.Path> walk = Files.walk(root)) {
            for (java.nio.file.Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException ignored) {
            // reported through the return value
        }
        return !Files.exists(root);
    }
}
