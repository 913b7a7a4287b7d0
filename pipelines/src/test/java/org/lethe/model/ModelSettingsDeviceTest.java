package org.lethe.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.lethe.testing.TestSpark;

/**
 * The device rule of {@code lethe.model.device} on this machine, which has no GPU: cpu and auto
 * give the CPU, gpu fails naming the key (driver and local tasks alike), never a CPU fallback.
 * The Spark-assigned GPU address path runs in the cluster test (a worker with a fake GPU).
 */
class ModelSettingsDeviceTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @BeforeAll
    static void noGpuHere() {
        // The assertions below are about a machine without CUDA; with one, gpu would resolve.
        org.junit.jupiter.api.Assumptions.assumeTrue(Engine.getEngine("PyTorch").getGpuCount() == 0,
                "this machine has a GPU");
    }

    private static String resolved(String device) {
        try {
            return new ModelSettings(device, "float32", 0).resolveDevice().toString();
        } catch (IllegalArgumentException e) {
            return "error: " + e.getMessage();
        }
    }

    @Test
    void cpuAndAutoGiveTheCpuAndGpuFailsNamingTheKey() {
        assertEquals(Device.cpu(), new ModelSettings("cpu", "float32", 0).resolveDevice());
        assertEquals(Device.cpu(), new ModelSettings("auto", "float32", 0).resolveDevice());
        String gpu = resolved("gpu");
        assertTrue(gpu.startsWith("error: lethe.model.device = 'gpu': GPU 0, but the PyTorch engine sees no GPU:"
                + " CUDA is unavailable"), gpu);
        assertTrue(gpu.endsWith("refusing to fall back to the CPU"), gpu);
        assertTrue(resolved("gpu:1").startsWith("error: lethe.model.device = 'gpu:1': GPU 1, but"), resolved("gpu:1"));
        assertTrue(resolved("tpu:x").startsWith("error: lethe.model.device: cannot parse 'tpu:x'"), resolved("tpu:x"));
    }

    @Test
    void localTasksFollowTheDriversRule() {
        // local[*] tasks run in the driver JVM, without Spark GPU addresses: auto is the CPU, gpu GPU 0.
        List<String> out = new JavaSparkContext(SPARK.session().sparkContext())
                .parallelize(List.of("cpu", "auto", "gpu"), 3)
                .map(ModelSettingsDeviceTest::resolved).collect();
        assertEquals(List.of(Device.cpu().toString(), Device.cpu().toString(), resolved("gpu")), out);
    }

    @Test
    void theTrainingDriverTreatsGpuAsAuto() {
        assertEquals("auto", new ModelSettings("gpu", "float16", 2).forTrainingDriver().device());
        assertEquals("auto", new ModelSettings("gpu:1", "float32", 0).forTrainingDriver().device());
        assertEquals(new ModelSettings("cpu", "float32", 3), new ModelSettings("cpu", "float32", 3).forTrainingDriver());
        assertThrows(IllegalArgumentException.class, () -> new ModelSettings(" ", "float32", 0));
    }
}
