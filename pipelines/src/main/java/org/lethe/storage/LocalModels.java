package org.lethe.storage;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.deploy.SparkHadoopUtil;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.function.Function;

/**
 * Where model, tokenizer and judge directories are read from: a local location (a path or a
 * {@code file:} URI) is used where it is, with no copy; any other Hadoop URI ({@code hdfs://},
 * {@code s3a://}, {@code abfs://}, {@code gs://}) is read from this node's {@link ModelCache},
 * configured by the job's {@link ModelCacheSettings}.
 */
public final class LocalModels {

    private static volatile Configuration executorConf;

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

    /** {@code loader} applied to {@code location}'s local directory (see {@link #path}), held from eviction meanwhile. */
    public static <T> T load(String location, Function<Path, T> loader) {
        if (Locations.isLocal(location)) {
            return loader.apply(Locations.localPath(location));
        }
        try (ModelCache.Lease lease = lease(location)) {
            return loader.apply(lease.path());
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
        if (TaskContext.get() != null && SparkEnv.get() != null) {
            Configuration conf = executorConf;
            if (conf == null) {
                conf = SparkHadoopUtil.get().newConfiguration(SparkEnv.get().conf());
                executorConf = conf;
            }
            return conf;
        }
        if (SparkSession.getActiveSession().isDefined()) {
            return SparkSession.getActiveSession().get().sparkContext().hadoopConfiguration();
        }
        return new Configuration();
    }
}
