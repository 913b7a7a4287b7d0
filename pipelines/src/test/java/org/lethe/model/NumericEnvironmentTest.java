package org.lethe.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.lethe.testing.TestSpark;

/**
 * What a numeric environment is made of, when it counts as pinned, how two are compared, and the
 * guard that holds a job's tasks to its driver's (in real Spark tasks of a local master).
 */
class NumericEnvironmentTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final NumericEnvironment.Cpu ZEN4 = new NumericEnvironment.Cpu("amd64", "AMD EPYC",
            Set.of("avx2", "fma", "avx512f", "avx512vl", "avx512bw", "avx512dq"));
    private static final NumericEnvironment.Cpu HASWELL = new NumericEnvironment.Cpu("amd64", "Xeon E5",
            Set.of("avx", "avx2", "fma"));
    private static final NumericEnvironment.Cpu SANDY = new NumericEnvironment.Cpu("amd64", "Xeon E5-2670",
            Set.of("sse4_2", "avx"));
    private static final NumericEnvironment.Cpu GRAVITON = new NumericEnvironment.Cpu("aarch64", "Neoverse",
            Set.of("asimd", "sve"));
    private static final Map<String, String> PINNED = Map.of("ATEN_CPU_CAPABILITY", "avx2", "MKL_CBWR", "AVX2");

    @Test
    void atenTakesAKnownRequestAtItsWordAndOtherwiseTheBestTheCpuHas() {
        assertEquals("avx512", NumericEnvironment.capability(null, ZEN4));
        assertEquals("avx2", NumericEnvironment.capability(null, HASWELL));
        assertEquals("default", NumericEnvironment.capability(null, SANDY));
        assertEquals("avx2", NumericEnvironment.capability("avx2", ZEN4));
        assertEquals("default", NumericEnvironment.capability("default", ZEN4));
        // ATen compares case-sensitively and ignores what it does not know.
        assertEquals("avx512", NumericEnvironment.capability("AVX2", ZEN4));
        assertEquals("n/a (aarch64)", NumericEnvironment.capability("avx2", GRAVITON));
    }

    @Test
    void pinnedMeansBothVariablesAtTheirPinsOnACpuThatRunsThem() {
        assertEquals(List.of(), NumericEnvironment.unpinned(PINNED, ZEN4));
        assertEquals(List.of(), NumericEnvironment.unpinned(PINNED, HASWELL));
        assertEquals(List.of("ATEN_CPU_CAPABILITY is not set (expected avx2)", "MKL_CBWR is not set (expected AVX2)"),
                NumericEnvironment.unpinned(Map.of(), ZEN4));
        assertEquals(List.of("ATEN_CPU_CAPABILITY=avx512 (expected avx2)"),
                NumericEnvironment.unpinned(Map.of("ATEN_CPU_CAPABILITY", "avx512", "MKL_CBWR", "AVX2"), ZEN4));
        List<String> old = NumericEnvironment.unpinned(PINNED, SANDY);
        assertEquals(1, old.size(), old.toString());
        assertTrue(old.get(0).contains("Xeon E5-2670") && old.get(0).contains("avx2, fma"), old.get(0));
        assertEquals(List.of(), NumericEnvironment.unpinned(Map.of(), GRAVITON), "no x86 pins off x86");
    }

    @Test
    void environmentsDifferInCapabilityMklThreadsOrLibtorchNotInTheCpuModel() {
        NumericEnvironment zen = NumericEnvironment.of(PINNED, ZEN4, 2, "2.7.1");
        NumericEnvironment haswell = NumericEnvironment.of(PINNED, HASWELL, 2, "2.7.1");
        assertEquals(List.of(), zen.differences(haswell, "here", "there"), "pinned: other CPUs compute alike");
        assertEquals("AMD EPYC (avx512)", zen.cpu());

        NumericEnvironment unpinned = NumericEnvironment.of(Map.of(), ZEN4, 4, "2.5.1");
        assertEquals(List.of("ATen CPU capability (ATEN_CPU_CAPABILITY): 'avx512' on executor 1, 'avx2' on the driver",
                "MKL_CBWR: 'unset' on executor 1, 'AVX2' on the driver",
                "torch intra-op threads (lethe.model.threads): '4' on executor 1, '2' on the driver",
                "libtorch: '2.5.1' on executor 1, '2.7.1' on the driver"),
                unpinned.differences(zen, "on executor 1", "on the driver"));
        assertEquals(zen, NumericEnvironment.fromJson(zen.toJson()));
        assertThrows(IllegalArgumentException.class, () -> NumericEnvironment.fromJson("{\"cpu\":1}"));
    }

    @Test
    void thisTestJvmComputesPinned() {
        // pom.xml's surefire sets the pins as bin/lethe does.
        assertEquals(List.of(), NumericEnvironment.unpinned());
        NumericEnvironment here = NumericEnvironment.current();
        assertEquals("avx2", here.cpuCapability());
        assertEquals("AVX2", here.mklCbwr());
        assertEquals("2.7.1", here.libtorch());
    }

    @Test
    void theGuardHandsTheDriversEnvironmentToEveryTaskAndFailsOneThatDiffers() {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SPARK.session().sparkContext());
        NumericGuard guard = new NumericGuard(true, 2);
        try (NumericGuard.Scope scope = guard.enterDriver(jsc.sc())) {
            assertEquals(2, scope.environment().threads());
            assertEquals(2, JniUtils.getNumThreads(), "the driver's thread");
            // Each task applies the pin to its own thread and agrees with the driver.
            List<Integer> threads = jsc.parallelize(List.of(1, 2, 3, 4), 4).map(i -> {
                NumericGuard.enter(2);
                return JniUtils.getNumThreads();
            }).collect();
            assertEquals(List.of(2, 2, 2, 2), threads);
            // A task computing with another thread count than the driver's fails, naming both.
            Exception e = assertThrows(Exception.class, () -> jsc.parallelize(List.of(1), 1).map(i -> {
                NumericGuard.enter(3);
                return i;
            }).collect());
            assertTrue(e.getMessage().contains("a task in the driver's JVM computes in another numeric environment"
                    + " than the driver: torch intra-op threads (lethe.model.threads): '3' on a task in the driver's"
                    + " JVM, '2' on the driver"), e.getMessage());
        }
        // Outside the job, tasks are held to nothing.
        assertEquals(List.of(3), jsc.parallelize(List.of(1), 1).map(i -> {
            NumericGuard.enter(3);
            return JniUtils.getNumThreads();
        }).collect());
        // Not reproducible: a difference is let through.
        try (NumericGuard.Scope scope = new NumericGuard(false, 2).enterDriver(jsc.sc())) {
            assertEquals(List.of(1), jsc.parallelize(List.of(1), 1).map(i -> {
                NumericGuard.enter(3);
                return i;
            }).collect());
        }
        assertThrows(IllegalArgumentException.class, () -> new NumericGuard(true, 0));
    }
}
