package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.NumericEnvironment;

/**
 * Every copy of the numeric pins equals the one the jobs check ({@link NumericEnvironment#PINS}):
 * conf/numerics.env (which bin/lethe and deploy/lethe-submit read), the spark-defaults files, the
 * Airflow DAG, the Kubernetes example and pom.xml's surefire; and deploy/lethe-submit passes them to the driver and every
 * executor, or, with LETHE_REPRODUCIBLE=0, passes none (run against a stand-in spark-submit that
 * prints what it was given).
 */
class NumericPinsTest {

    private static final Path REPO = Path.of(System.getProperty("lethe.repo",
            Path.of("").toAbsolutePath().getParent().toString()));
    private static final Map<String, String> PINS = NumericEnvironment.PINS;

    @Test
    void everyCopyOfThePinsIsTheOneTheJobsCheck() throws Exception {
        assertEquals(PINS, NumericsAcrossMachinesTest.pinsOfTheLaunchers(), "conf/numerics.env");
        assertTrue(Files.readString(REPO.resolve("bin/lethe")).contains(". \"$repo/conf/numerics.env\""),
                "bin/lethe sources conf/numerics.env");
        for (String file : List.of("deploy/spark-defaults-cpu.conf", "deploy/spark-defaults-gpu.conf")) {
            String text = Files.readString(REPO.resolve(file));
            for (Map.Entry<String, String> pin : PINS.entrySet()) {
                for (String prefix : List.of("spark.executorEnv.", "spark.yarn.appMasterEnv.", "spark.kubernetes.driverEnv.")) {
                    assertTrue(Pattern.compile("(?m)^" + Pattern.quote(prefix + pin.getKey()) + "\\s+"
                            + Pattern.quote(pin.getValue()) + "\\s*$").matcher(text).find(), file + ": " + prefix + pin);
                }
            }
        }
        Matcher dag = Pattern.compile("(?m)^NUMERIC_PINS = \\{(.*)}$")
                .matcher(Files.readString(REPO.resolve("deploy/airflow/lethe_dag.py")));
        assertTrue(dag.find(), "lethe_dag.py defines NUMERIC_PINS");
        Map<String, String> dagPins = new LinkedHashMap<>();
        Matcher entry = Pattern.compile("\"([A-Z_]+)\": \"([^\"]*)\"").matcher(dag.group(1));
        while (entry.find()) {
            dagPins.put(entry.group(1), entry.group(2));
        }
        assertEquals(PINS, dagPins, "lethe_dag.py");
        String k8s = Files.readString(REPO.resolve("deploy/kubernetes/lethe-unlearn.yaml"));
        for (Map.Entry<String, String> pin : PINS.entrySet()) {
            String env = "- {name: " + pin.getKey() + ", value: \"" + pin.getValue() + "\"}";
            assertEquals(2, k8s.split(Pattern.quote(env), -1).length - 1, "lethe-unlearn.yaml: driver and executor " + env);
        }
        String pom = Files.readString(REPO.resolve("pom.xml"));
        for (Map.Entry<String, String> pin : PINS.entrySet()) {
            assertTrue(pom.contains("<" + pin.getKey() + ">" + pin.getValue() + "</" + pin.getKey() + ">"), "pom.xml: " + pin);
        }
    }

    /** deploy/lethe-submit with a spark-submit that prints its arguments, environment and properties file. */
    private static String submit(Path tmp, String reproducible) throws Exception {
        Path sparkHome = tmp.resolve("spark");
        Files.createDirectories(sparkHome.resolve("bin"));
        Path fake = sparkHome.resolve("bin/spark-submit");
        Files.writeString(fake, String.join("\n", "#!/usr/bin/env bash",
                "echo \"env aten=[${ATEN_CPU_CAPABILITY:-}] mkl=[${MKL_CBWR:-}]\"",
                "for a in \"$@\"; do echo \"arg $a\"; done",
                "cat \"$2\"", ""));
        assertTrue(fake.toFile().setExecutable(true));
        Path jar = Files.writeString(tmp.resolve("lethe.jar"), "");
        ProcessBuilder pb = new ProcessBuilder(REPO.resolve("deploy/lethe-submit").toString(), "--master", "local[1]",
                "--", "sql", "SELECT 1").redirectErrorStream(true);
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("LETHE_JAR", jar.toString());
        pb.environment().remove("ATEN_CPU_CAPABILITY");
        pb.environment().remove("MKL_CBWR");
        if (reproducible != null) {
            pb.environment().put("LETHE_REPRODUCIBLE", reproducible);
        } else {
            pb.environment().remove("LETHE_REPRODUCIBLE");
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void letheSubmitPinsTheDriverAndEveryExecutorUnlessTold0(@TempDir Path tmp) throws Exception {
        String pinned = submit(tmp, null);
        assertTrue(pinned.contains("env aten=[avx2] mkl=[AVX2]"), pinned);
        for (Map.Entry<String, String> pin : PINS.entrySet()) {
            assertTrue(pinned.contains("arg spark.executorEnv." + pin.getKey() + "=" + pin.getValue()), pinned);
            assertTrue(pinned.contains("arg spark.yarn.appMasterEnv." + pin.getKey() + "=" + pin.getValue()), pinned);
            assertTrue(pinned.contains("spark.executorEnv." + pin.getKey() + " "), "the properties file: " + pinned);
        }
        // The caller's options come after the pins, so that they win.
        assertTrue(pinned.indexOf("arg spark.executorEnv.ATEN_CPU_CAPABILITY") < pinned.indexOf("arg --master"), pinned);
        assertTrue(pinned.contains("arg sql\narg SELECT 1\n"), pinned);

        String unpinned = submit(tmp, "0");
        assertTrue(unpinned.contains("env aten=[] mkl=[]"), unpinned);
        for (String name : PINS.keySet()) {
            assertFalse(unpinned.contains(name + "="), "no pin passed: " + unpinned);
            assertFalse(unpinned.contains(name + " "), "no pin left in the properties file: " + unpinned);
        }
        assertTrue(unpinned.contains("arg spark.yarn.appMasterEnv.LETHE_REPRODUCIBLE=0"), unpinned);
        assertTrue(unpinned.contains("spark.executorEnv.DJL_OFFLINE"), "the rest of the properties file: " + unpinned);
    }
}
