package org.lethe.distributed;

import org.junit.jupiter.api.Test;
import org.lethe.config.LetheConfig;
import org.lethe.model.AdamW;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The settings lethe.train and lethe.unlearn share: read once, checked once, errors naming the section's key. */
class TrainingSettingsTest {

    private static TrainingSettings of(String section, String... sets) {
        return TrainingSettings.of(LetheConfig.load(Optional.empty(), List.of(sets)), section);
    }

    @Test
    void readsEitherSectionAsWritten() {
        TrainingSettings train = of("train", "train.epochs=3", "train.batch_size=16", "train.micro_batch_size=4",
                "train.reduce=tree", "train.weight_decay=0.1", "train.output=/tmp/x");
        assertEquals(3, train.epochs());
        assertEquals(16, train.batchSize());
        assertEquals(4, train.microBatchSize());
        assertEquals(DataParallelTrainer.Reduce.TREE, train.reduce());
        assertEquals(new AdamW.Settings(0.9, 0.999, 1e-8, 0.1), train.optimizer());
        DataParallelTrainer.Options options = train.trainerOptions();
        assertEquals(train.optimizer(), options.optimizer());
        assertEquals(DataParallelTrainer.Reduce.TREE, options.reduce());
        assertEquals(2, options.partitions());
        assertNull(options.lora());

        // unlearn's special values are left to its request: lr 0 (the method's), warmup -1 (one epoch).
        TrainingSettings unlearn = of("unlearn");
        assertEquals(0.0, unlearn.lr());
        assertEquals(-1, unlearn.warmupSteps());
        assertEquals(1e-5, unlearn.withLr(1e-5).lr());
    }

    @Test
    void badSettingsFailNamingTheSectionsKey() {
        for (String section : List.of("train", "unlearn")) {
            Map<String, String> cases = Map.of(
                    section + ".epochs=0", "lethe." + section + ".epochs must be > 0, got 0",
                    section + ".micro_batch_size=-1", "lethe." + section + ".micro_batch_size must be > 0, got -1",
                    section + ".partitions=0", "lethe." + section + ".partitions must be > 0, got 0",
                    section + ".batch_size=6", "lethe." + section + ".batch_size (6) must be a multiple of lethe."
                            + section + ".micro_batch_size (8)",
                    section + ".reduce=sum", "lethe." + section + ".reduce must be ordered or tree, got 'sum'");
            cases.forEach((set, message) -> assertEquals(message,
                    assertThrows(IllegalArgumentException.class, () -> of(section, set), set).getMessage()));
        }
        // Checkpoints may live on any Hadoop file system.
        assertEquals("s3a://bucket/x", of("unlearn", "unlearn.output=\"s3a://bucket/x\"").output());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> of("train", "train.weight_decay=-1"))
                .getMessage().contains("weight decay >= 0"));
    }
}
