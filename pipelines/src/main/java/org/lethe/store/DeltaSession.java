package org.lethe.store;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.SparkConf;

/**
 * The Spark settings Lethe's Delta tables need, for every session Lethe creates: Delta's SQL
 * extension and catalog (so that {@code lethe sql} reads tables by name and {@code VERSION AS OF}),
 * and the cross-process {@link LockingLocalLogStore} for {@code file:} roots. Settings the user
 * gave (spark-defaults, {@code --conf}) win.
 */
public final class DeltaSession {

    private DeltaSession() {}

    /** The settings, by key. */
    public static Map<String, String> settings() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension");
        s.put("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog");
        s.put("spark.delta.logStore.file.impl", LockingLocalLogStore.class.getName());
        return s;
    }

    /**
     * {@code conf} with every setting it does not have yet (Delta's extension added to any others);
     * under a local master also few partitions for Delta's snapshot state (its default of 50 tasks
     * per table snapshot dominates small commits on a few cores).
     */
    public static SparkConf configure(SparkConf conf) {
        if (conf.get("spark.master", "").startsWith("local")) {
            conf.setIfMissing("spark.databricks.delta.snapshotPartitions", "2");
        }
        settings().forEach((k, v) -> {
            if (!conf.contains(k)) {
                conf.set(k, v);
            } else if (k.equals("spark.sql.extensions") && !conf.get(k).contains(v)) {
                conf.set(k, conf.get(k) + "," + v);
            }
        });
        return conf;
    }
}
