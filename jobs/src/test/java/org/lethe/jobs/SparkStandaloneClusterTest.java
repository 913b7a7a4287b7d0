package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lethe.data.FictitiousAuthors;
import org.lethe.testing.TinyModels;

/**
 * A real Spark standalone cluster (a master and two 1-core workers as separate JVMs on 127.0.0.1)
 * runs the spark-submit jar through deploy/lethe-submit, with the table root, the models and the
 * checkpoints on a real HDFS (an in-process minicluster) and, separately, on S3 (S3Mock in its own
 * JVM, through s3a, which only the cluster's classpath has): ingest, finetune, unlearn, evaluate and
 * report give what the embedded local[*] run on local paths gives (weights bitwise, as the
 * unlearning partition test), on HDFS also when an executor JVM is killed in the middle of unlearn;
 * evaluating three models in one application keeps every executor's model cache within its byte
 * bound (read back from the executors); a job asking for a (fake) GPU is scheduled on
 * it and fails naming lethe.model.device because CUDA is unavailable here; and an executor told
 * another ATen CPU capability than the driver's fails the first step, naming both. Runs in the
 * integration-test phase after the jar is built: {@code mvn -B verify}, or {@code mvn -o -B -pl
 * pipelines,spark-runtime,jobs verify -Dtest=SparkStandaloneClusterTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("cluster")
class SparkStandaloneClusterTest {

    /** Everything the test writes, logs included (kept after a failure for CI): target/cluster-test. */
    private static Path tmp;
    private static StandaloneCluster cluster;
    private static final List<Process> drivers = new ArrayList<>();
    private static Path jar;
    private static Path bench;
    private static Path model;
    private static MiniHdfs hdfs;
    private static S3Server s3;
    /** deploy/spark-defaults-cpu.conf with the drivers' and executors' JVMs flagged short-lived. */
    private static Path sparkDefaults;
    /** The local[*] run on local paths every storage is compared with (made once, by the first test needing it). */
    private static Local reference;

    private static Path required(String property) {
        String value = System.getProperty(property);
        assertTrue(value != null && Files.exists(Path.of(value)), property + " = " + value + " does not exist: run"
                + " the cluster test through Maven's integration-test phase (mvn verify), which builds the jar"
                + " and spark-runtime/target/spark-jars.txt first");
        return Path.of(value);
    }

    @BeforeAll
    static void startCluster() throws Exception {
        jar = required("lethe.spark.jar");
        tmp = jar.resolveSibling("cluster-test");
        if (Files.exists(tmp)) {
            try (Stream<Path> old = Files.walk(tmp)) {
                old.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(tmp);
        Path sparkJars = required("lethe.spark.jars");
        Path gpuScript = tmp.resolve("fake-gpu.sh");
        Files.writeString(gpuScript, "#!/usr/bin/env bash\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
        gpuScript.toFile().setExecutable(true);
        cluster = new StandaloneCluster(tmp.resolve("cluster"), sparkJars);
        sparkDefaults = tmp.resolve("spark-defaults-test.conf");
        Files.write(sparkDefaults, Files.readAllLines(Path.of(System.getProperty("lethe.repo", "."))
                .resolve("deploy/spark-defaults-cpu.conf")).stream()
                .map(l -> l.matches("spark\\.(driver|executor)\\.extraJavaOptions\\s.*")
                        ? l + " " + String.join(" ", StandaloneCluster.SHORT_LIVED) : l).toList());
        mark("setup");
        cluster.start(2, gpuScript);
        mark("master and 2 workers up");

        // A 3-author benchmark (forget10: 10 samples) and a tiny model trained from scratch, as UnlearnJobTest.
        bench = tmp.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        model = TinyModels.save(bench, 7, tmp.resolve("model"));
        hdfs = new MiniHdfs(tmp.resolve("hdfs"));
        s3 = new S3Server(required("lethe.s3mock.jar"), tmp.resolve("s3"));
        mark("HDFS and S3 up");
    }

    @AfterAll
    static void stopEverything() {
        for (Process p : drivers) {
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (s3 != null) {
            s3.close();
        }
        if (hdfs != null) {
            hdfs.close();
        }
    }

    private static final List<String> UNLEARN = List.of("--set", "unlearn.dataset=synth", "--set", "unlearn.method=grad_diff",
            "--set", "unlearn.epochs=2", "--set", "unlearn.batch_size=4", "--set", "unlearn.micro_batch_size=2",
            "--set", "unlearn.lr=1e-3", "--set", "unlearn.max_steps=6", "--set", "unlearn.partitions=2",
            "--set", "unlearn.reduce=ordered", "--set", "unlearn.checkpoint_every_steps=2", "--set", "model.threads=1");
    private static final List<String> FINETUNE = List.of("--set", "train.dataset=synth", "--set", "train.epochs=1",
            "--set", "train.batch_size=4", "--set", "train.micro_batch_size=2", "--set", "train.max_steps=2",
            "--set", "train.partitions=2", "--set", "train.reduce=ordered", "--set", "model.threads=1");
    private static final List<String> EVALUATE = List.of("--set", "eval.dataset=synth", "--set", "eval.max_samples=6",
            "--set", "eval.max_new_tokens=4", "--set", "eval.mia_gradient_norm=false", "--set", "model.threads=1");

    private static List<String> args(Object... parts) {
        List<String> out = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof List<?> l) {
                l.forEach(x -> out.add(x.toString()));
            } else {
                out.add(p.toString());
            }
        }
        return out;
    }

    /** deploy/lethe-submit against the cluster, sized for 1-core, 2 GB workers; started, not awaited. */
    private static Process submit(String name, List<String> sparkConf, List<String> command) throws IOException {
        Path repo = Path.of(System.getProperty("lethe.repo", "."));
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("deploy/lethe-submit").toString(),
                "--master", cluster.masterUrl, "--deploy-mode", "client",
                "--conf", "spark.driver.memory=1g", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.executor.memory=1g", "--conf", "spark.executor.memoryOverhead=512m",
                "--conf", "spark.executor.cores=1", "--conf", "spark.task.cpus=1",
                "--conf", "spark.executorEnv.DJL_CACHE_DIR=" + djlCache(), "--conf", "spark.ui.enabled=false",
                "--conf", "spark.sql.shuffle.partitions=4",
                // Delta rebuilds a table's state in 50 tasks by default: far more than these tiny tables need.
                "--conf", "spark.databricks.delta.snapshotPartitions=2"));
        cmd.addAll(sparkConf);
        cmd.add("--");
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(tmp.resolve(name + ".out").toFile())
                .redirectError(tmp.resolve(name + ".err").toFile());
        cluster.environment(pb.environment());
        pb.environment().put("LETHE_JAR", jar.toString());
        pb.environment().put("LETHE_SPARK_DEFAULTS", sparkDefaults.toString());
        pb.environment().put("DJL_CACHE_DIR", djlCache());
        pb.environment().put("DJL_OFFLINE", "true");
        Process p = pb.start();
        drivers.add(p);
        return p;
    }

    private static String djlCache() {
        String c = System.getProperty("DJL_CACHE_DIR", System.getenv("DJL_CACHE_DIR"));
        return c == null ? tmp.resolve("djl-cache").toString() : c;
    }

    /** Waits for a submitted job; its status, stdout and stderr. */
    private static Cli finish(String name, Process p) throws Exception {
        assertTrue(p.waitFor(4, TimeUnit.MINUTES), name + " did not finish in 4 minutes");
        return new Cli(p.exitValue(), Files.readString(tmp.resolve(name + ".out")),
                Files.readString(tmp.resolve(name + ".err")));
    }

    private static Cli onCluster(String name, List<String> sparkConf, List<String> command) throws Exception {
        return finish(name, submit(name, sparkConf, command));
    }

    private static long started = System.nanoTime();

    /** Elapsed seconds since the last mark, on stdout (the test's report), to watch CI's time budget. */
    private static void mark(String what) {
        long now = System.nanoTime();
        System.out.printf("cluster test: %s: %.1f s%n", what, (now - started) / 1e9);
        started = now;
    }

    /** What the local[*] run on local paths printed, and its final weights. */
    private record Local(JsonNode ingest, JsonNode finetune, JsonNode unlearn, JsonNode evaluate, byte[] weights,
            Path root) {}

    /** ingest, finetune (from the tiny model), unlearn (from the finetuned one) and evaluate, embedded. */
    private static synchronized Local reference() throws Exception {
        if (reference == null) {
            Path local = tmp.resolve("local");
            Cli ingest = Cli.run(args("ingest", "--format", "tofu", "--input", bench, "--root", local,
                    "--dataset", "synth").toArray(String[]::new));
            assertEquals(0, ingest.status(), ingest.err());
            Cli finetune = Cli.run(args("finetune", "--root", local, "--run-id", "target", "--set",
                    "train.model=" + model, FINETUNE).toArray(String[]::new));
            assertEquals(0, finetune.status(), finetune.err());
            Cli unlearn = Cli.run(args("unlearn", "--root", local, "--run-id", "u", "--set", "unlearn.model="
                    + local.resolve("checkpoints/target/checkpoint-2"), UNLEARN).toArray(String[]::new));
            assertEquals(0, unlearn.status(), unlearn.err());
            Cli evaluate = Cli.run(args("evaluate", "--root", local, "--run-id", "u", "--model",
                    local.resolve("checkpoints/u/checkpoint-6"), EVALUATE).toArray(String[]::new));
            assertEquals(0, evaluate.status(), evaluate.err());
            reference = new Local(json(ingest.out()), json(finetune.out()), json(unlearn.out()),
                    json(evaluate.out().replace(local.toString(), "ROOT")),
                    Files.readAllBytes(local.resolve("checkpoints/u/checkpoint-6/model.safetensors")), local);
            mark("local[*] ingest, finetune, unlearn, evaluate");
        }
        return reference;
    }

    /** Copies a local model directory to {@code target} on HDFS, as a user uploads a base model (no commit marker). */
    private static void uploadToHdfs(Path dir, String target) throws IOException {
        org.apache.hadoop.fs.Path to = new org.apache.hadoop.fs.Path(target);
        org.apache.hadoop.fs.FileSystem fs = to.getFileSystem(new org.apache.hadoop.conf.Configuration());
        fs.mkdirs(to);
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(f.toUri()),
                        new org.apache.hadoop.fs.Path(to, f.getFileName().toString()));
            }
        }
    }

    private static byte[] hdfsBytes(String file) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file);
        try (java.io.InputStream in = p.getFileSystem(new org.apache.hadoop.conf.Configuration()).open(p)) {
            return in.readAllBytes();
        }
    }

    /** ingest's, finetune's and unlearn's printed summaries on another storage equal the local run's. */
    private static void assertSameRun(Local l, JsonNode ingest, JsonNode finetune, JsonNode unlearn) {
        assertEquals(l.ingest(), ingest);
        for (String field : List.of("steps", "samples", "first_loss", "last_loss", "model_fingerprint",
                "data_fingerprint")) {
            assertEquals(l.finetune().get(field), finetune.get(field), "finetune " + field);
        }
        for (String field : List.of("first_loss", "last_loss", "model_fingerprint", "data_fingerprint")) {
            assertEquals(l.unlearn().get(field), unlearn.get(field), "unlearn " + field);
        }
    }

    @Test
    void onHdfsTheClusterRunEqualsTheLocalRunAlsoWhenAnExecutorDies() throws Exception {
        Local l = reference();
        String remote = hdfs.uri() + "/lethe";
        String base = hdfs.uri() + "/models/tiny";
        uploadToHdfs(model, base);

        Cli ingest = onCluster("hdfs-ingest", List.of(), args("ingest", "--format", "tofu", "--input", bench, "--root",
                remote, "--dataset", "synth"));
        assertEquals(0, ingest.status(), ingest.err());
        assertTrue(ingest.err().contains("master " + cluster.masterUrl), "ran on the standalone master");
        Cli finetune = onCluster("hdfs-finetune", List.of(), args("finetune", "--root", remote, "--run-id", "target",
                "--set", "train.model=" + base, FINETUNE));
        assertEquals(0, finetune.status(), finetune.err());
        mark("cluster ingest, finetune on HDFS");

        // unlearn, killing worker 0's executor JVM once step 2 is done (6 steps of 2 tasks each).
        Process unlearn = submit("hdfs-unlearn", List.of(), args("unlearn", "--root", remote, "--run-id", "u",
                "--set", "unlearn.model=" + remote + "/checkpoints/target/checkpoint-2", UNLEARN));
        Path err = tmp.resolve("hdfs-unlearn.err");
        StandaloneCluster.await(Duration.ofMinutes(3), () -> StandaloneCluster.log(err).contains("unlearn u: step 2/")
                || !unlearn.isAlive(), "unlearn step 2");
        assertTrue(unlearn.isAlive(), "unlearn ended before step 2: " + StandaloneCluster.log(err));
        List<ProcessHandle> victims = cluster.executors(0);
        assertEquals(1, victims.size(), "worker 0 runs one executor: " + victims);
        assertTrue(victims.get(0).destroyForcibly());
        Cli unlearned = finish("hdfs-unlearn", unlearn);
        mark("cluster unlearn on HDFS (executor killed after step 2)");
        assertEquals(0, unlearned.status(), unlearned.err());
        int lost = unlearned.err().indexOf("Lost executor");
        assertTrue(lost > 0 && lost < unlearned.err().indexOf("unlearn u: step 6/"),
                "the driver lost an executor before the last step");
        assertArrayEquals(l.weights(), hdfsBytes(remote + "/checkpoints/u/checkpoint-6/model.safetensors"),
                "bitwise the local run's weights");
        assertSameRun(l, json(ingest.out()), json(finetune.out()), json(unlearned.out()));
        // The worker relaunched an executor for the application after the kill.
        try (Stream<Path> apps = Files.list(cluster.workDirs.get(0))) {
            Path app = apps.filter(Files::isDirectory).filter(d -> d.getFileName().toString().startsWith("app-"))
                    .sorted().reduce((a, b) -> b).orElseThrow();
            try (Stream<Path> executors = Files.list(app)) {
                assertTrue(executors.count() >= 2, "worker 0 launched a second executor after the kill: " + app);
            }
        }

        // Every checkpoint of the run (steps 2, 4, 6: three models in one application), with a model cache
        // bound that holds one model: the executors evict, and their caches stay within the bound.
        long bound = Files.size(l.root().resolve("checkpoints/u/checkpoint-6/model.safetensors")) * 3 / 2;
        Cli evaluated = onCluster("hdfs-evaluate", List.of(), args("evaluate", "--root", remote, "--run-id", "u",
                "--model", remote + "/checkpoints/u", EVALUATE, "--set", "model.cache_max_bytes=" + bound));
        assertEquals(0, evaluated.status(), evaluated.err());
        com.fasterxml.jackson.databind.node.ObjectNode all =
                (com.fasterxml.jackson.databind.node.ObjectNode) json(evaluated.out().replace(remote, "ROOT"));
        assertEquals("[2,4,6]", all.remove("steps").toString());
        assertNumbersEqual(l.evaluate(), all, "evaluate (the last step)");
        java.util.regex.Matcher caches = Pattern.compile("evaluate u: executor (\\d+) model cache: \\d+ model\\(s\\),"
                + " \\d+ bytes resident, high-water (\\d+) of (\\d+) bytes, (\\d+) eviction").matcher(evaluated.err());
        java.util.Set<String> executors = new java.util.TreeSet<>();
        long evictions = 0;
        while (caches.find()) {
            executors.add(caches.group(1));
            assertEquals(bound, Long.parseLong(caches.group(3)), caches.group());
            assertTrue(Long.parseLong(caches.group(2)) <= bound, "within the bound: " + caches.group());
            evictions += Long.parseLong(caches.group(4));
        }
        assertEquals(2, executors.size(), "both executors read back: " + evaluated.err());
        assertTrue(evictions >= 2, "three models, room for one: the executors evicted");
        Path html = tmp.resolve("hdfs-report.html");
        Cli report = onCluster("hdfs-report", List.of(), args("report", "--root", remote, "--out", html));
        assertEquals(0, report.status(), report.err());
        assertTrue(Files.size(html) > 10_000 && Files.readString(html).contains("target"), "a report of the runs");
        mark("cluster evaluate, report on HDFS");
        assertEveryTableAtTheMinimalProtocol(remote);
    }

    /**
     * Every Delta table under {@code root} (all the jobs above wrote) has only protocol actions at
     * reader 1 / writer 2, the lowest versions, which every Delta reader reads: read from the
     * commit files themselves, as another reader would.
     */
    private static void assertEveryTableAtTheMinimalProtocol(String root) throws IOException {
        org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(root);
        org.apache.hadoop.fs.FileSystem fs = dir.getFileSystem(new org.apache.hadoop.conf.Configuration());
        ObjectMapper mapper = new ObjectMapper();
        java.util.Set<String> tables = new java.util.TreeSet<>();
        for (org.apache.hadoop.fs.FileStatus table : fs.listStatus(dir)) {
            org.apache.hadoop.fs.Path log = new org.apache.hadoop.fs.Path(table.getPath(), "_delta_log");
            if (!fs.exists(log)) {
                continue;
            }
            tables.add(table.getPath().getName());
            for (org.apache.hadoop.fs.FileStatus commit : fs.listStatus(log)) {
                if (!commit.getPath().getName().endsWith(".json")) {
                    continue;
                }
                String text;
                try (java.io.InputStream in = fs.open(commit.getPath())) {
                    text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                }
                for (String line : text.split("\n")) {
                    JsonNode protocol = line.isBlank() ? null : mapper.readTree(line).get("protocol");
                    if (protocol != null) {
                        assertEquals("{\"minReaderVersion\":1,\"minWriterVersion\":2}", protocol.toString(),
                                commit.getPath().toString());
                    }
                }
            }
        }
        assertTrue(tables.containsAll(List.of("runs", "examples", "memberships", "train_steps", "eval_samples",
                "eval_summary")), "the pipeline's tables: " + tables);
    }

    @Test
    void onS3TheClusterRunEqualsTheLocalRun() throws Exception {
        Local l = reference();
        String remote = s3.uri() + "/lethe";
        List<String> conf = s3.sparkConf();
        // The base model is put with the server's HTTP API (this JVM has no s3a), as a user's upload tool would.
        String base = s3.uri() + "/models/tiny";
        s3.upload(model, "models/tiny");

        Cli ingest = onCluster("s3-ingest", conf, args("ingest", "--format", "tofu", "--input", bench, "--root", remote,
                "--dataset", "synth"));
        assertEquals(0, ingest.status(), ingest.err());
        Cli finetune = onCluster("s3-finetune", conf, args("finetune", "--root", remote, "--run-id", "target",
                "--set", "train.model=" + base, FINETUNE));
        assertEquals(0, finetune.status(), finetune.err());
        Cli unlearn = onCluster("s3-unlearn", conf, args("unlearn", "--root", remote, "--run-id", "u",
                "--set", "unlearn.model=" + remote + "/checkpoints/target/checkpoint-2", UNLEARN));
        assertEquals(0, unlearn.status(), unlearn.err());
        mark("cluster ingest, finetune, unlearn on S3");
        assertArrayEquals(l.weights(), s3.download("lethe/checkpoints/u/checkpoint-6/model.safetensors"),
                "bitwise the local run's weights");
        assertSameRun(l, json(ingest.out()), json(finetune.out()), json(unlearn.out()));

        Cli evaluated = onCluster("s3-evaluate", conf, args("evaluate", "--root", remote, "--run-id", "u",
                "--model", remote + "/checkpoints/u/checkpoint-6", EVALUATE));
        assertEquals(0, evaluated.status(), evaluated.err());
        assertNumbersEqual(l.evaluate(), json(evaluated.out().replace(remote, "ROOT")), "evaluate");
        Path html = tmp.resolve("s3-report.html");
        Cli report = onCluster("s3-report", conf, args("report", "--root", remote, "--out", html));
        assertEquals(0, report.status(), report.err());
        assertTrue(Files.size(html) > 10_000 && Files.readString(html).contains("target"), "a report of the runs");
        mark("cluster evaluate, report on S3");
    }

    @Test
    void aGpuTaskOnAMachineWithoutCudaFailsNamingTheDeviceKey() throws Exception {
        Path root = reference().root(); // ingested there; this job writes nothing
        Cli r = onCluster("gpu", List.of("--conf", "spark.executor.resource.gpu.amount=1",
                "--conf", "spark.task.resource.gpu.amount=1",
                "--conf", "spark.executor.resource.gpu.discoveryScript=" + tmp.resolve("fake-gpu.sh"),
                "--conf", "spark.task.maxFailures=2"),
                args("evaluate", "--root", root, "--run-id", "g", "--model", model, EVALUATE, "--set", "model.device=gpu"));
        mark("gpu job");
        assertEquals(1, r.status(), r.err());
        assertEquals("", r.out());
        // Spark scheduled the task on the worker's (fake) GPU 0; the task refused to run on the CPU.
        assertTrue(r.err().contains("lethe evaluate: error: ") && r.err().contains("lethe.model.device = 'gpu': Spark"
                + " assigned this task GPU address 0 (spark.task.resource.gpu.amount), but the PyTorch engine sees no"
                + " GPU: CUDA is unavailable"), r.err());
    }

    @Test
    void anExecutorInAnotherNumericEnvironmentThanTheDriverFailsTheStepNamingBothValues() throws Exception {
        Path root = reference().root(); // ingested there; this job fails before its first step
        // deploy/lethe-submit pins the driver and the executors; this node's executors are then told otherwise.
        Cli r = onCluster("numerics", List.of("--conf", "spark.executorEnv.ATEN_CPU_CAPABILITY=default",
                "--conf", "spark.task.maxFailures=1"),
                args("unlearn", "--root", root, "--run-id", "n", "--set", "unlearn.model=" + model, UNLEARN));
        mark("unlearn with a mis-set executor");
        assertEquals(1, r.status(), r.err());
        assertEquals("", r.out());
        assertTrue(r.err().contains("lethe unlearn: error: "), r.err());
        assertTrue(Pattern.compile("executor \\d+ \\(host 127\\.0\\.0\\.1\\) computes in another numeric environment"
                + " than the driver: ATen CPU capability \\(ATEN_CPU_CAPABILITY\\): 'default' on executor \\d+ \\(host"
                + " 127\\.0\\.0\\.1\\), 'avx2' on the driver").matcher(r.err()).find(), r.err());
        assertTrue(!r.err().contains("unlearn n: step 1/"), "no step was taken: " + r.err());
    }

    private static JsonNode json(String text) throws IOException {
        return new ObjectMapper().readTree(text);
    }

    /** Same structure and strings; numbers within 1e-9 relative (Spark may sum partials in another order). */
    private static void assertNumbersEqual(JsonNode expected, JsonNode actual, String path) {
        if (expected.isNumber() && actual.isNumber()) {
            double e = expected.asDouble();
            double a = actual.asDouble();
            assertEquals(e, a, 1e-9 * Math.max(1, Math.abs(e)), path);
            return;
        }
        assertEquals(expected.getNodeType(), actual.getNodeType(), path);
        if (expected.isContainerNode()) {
            assertEquals(expected.size(), actual.size(), path);
            if (expected.isArray()) {
                for (int i = 0; i < expected.size(); i++) {
                    assertNumbersEqual(expected.get(i), actual.get(i), path + "[" + i + "]");
                }
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> f = it.next();
                    assertTrue(actual.has(f.getKey()), path + "." + f.getKey());
                    assertNumbersEqual(f.getValue(), actual.get(f.getKey()), path + "." + f.getKey());
                }
            }
        } else {
            assertEquals(expected, actual, path);
        }
    }
}
