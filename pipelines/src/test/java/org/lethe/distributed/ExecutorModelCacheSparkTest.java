package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LanguageModel;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.testing.TestSpark;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tasks of one application scoring three models in turn, as evaluation tasks do, with a model
 * cache that fits two: every executor's cache, read back with a Spark job, never held more than
 * its bound, and a model reloaded after its eviction scores the same. No job end releases these
 * models, as on a cluster, where a driver's release never reaches the executors.
 */
class ExecutorModelCacheSparkTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final int VOCAB = 100;

    /** The summed logits of a fixed prompt under the model of task element {@code i % 3}. */
    private static final class Score implements Function<Integer, Double> {
        private static final long serialVersionUID = 1L;
        private final List<String> dirs;
        private final ModelSettings settings;

        Score(List<String> dirs, ModelSettings settings) {
            this.dirs = dirs;
            this.settings = settings;
        }

        @Override
        public Double call(Integer i) {
            int model = i % dirs.size();
            try (ExecutorModelCache.Lease lease = ExecutorModelCache.frozen("spark-cache-" + model, dirs.get(model),
                    settings);
                    NDScope scope = new NDScope();
                    NDManager m = lease.model().manager().newSubManager()) {
                LanguageModel lm = lease.model();
                NDArray ids = m.create(new long[][] {{1, 5, 7, 9}});
                NDArray positions = m.create(new long[][] {{0, 1, 2, 3}});
                NDArray mask = m.ones(ids.getShape(), DataType.INT64);
                return (double) lm.block().logits(lm.parameterStore(), ids, positions, mask, null, false).sum()
                        .getFloat();
            }
        }
    }

    @Test
    void threeModelsScoredInOneApplicationStayWithinTheBoundOnEveryExecutor(@TempDir Path tmp) {
        List<String> dirs = new ArrayList<>();
        long modelBytes = 0;
        for (int i = 0; i < 3; i++) {
            Path dir = tmp.resolve("model-" + i);
            try (LanguageModel lm = LanguageModel.fresh(ModelPresets.config("tiny", VOCAB), ModelSettings.defaults(),
                    20 + i, null)) {
                lm.save(dir);
                modelBytes = ExecutorModelCache.parameterBytes(lm);
            }
            dirs.add(dir.toString());
        }
        long bound = modelBytes * 5 / 2;
        ModelSettings settings = new ModelSettings("cpu", "float32", 1, bound, 600);
        ExecutorModelCache.resetForTest();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SPARK.session().sparkContext());
        // 0, 1, 2 in the first two waves, then again: models come and go in least-recently-used order.
        List<Integer> tasks = List.of(0, 1, 2, 0, 1, 2, 0, 1, 2);
        List<Double> scores = jsc.parallelize(tasks, tasks.size()).map(new Score(dirs, settings)).collect();
        for (int i = 3; i < tasks.size(); i++) {
            assertEquals(scores.get(i - 3), scores.get(i), "model " + tasks.get(i) + ", reloaded or kept");
        }
        assertTrue(!scores.get(0).equals(scores.get(1)) && !scores.get(1).equals(scores.get(2)), "three models");

        List<ExecutorModelCache.Stats> executors = jsc.parallelize(List.of(0, 1), 2)
                .map(x -> ExecutorModelCache.stats())
                .collect();
        assertEquals(2, executors.size());
        for (ExecutorModelCache.Stats s : executors) {
            assertEquals("driver", s.executorId(), "local master: the tasks' executor is the driver");
            assertEquals(bound, s.maxBytes());
            assertTrue(s.highWaterBytes() >= 2 * modelBytes, "two models were resident at once: " + s);
            assertTrue(s.highWaterBytes() <= s.maxBytes(), "high-water within the bound: " + s);
            assertTrue(s.evictions() >= 1, "the third model evicted one: " + s);
            assertTrue(s.entries() <= 2 && s.residentBytes() <= bound, "two models at most: " + s);
        }
        for (int i = 0; i < 3; i++) {
            ExecutorModelCache.release("spark-cache-" + i);
        }
    }
}
