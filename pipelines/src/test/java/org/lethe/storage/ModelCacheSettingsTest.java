package org.lethe.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Optional;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.lethe.config.LetheConfig;
import org.lethe.testing.TestSpark;

/** {@code lethe.storage.model_cache.*}: read from the config, checked, and carried to every task of a job. */
class ModelCacheSettingsTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @Test
    void theDefaultsAndTheConfiguredValuesReachTheTasksOfTheDriversJob() {
        assertEquals(new ModelCacheSettings("", 68_719_476_736L, 604_800), ModelCacheSettings.of(LetheConfig.defaults()));
        ModelCacheSettings set = ModelCacheSettings.of(LetheConfig.load(Optional.empty(), List.of(
                "storage.model_cache.dir=/data/lethe cache", "storage.model_cache.max_bytes=1000",
                "storage.model_cache.idle_seconds=60")));
        assertEquals(new ModelCacheSettings("/data/lethe cache", 1000, 60), set);

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SPARK.session().sparkContext());
        try (ModelCacheSettings.Scope scope = set.enterDriver(SPARK.session().sparkContext())) {
            assertEquals(set, ModelCacheSettings.current());
            // Records are not Serializable: the tasks send back their text.
            List<String> seen = jsc.parallelize(List.of(1, 2, 3), 3)
                    .map(i -> ModelCacheSettings.current().toString()).collect();
            assertEquals(List.of(set.toString(), set.toString(), set.toString()), seen);
        }
        assertEquals(ModelCacheSettings.defaults(), ModelCacheSettings.current(), "restored when the job ends");
        assertEquals(List.of(ModelCacheSettings.defaults().toString()), jsc.parallelize(List.of(1), 1)
                .map(i -> ModelCacheSettings.current().toString()).collect());
    }

    @Test
    void badValuesFailNamingTheKey() {
        assertEquals("lethe.storage.model_cache.max_bytes must be > 0, got 0", assertThrows(
                IllegalArgumentException.class, () -> ModelCacheSettings.of(LetheConfig.load(Optional.empty(),
                        List.of("storage.model_cache.max_bytes=0")))).getMessage());
        assertEquals("lethe.storage.model_cache.idle_seconds must be > 0, got -1", assertThrows(
                IllegalArgumentException.class, () -> ModelCacheSettings.of(LetheConfig.load(Optional.empty(),
                        List.of("storage.model_cache.idle_seconds=-1")))).getMessage());
    }
}
