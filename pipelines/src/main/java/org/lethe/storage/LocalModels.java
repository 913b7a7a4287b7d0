package org.lethe.storage;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where model, tokenizer and judge directories are read from: a local location (a path or a
 * {@code file:} URI) is used where it is, with no copy; any other Hadoop URI ({@code hdfs://},
 * {@code s3a://}, {@code abfs://}, {@code gs://}) is read from this node's {@link ModelCache},
 * configured by the job's {@link ModelCacheSettings}.
 */
public final class LocalModels {

    private record ExecutorConf(SparkEnv env, Configuration conf) {}

    private static volatile ExecutorConf executorConf;

    private LocalModels() {}

    /**
     * {@code location} as a local directory: itself when local, else this node's cached copy.
     * Prefer {@link #load} to read a model: it also keeps the copy from eviction while it loads.
     */
    public static Path path(String location) {
        if (Locations.isLocal(location)) {
            return Locations.localPath(location);
        }
        try (ModelCache.Lease lease = lease(location)) {
            return lease.path();
        }
    }

    /**
     * {@code loader} applied to {@code location}'s local directory (see {@link #path}); a cached copy
     * is held from eviction while it runs.
     */
    public static <T> T load(String location, Function<Path, T> loader) {
        return Locations.isLocal(location) ? loader.apply(Locations.localPath(location))
                : load(location, ModelCacheSettings.current(), loader);
    }

    /** As {@link #load(String, Function)}, with the cache of {@code settings} (for commands outside a Spark job). */
    public static <T> T load(String location, ModelCacheSettings settings, Function<Path, T> loader) {
        if (Locations.isLocal(location)) {
            return loader.apply(Locations.localPath(location));
        }
        try (ModelCache.Lease lease = settings.cache().acquire(Locations.hadoopPath(location), hadoopConfiguration())) {
            return loader.apply(lease.path());
        }
    }

    /**
     * Whether directory {@code location} holds a regular file {@code name}, read where it is (no
     * copy): false when either is missing or the file system cannot be reached.
     */
    public static boolean hasFile(String location, String name) {
        if (Locations.isLocal(location)) {
            return Files.isRegularFile(Locations.localPath(location).resolve(name));
        }
        try {
            org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(Locations.hadoopPath(location), name);
            return file.getFileSystem(hadoopConfiguration()).isFile(file);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The bytes of file {@code name} of directory {@code location}, read where it is; empty when there is none. */
    public static Optional<byte[]> readFile(String location, String name) {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(Locations.hadoopPath(location), name);
        try (InputStream in = file.getFileSystem(hadoopConfiguration()).open(file)) {
            return Optional.of(in.readAllBytes());
        } catch (FileNotFoundException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    private static ModelCache.Lease lease(String location) {
        return ModelCacheSettings.current().cache().acquire(Locations.hadoopPath(location), hadoopConfiguration());
    }

    /**
     * The Hadoop configuration of this JVM's Spark role: in a task, the executor's (spark.hadoop.*
     * keys such as s3a endpoints applied); on a driver, the active session's; else Hadoop's defaults.
     */
    public static Configuration hadoopConfiguration() {
        SparkEnv env = SparkEnv.get();
        if (TaskContext.get() != null && env != null) {
            // Built once per SparkEnv (parsing the XML resources is slow); a new context gets its own.
            ExecutorConf cached = executorConf;
            if (cached == null || cached.env() != env) {
                cached = new ExecutorConf(env, SparkHadoopUtil.get().newConfiguration(env.conf()));
                executorConf = cached;
            }
            return cached.conf();
        }
        SparkSession session = session();
        return session != null ? session.sparkContext().hadoopConfiguration() : new Configuration();
    }

    /** The driver's session: this thread's active one, else the default one; null outside Spark. */
    static SparkSession session() {
        return SparkSession.getActiveSession().isDefined() ? SparkSession.getActiveSession().get()
                : SparkSession.getDefaultSession().isDefined() ? SparkSession.getDefaultSession().get() : null;
    }
}
