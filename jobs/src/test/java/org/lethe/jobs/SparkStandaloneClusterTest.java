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
import org.lethe.distributed.Checkpoints;
import org.lethe.testing.TinyModels;

/**
 * A real Spark standalone cluster (a master and two 1-core workers as separate JVMs on 127.0.0.1)
 * runs the spark-submit jar through deploy/lethe-submit: ingest, unlearn and evaluate give what the
 * embedded local[*] run gives (weights bitwise, as the unlearning partition test), also when an
 * executor JVM is killed in the middle of unlearn; a job asking for a (fake) GPU is scheduled on
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
        mark("setup");
        cluster.start(2, gpuScript);
        mark("master and 2 workers up");

        // A 3-author benchmark (forget10: 10 samples) and a tiny model trained from scratch, as UnlearnJobTest.
        bench = tmp.resolve("bench");
        FictitiousAuthors.generate(1, 3, 10).write(bench, 512);
        model = TinyModels.save(bench, 7, tmp.resolve("model"));
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
    }

    private static final List<String> UNLEARN = List.of("--set", "unlearn.dataset=synth", "--set", "unlearn.method=grad_diff",
            "--set", "unlearn.epochs=2", "--set", "unlearn.batch_size=4", "--set", "unlearn.micro_batch_size=2",
            "--set", "unlearn.lr=1e-3", "--set", "unlearn.max_steps=6", "--set", "unlearn.partitions=2",
            "--set", "unlearn.reduce=ordered", "--set", "model.threads=1");
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
                "--conf", "spark.sql.shuffle.partitions=4"));
        cmd.addAll(sparkConf);
        cmd.add("--");
        cmd.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(tmp.resolve(name + ".out").toFile())
                .redirectError(tmp.resolve(name + ".err").toFile());
        cluster.environment(pb.environment());
        pb.environment().put("LETHE_JAR", jar.toString());
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

    private static byte[] weights(Path root, String runId) throws IOException {
        return Files.readAllBytes(Checkpoints.weightsFile(root.resolve("checkpoints").resolve(runId)
                .resolve("checkpoint-6")));
    }

    @Test
    void ingestUnlearnEvaluateOnTheClusterEqualTheLocalRunAlsoWhenAnExecutorDies() throws Exception {
        // The reference: the same commands in this JVM, embedded local[*].
        Path local = tmp.resolve("local");
        Path remote = tmp.resolve("remote");
        Cli localIngest = Cli.run(args("ingest", "--format", "tofu", "--input", bench, "--root", local, "--dataset", "synth")
                .toArray(String[]::new));
        assertEquals(0, localIngest.status(), localIngest.err());
        Cli localUnlearn = Cli.run(args("unlearn", "--root", local, "--run-id", "u", "--set", "unlearn.model=" + model,
                UNLEARN).toArray(String[]::new));
        assertEquals(0, localUnlearn.status(), localUnlearn.err());
        Cli localEval = Cli.run(args("evaluate", "--root", local, "--run-id", "u", "--model",
                local.resolve("checkpoints/u/checkpoint-6"), EVALUATE).toArray(String[]::new));
        assertEquals(0, localEval.status(), localEval.err());
        mark("local[*] ingest, unlearn, evaluate");

        Cli ingest = onCluster("ingest", List.of(), args("ingest", "--format", "tofu", "--input", bench, "--root", remote,
                "--dataset", "synth"));
        assertEquals(0, ingest.status(), ingest.err());
        assertTrue(ingest.err().contains("master " + cluster.masterUrl), "ran on the standalone master");
        assertEquals(json(localIngest.out()), json(ingest.out()));
        mark("cluster ingest");

        // unlearn, killing worker 0's executor JVM once step 2 is done (6 steps of 2 tasks each).
        Process unlearn = submit("unlearn", List.of(), args("unlearn", "--root", remote, "--run-id", "u",
                "--set", "unlearn.model=" + model, UNLEARN));
        Path err = tmp.resolve("unlearn.err");
        StandaloneCluster.await(Duration.ofMinutes(3), () -> StandaloneCluster.log(err).contains("unlearn u: step 2/")
                || !unlearn.isAlive(), "unlearn step 2");
        assertTrue(unlearn.isAlive(), "unlearn ended before step 2: " + StandaloneCluster.log(err));
        List<ProcessHandle> victims = cluster.executors(0);
        assertEquals(1, victims.size(), "worker 0 runs one executor: " + victims);
        assertTrue(victims.get(0).destroyForcibly());
        Cli unlearned = finish("unlearn", unlearn);
        mark("cluster unlearn (executor killed after step 2)");
        assertEquals(0, unlearned.status(), unlearned.err());
        int lost = unlearned.err().indexOf("Lost executor");
        assertTrue(lost > 0 && lost < unlearned.err().indexOf("unlearn u: step 6/"),
                "the driver lost an executor before the last step");
        assertArrayEquals(weights(local, "u"), weights(remote, "u"), "bitwise the local run's weights");
        JsonNode l = json(localUnlearn.out());
        JsonNode r = json(unlearned.out());
        assertEquals(l.get("last_loss"), r.get("last_loss"));
        assertEquals(l.get("first_loss"), r.get("first_loss"));
        assertEquals(l.get("model_fingerprint"), r.get("model_fingerprint"));
        assertEquals(l.get("data_fingerprint"), r.get("data_fingerprint"));
        // The worker relaunched an executor for the application after the kill.
        try (Stream<Path> apps = Files.list(cluster.workDirs.get(0))) {
            Path app = apps.filter(Files::isDirectory).filter(d -> d.getFileName().toString().startsWith("app-"))
                    .sorted().reduce((a, b) -> b).orElseThrow();
            try (Stream<Path> executors = Files.list(app)) {
                assertTrue(executors.count() >= 2, "worker 0 launched a second executor after the kill: " + app);
            }
        }

        Cli evaluated = onCluster("evaluate", List.of(), args("evaluate", "--root", remote, "--run-id", "u", "--model",
                remote.resolve("checkpoints/u/checkpoint-6"), EVALUATE));
        assertEquals(0, evaluated.status(), evaluated.err());
        mark("cluster evaluate");
        assertNumbersEqual(json(localEval.out().replace(local.toString(), "ROOT")),
                json(evaluated.out().replace(remote.toString(), "ROOT")), "evaluate");
    }

    @Test
    void aGpuTaskOnAMachineWithoutCudaFailsNamingTheDeviceKey() throws Exception {
        Path root = tmp.resolve("gpu");
        Cli ingest = Cli.run(args("ingest", "--format", "tofu", "--input", bench, "--root", root, "--dataset", "synth")
                .toArray(String[]::new));
        assertEquals(0, ingest.status(), ingest.err());
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
        Path root = tmp.resolve("numerics");
        Cli ingest = Cli.run(args("ingest", "--format", "tofu", "--input", bench, "--root", root, "--dataset", "synth")
                .toArray(String[]::new));
        assertEquals(0, ingest.status(), ingest.err());
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
