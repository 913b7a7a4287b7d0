package org.lethe.model;

import ai.djl.pytorch.jni.JniUtils;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.lethe.config.LetheConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Holds every computation of a job to the driver's numeric environment. The driver enters a job
 * ({@link #enterDriver}): it applies the thread pin, checks (when {@code lethe.model.reproducible})
 * that the pinned variables are set, and hands its {@link NumericEnvironment} to every task of the
 * job through a Spark local property. Each task, on its first use of a model ({@link #enter}),
 * applies the same thread count to its own thread (libtorch keeps one per thread) and compares its
 * environment with the driver's: a difference fails the task, naming both values, when the job is
 * reproducible, and is logged once per executor otherwise.
 *
 * @param reproducible {@code lethe.model.reproducible}
 * @param threads {@code lethe.model.threads} (0: the engine's default, the machine's core count)
 */
public record NumericGuard(boolean reproducible, int threads) {

    /** The Spark local property carrying the driver's environment to the tasks of its jobs. */
    static final String PROPERTY = "lethe.numerics";

    private static final Logger LOG = LoggerFactory.getLogger(NumericGuard.class);
    private static final Set<String> WARNED = ConcurrentHashMap.newKeySet();

    public NumericGuard {
        if (threads < 0) {
            throw new IllegalArgumentException("lethe.model.threads must be >= 0, got " + threads);
        }
        if (reproducible && threads == 0) {
            throw new IllegalArgumentException("lethe.model.reproducible = true needs a fixed lethe.model.threads"
                    + " (0 takes each machine's core count)");
        }
    }

    /** The {@code lethe.model.reproducible} and {@code lethe.model.threads} of a resolved config. */
    public static NumericGuard of(LetheConfig config) {
        return new NumericGuard(config.modelReproducible(), config.modelThreads());
    }

    /** A job's hold on the driver's thread: its environment, released (the property restored) on close. */
    public static final class Scope implements AutoCloseable {
        private final SparkContext spark;
        private final String previous;
        private final NumericEnvironment environment;

        private Scope(SparkContext spark, String previous, NumericEnvironment environment) {
            this.spark = spark;
            this.previous = previous;
            this.environment = environment;
        }

        /** The driver's environment, which every task of the job is held to. */
        public NumericEnvironment environment() {
            return environment;
        }

        @Override
        public void close() {
            spark.setLocalProperty(PROPERTY, previous);
        }
    }

    /**
     * Enters a job on the calling (driver) thread: applies the thread pin and, when reproducible,
     * refuses an unpinned process with an error naming each variable and how to set it; the Spark jobs
     * this thread starts until {@link Scope#close} carry the driver's environment to their tasks.
     */
    public Scope enterDriver(SparkContext spark) {
        if (reproducible) {
            List<String> problems = NumericEnvironment.unpinned();
            if (!problems.isEmpty()) {
                throw new IllegalStateException("lethe.model.reproducible = true, but on the driver "
                        + String.join("; ", problems) + ". bin/lethe and deploy/lethe-submit set "
                        + pinsText() + " unless LETHE_REPRODUCIBLE=0; export them before the JVM starts"
                        + " (spark.yarn.appMasterEnv.* / spark.kubernetes.driverEnv.* for a cluster-mode driver),"
                        + " or set lethe.model.reproducible = false to accept this machine's kernels");
            }
        }
        applyThreads(threads);
        NumericEnvironment env = NumericEnvironment.current();
        String previous = spark.getLocalProperty(PROPERTY);
        spark.setLocalProperty(PROPERTY, reproducible + " " + env.toJson());
        return new Scope(spark, previous, env);
    }

    /**
     * Called where a computation starts (a model is loaded or taken from an executor's cache):
     * applies {@code threads} to the calling thread and, inside a task of a job whose driver entered
     * {@link #enterDriver}, holds this executor to the driver's environment.
     *
     * @throws IllegalStateException in a reproducible job, naming the unpinned variables or each
     *     difference with both values
     */
    public static void enter(int threads) {
        applyThreads(threads);
        TaskContext task = TaskContext.get();
        String driver = task == null ? null : task.getLocalProperty(PROPERTY);
        if (driver == null) {
            return;
        }
        int space = driver.indexOf(' ');
        boolean reproducible = Boolean.parseBoolean(driver.substring(0, space));
        NumericEnvironment expected = NumericEnvironment.fromJson(driver.substring(space + 1));
        String where = where();
        List<String> differences = NumericEnvironment.current().differences(expected, "on " + where, "on the driver");
        List<String> unpinned = reproducible ? NumericEnvironment.unpinned() : List.of();
        if (differences.isEmpty() && unpinned.isEmpty()) {
            return;
        }
        String message = differences.isEmpty() ? "" : where + " computes in another numeric environment than the"
                + " driver: " + String.join("; ", differences);
        if (!reproducible) {
            if (WARNED.add(message)) {
                LOG.warn("{} (lethe.model.reproducible = false: going on)", message);
            }
            return;
        }
        if (!unpinned.isEmpty()) {
            message += (message.isEmpty() ? "lethe.model.reproducible = true, but on " + where + " " : "; and here ")
                    + String.join("; ", unpinned);
        }
        throw new IllegalStateException(message + ". Its results would differ from the driver's; set spark.executorEnv."
                + NumericEnvironment.ATEN + " and spark.executorEnv." + NumericEnvironment.MKL + " to " + pinsText()
                + " on every node (deploy/spark-defaults-cpu.conf), or lethe.model.reproducible = false");
    }

    /** This executor, as an error names it. */
    private static String where() {
        SparkEnv env = SparkEnv.get();
        String id = env == null ? "?" : env.executorId();
        String host = env == null ? "?" : env.blockManager().blockManagerId().host();
        return "driver".equals(id) ? "a task in the driver's JVM" : "executor " + id + " (host " + host + ")";
    }

    private static void applyThreads(int threads) {
        ai.djl.engine.Engine.getEngine("PyTorch"); // loads the natives JniUtils calls into
        if (threads > 0 && JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
    }

    private static String pinsText() {
        StringBuilder b = new StringBuilder();
        NumericEnvironment.PINS.forEach((k, v) -> b.append(b.length() == 0 ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }
}
