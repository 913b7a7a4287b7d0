package org.lethe.distributed;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.lethe.testing.TestSpark;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Epoch plans are a function of (seed, epoch, sample id), never of partitioning. */
class EpochPlanTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static Dataset<Row> samples(int n, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create("s" + i));
        }
        return SPARK.session().createDataFrame(rows, new StructType().add("sample_id", DataTypes.StringType))
                .repartition(partitions);
    }

    private static List<List<Object>> plan(int partitions, long seed, int epoch) {
        return TestSpark.rows(EpochPlan.plan(SPARK.session(), samples(10, partitions), seed, epoch, 4, 2)
                .select("sample_id", "position", "step", "micro"), "position");
    }

    @Test
    void samePlanForAnyPartitioningAndBatchesCoverEverySampleOnce() {
        List<List<Object>> one = plan(1, 7, 0);
        assertEquals(one, plan(3, 7, 0));
        assertEquals(one, plan(5, 7, 0));
        Set<Object> seen = new HashSet<>();
        for (int i = 0; i < one.size(); i++) {
            List<Object> r = one.get(i);
            assertEquals((long) i, r.get(1));
            assertEquals(i / 4, r.get(2)); // steps of 4: 4, 4, 2
            assertEquals(i / 2, r.get(3)); // micro-batches of 2
            seen.add(r.get(0));
        }
        assertEquals(10, seen.size());
        assertEquals(3, EpochPlan.stepsPerEpoch(10, 4));
    }

    @Test
    void epochsAndSeedsShuffleDifferently() {
        assertNotEquals(plan(2, 7, 0), plan(2, 7, 1));
        assertNotEquals(plan(2, 7, 0), plan(2, 8, 0));
        assertThrows(IllegalArgumentException.class,
                () -> EpochPlan.plan(SPARK.session(), samples(4, 1), 0, 0, 6, 4));
    }
}
