package org.lethe.jobs;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A Spark standalone master and workers as separate JVMs on 127.0.0.1, from a SPARK_HOME laid out
 * with symlinks to the Maven dependency jars of Spark (no Spark download), for the cluster test.
 * Every process it starts is destroyed, with its descendants (executors), by {@link #close}.
 */
final class StandaloneCluster implements AutoCloseable {

    /** Spark 3.5's JVM flags on Java 17 (pom.xml's spark.java17.opens). */
    static final List<String> JAVA17_OPENS = List.of("-XX:+IgnoreUnrecognizedVMOptions",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED", "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
            "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
            "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED", "-Djdk.reflect.useDirectMethodHandle=false");

    /**
     * For the tests' short-lived JVMs (drivers, executors, writers, simulated machines): C1 only and
     * the serial collector. On 2 cores C2 compiling Spark's and Delta's startup doubled each JVM's
     * CPU time (a Delta writer JVM: 30 s of CPU, 15 s with these). Java's arithmetic is strict IEEE
     * in either compiler, so no value changes.
     */
    static final List<String> SHORT_LIVED = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private final Path dir;
    final Path sparkHome;
    private final String java;
    private final List<Process> processes = new ArrayList<>();
    final List<Process> workers = new ArrayList<>();
    final List<Path> workDirs = new ArrayList<>();
    private Process master;
    private Path masterLog;
    String masterUrl;

    /** Lays out {@code dir/spark-home} from the jars listed (':'-separated) in {@code sparkJars}. */
    StandaloneCluster(Path dir, Path sparkJars) throws IOException {
        this.dir = dir;
        this.java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        sparkHome = Files.createDirectories(dir.resolve("spark-home"));
        Path jars = Files.createDirectories(sparkHome.resolve("jars"));
        for (String jar : Files.readString(sparkJars).strip().split(File.pathSeparator)) {
            Path p = Path.of(jar);
            Files.createSymbolicLink(jars.resolve(p.getFileName()), p);
        }
        // A RELEASE file makes Spark's launcher take jars/ as the classpath (a distribution's layout).
        Files.writeString(sparkHome.resolve("RELEASE"), "Spark 3.5 laid out from Maven dependencies for a test\n");
        Files.createDirectories(sparkHome.resolve("conf"));
        // bin/spark-submit as Spark ships it: the launcher prints the driver's command line, then it runs.
        Path bin = Files.createDirectories(sparkHome.resolve("bin"));
        Path submit = bin.resolve("spark-submit");
        Files.writeString(submit, String.join("\n",
                "#!/usr/bin/env bash",
                "# What Spark's bin/spark-class does: org.apache.spark.launcher.Main builds the command.",
                "set -uo pipefail",
                "SPARK_HOME=\"$(cd \"$(dirname \"$0\")/..\" && pwd)\"; export SPARK_HOME",
                "build_command() {",
                "  \"" + java + "\" -Xmx128m " + String.join(" ", SHORT_LIVED) + " -cp \"$SPARK_HOME/jars/*\" org.apache.spark.launcher.Main \"$@\"",
                "  printf '%d\\0' $?",
                "}",
                "# The launcher prints a line holding one NUL, then the command, NUL-separated (Spark 3.5's loop).",
                "CMD=(); DELIM=$'\\n'; STARTED=false",
                "while IFS= read -d \"$DELIM\" -r ARG; do",
                "  if [[ $STARTED == true ]]; then CMD+=(\"$ARG\");",
                "  elif [[ \"$ARG\" == $'\\0' ]]; then DELIM=''; STARTED=true;",
                "  elif [[ -n \"$ARG\" ]]; then echo \"$ARG\"; fi",
                "done < <(build_command org.apache.spark.deploy.SparkSubmit \"$@\")",
                "LAST=$((${#CMD[@]} - 1))",
                "if [[ $LAST -lt 0 ]]; then echo 'spark-submit: the launcher printed no command' >&2; exit 1; fi",
                "if [[ \"${CMD[$LAST]}\" != 0 ]]; then exit \"${CMD[$LAST]}\"; fi",
                "exec \"${CMD[@]:0:$LAST}\"", ""));
        submit.toFile().setExecutable(true);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private ProcessBuilder jvm(String name, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m"));
        cmd.addAll(SHORT_LIVED);
        cmd.addAll(JAVA17_OPENS);
        cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + File.separator + "*"));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        environment(pb.environment());
        return pb;
    }

    void environment(Map<String, String> env) {
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_SCALA_VERSION", "2.12");
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.remove("SPARK_CONF_DIR");
    }

    private Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** Starts the master and {@code n} workers (1 core, 2 GB, one fake GPU each from {@code gpuScript}). */
    void start(int n, Path gpuScript) throws IOException, InterruptedException {
        int port = freePort();
        masterUrl = "spark://127.0.0.1:" + port;
        masterLog = dir.resolve("master.log");
        master = start(jvm("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort()))));
        await(Duration.ofSeconds(60), () -> log(masterLog).contains("I have been elected leader"), "the master");
        Path workerConf = dir.resolve("worker.conf");
        Files.writeString(workerConf, "spark.worker.resource.gpu.amount 1\n"
                + "spark.worker.resource.gpu.discoveryScript " + gpuScript + "\n");
        for (int i = 0; i < n; i++) {
            Path work = Files.createDirectories(dir.resolve("work-" + i));
            workDirs.add(work);
            workers.add(start(jvm("worker-" + i, List.of("org.apache.spark.deploy.worker.Worker", "--host",
                    "127.0.0.1", "--port", String.valueOf(freePort()), "--webui-port", String.valueOf(freePort()),
                    "--cores", "1", "--memory", "2g", "--work-dir", work.toString(),
                    "--properties-file", workerConf.toString(), masterUrl))));
        }
        await(Duration.ofSeconds(60), () -> log(masterLog).split("Registering worker", -1).length - 1 == n,
                n + " workers registering");
    }

    /** The executor JVMs (CoarseGrainedExecutorBackend) that worker {@code i} runs now. */
    List<ProcessHandle> executors(int i) {
        return workers.get(i).toHandle().descendants()
                .filter(h -> h.info().arguments().map(a -> Arrays.asList(a)
                        .contains("org.apache.spark.executor.CoarseGrainedExecutorBackend")).orElse(false))
                .filter(ProcessHandle::isAlive).toList();
    }

    static String log(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void await(Duration limit, BooleanSupplier done, String what) throws InterruptedException {
        Instant end = Instant.now().plus(limit);
        while (!done.getAsBoolean()) {
            if (Instant.now().isAfter(end)) {
                throw new IllegalStateException("timed out after " + limit.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(200);
        }
    }

    /** Destroys every started process and its descendants (executors), forcibly, and waits for them. */
    @Override
    public void close() {
        for (Process p : processes) {
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
