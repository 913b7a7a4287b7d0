package org.lethe.jobs;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SparkSession of a {@code lethe} command: under spark-submit the cluster's, otherwise an
 * embedded {@code local[*]} one. The only place in Lethe that chooses a master.
 */
public final class EmbeddedSpark implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedSpark.class);

    private final SparkSession session;
    private final boolean owned;

    private EmbeddedSpark(SparkSession session, boolean owned) {
        this.session = session;
        this.owned = owned;
    }

    /**
     * Gets or creates the session, named by {@code lethe.spark.app_name}. Settings given as {@code
     * spark.*} system properties (spark-submit passes them so) win over the defaults set here: UI
     * off and a UTC session time zone.
     */
    public static EmbeddedSpark start(LetheConfig config) {
        // A session that already exists (a test's, or a caller's) is used and left running.
        boolean existed = SparkSession.getActiveSession().isDefined() || SparkSession.getDefaultSession().isDefined();
        SparkConf conf = new SparkConf().setAppName(config.sparkAppName());
        if (!conf.contains("spark.master")) {
            conf.setMaster("local[*]");
            // Only for the embedded driver: on a cluster, executors must reach the driver's real address.
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
        }
        conf.setIfMissing("spark.ui.enabled", "false");
        conf.setIfMissing("spark.sql.session.timeZone", "UTC");
        org.lethe.store.DeltaSession.configure(conf);
        SparkSession session = SparkSession.builder().config(conf).getOrCreate();
        LOG.info("spark {}: master {}, application {}", session.version(), session.sparkContext().master(),
                session.sparkContext().applicationId());
        return new EmbeddedSpark(session, !existed);
    }

    public SparkSession session() {
        return session;
    }

    /** Stops the session if this helper created it. */
    @Override
    public void close() {
        if (owned) {
            session.stop();
        }
    }
}
