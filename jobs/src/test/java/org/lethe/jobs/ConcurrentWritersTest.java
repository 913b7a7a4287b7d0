package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.store.DeltaSession;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;

/**
 * Several applications (JVMs of their own) writing one table at once, on a local root and on a real
 * HDFS (an in-process minicluster): every commit lands, nothing is lost; and a writer killed (kill
 * -9) while it holds a local table's commit lock blocks no later writer.
 */
class ConcurrentWritersTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final StructType SCHEMA = new StructType().add("run_id", DataTypes.StringType)
            .add("round", DataTypes.IntegerType).add("value", DataTypes.LongType);


    /** A child JVM, flagged as short-lived. */
    private static Process start(Path log, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m"));
        cmd.addAll(StandaloneCluster.SHORT_LIVED);
        cmd.addAll(StandaloneCluster.JAVA17_OPENS);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Writer.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    /**
     * Eight writer JVMs, each writing its own run into table "shared" of a local root (twice: the
     * second replaces the first) and then of a root on a real HDFS (once). They start their
     * commits together (each waits for a go file once its Spark session is up), so the commits
     * race: every one lands, and nothing is lost.
     */
    @Test
    void eightApplicationsCommitToOneTableOnALocalRootAndOnHdfsAndNothingIsLost(@TempDir Path tmp) throws Exception {
        try (MiniHdfs hdfs = new MiniHdfs(tmp.resolve("hdfs"))) {
            String local = tmp.resolve("root").toString();
            String remote = hdfs.uri() + "/lethe/tables";
            Path go = tmp.resolve("go");
            List<Process> writers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                writers.add(start(tmp.resolve("w" + i + ".log"), go.toString(), "w" + i, local + "=2", remote + "=1"));
            }
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
            for (int i = 0; i < writers.size(); i++) {
                Path log = tmp.resolve("w" + i + ".log");
                while (!Files.readString(log).contains("ready") && System.nanoTime() < deadline) {
                    assertTrue(writers.get(i).isAlive(), "writer " + i + " died: " + Files.readString(log));
                    Thread.sleep(100);
                }
                assertTrue(Files.readString(log).contains("ready"), "writer " + i + " not ready: " + Files.readString(log));
            }
            Files.createFile(go);
            for (int i = 0; i < writers.size(); i++) {
                Process p = writers.get(i);
                assertTrue(p.waitFor(5, TimeUnit.MINUTES), "writer " + i + " did not finish: "
                        + Files.readString(tmp.resolve("w" + i + ".log")));
                assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("w" + i + ".log")));
            }
            assertEveryRunLanded(local, 2);
            assertEveryRunLanded(remote, 1);
        }
    }

    /** Table "shared" of {@code root} holds each writer's last round only, after one version per write. */
    private static void assertEveryRunLanded(String root, int rounds) {
        TableStore store = new TableStore(SPARK.session(), root);
        List<List<Object>> rows = TestSpark.rows(store.read("shared").select("run_id", "round", "value")
                .orderBy("run_id"));
        List<List<Object>> expected = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            expected.add(List.of("w" + i, rounds - 1, (long) i * 100 + rounds - 1));
        }
        assertEquals(expected, rows, root);
        assertEquals(8L * rounds, io.delta.tables.DeltaTable.forPath(SPARK.session(), store.location("shared"))
                .history().count(), root + ": one version per write");
    }

    @Test
    void aWriterKilledHoldingTheCommitLockBlocksNoLaterWriter(@TempDir Path tmp) throws Exception {
        String root = tmp.resolve("root").toString();
        TableStore store = new TableStore(SPARK.session(), root);
        store.write("shared", SPARK.session().createDataFrame(List.of(RowFactory.create("first", 0, 0L)), SCHEMA));
        Path log = tmp.resolve("holder.log");
        Process holder = start(log, "--hold-lock", store.location("shared").replaceFirst("^file:", ""));
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!Files.readString(log).contains("holding") && System.nanoTime() < deadline) {
                assertTrue(holder.isAlive(), Files.readString(log));
                Thread.sleep(100);
            }
            assertTrue(Files.readString(log).contains("holding"), Files.readString(log));
        } finally {
            holder.destroyForcibly(); // SIGKILL while it holds the lock
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        store.write("shared", SPARK.session().createDataFrame(List.of(RowFactory.create("later", 1, 1L)), SCHEMA));
        assertEquals(List.of(List.of("first"), List.of("later")),
                TestSpark.rows(store.read("shared").select("run_id").orderBy("run_id")));
    }

    /**
     * A child application: {@code <go file> <run id> <root>=<rounds>...} writes its run into each
     * root that many times, once the go file exists; or {@code --hold-lock <table>} holds a table's
     * commit lock until killed.
     */
    public static final class Writer {
        public static void main(String[] args) throws Exception {
            if (args[0].equals("--hold-lock")) {
                File lockFile = new File(new File(args[1], "_delta_log"), ".lethe-commit.lock");
                try (FileChannel channel = FileChannel.open(lockFile.toPath(), StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
                    System.out.println((lock.isValid() ? "holding " : "lost ") + lockFile);
                    Thread.sleep(Long.MAX_VALUE);
                }
                return;
            }
            Path go = Path.of(args[0]);
            String runId = args[1];
            long base = Long.parseLong(runId.substring(1)) * 100;
            SparkConf conf = DeltaSession.configure(new SparkConf(false).setMaster("local[1]")
                    .setAppName("writer-" + runId).set("spark.ui.enabled", "false")
                    .set("spark.driver.host", "127.0.0.1").set("spark.sql.shuffle.partitions", "1"));
            SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
            try {
                System.out.println("ready");
                while (!Files.exists(go)) {
                    Thread.sleep(20);
                }
                // root=rounds, in turn
                for (int a = 2; a < args.length; a++) {
                    String root = args[a].substring(0, args[a].lastIndexOf('='));
                    int rounds = Integer.parseInt(args[a].substring(args[a].lastIndexOf('=') + 1));
                    TableStore store = new TableStore(spark, root);
                    for (int round = 0; round < rounds; round++) {
                        store.write("shared", spark.createDataFrame(List.of(RowFactory.create(runId, round,
                                base + round)), SCHEMA));
                    }
                }
            } finally {
                spark.stop();
            }
        }
    }
}
