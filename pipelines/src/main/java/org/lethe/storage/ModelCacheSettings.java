package org.lethe.storage;

import org.apache.spark.SparkContext;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;

import java.nio.file.Paths;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node-local model cache's settings ({@code lethe.storage.model_cache.*}), carried from the
 * driver to every task of a job through a Spark local property, as {@link org.lethe.model.NumericGuard}
 * carries the numeric environment: the driver {@link #enterDriver enters} a job, tasks read
 * {@link #current}.
 *
 * @param dir the cache directory; empty: {@code <java.io.tmpdir>/lethe-model-cache}
 * @param maxBytes the bound on the cache's bytes
 * @param idleSeconds entries unused this long are evicted at the next fetch
 */
public record ModelCacheSettings(String dir, long maxBytes, long idleSeconds) {

    /** The Spark local property carrying the driver's settings to the tasks of its jobs. */
    static final String PROPERTY = "lethe.storage.model_cache";

    private static final Map<ModelCacheSettings, ModelCache> CACHES = new ConcurrentHashMap<>();
    private static volatile ModelCacheSettings defaults;

    public ModelCacheSettings {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("lethe.storage.model_cache.max_bytes must be > 0, got " + maxBytes);
        }
        if (idleSeconds <= 0) {
            throw new IllegalArgumentException("lethe.storage.model_cache.idle_seconds must be > 0, got "
                    + idleSeconds);
        }
        if (dir.contains("\n")) {
            throw new IllegalArgumentException("lethe.storage.model_cache.dir must be one line, got " + dir);
        }
    }

    /** The {@code lethe.storage.model_cache.*} of a resolved config. */
    public static ModelCacheSettings of(LetheConfig config) {
        return new ModelCacheSettings(config.getString("storage.model_cache.dir"),
                config.getLong("storage.model_cache.max_bytes"), config.getLong("storage.model_cache.idle_seconds"));
    }

    /** The defaults of reference.conf. */
    public static ModelCacheSettings defaults() {
        if (defaults == null) {
            defaults = of(LetheConfig.defaults());
        }
        return defaults;
    }

    /**
     * The settings in force on this thread: inside a task, the driver's of its job; on a driver
     * thread that entered a job, that job's; else the defaults.
     */
    public static ModelCacheSettings current() {
        TaskContext task = TaskContext.get();
        SparkSession session = task == null ? LocalModels.session() : null;
        String value = task != null ? task.getLocalProperty(PROPERTY)
                : session != null ? session.sparkContext().getLocalProperty(PROPERTY) : null;
        return value == null ? defaults() : parse(value);
    }

    /** The cache these settings describe (one instance per settings and JVM). */
    public ModelCache cache() {
        return CACHES.computeIfAbsent(this, s -> new ModelCache(s.dir.isEmpty()
                ? Paths.get(System.getProperty("java.io.tmpdir"), "lethe-model-cache") : Paths.get(s.dir),
                s.maxBytes, Duration.ofSeconds(s.idleSeconds)));
    }

    /** A job's settings on the driver's thread, the previous ones restored on close. */
    public static final class Scope implements AutoCloseable {
        private final SparkContext spark;
        private final String previous;

        private Scope(SparkContext spark, String previous) {
            this.spark = spark;
            this.previous = previous;
        }

        @Override
        public void close() {
            spark.setLocalProperty(PROPERTY, previous);
        }
    }

    /** Enters a job on the calling (driver) thread: the Spark jobs it starts carry these settings to their tasks. */
    public Scope enterDriver(SparkContext spark) {
        String previous = spark.getLocalProperty(PROPERTY);
        spark.setLocalProperty(PROPERTY, maxBytes + " " + idleSeconds + " " + dir);
        return new Scope(spark, previous);
    }

    private static ModelCacheSettings parse(String value) {
        String[] parts = value.split(" ", 3);
        return new ModelCacheSettings(parts[2], Long.parseLong(parts[0]), Long.parseLong(parts[1]));
    }
}
