package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Aggregates: mean and scipy.stats.hmean semantics. */
class AggregatesTest {

    @Test
    void harmonicMeanByHand() {
        // 3 / (1/1 + 1/2 + 1/4) = 3 / 1.75 = 12/7; scipy.stats.hmean([1, 2, 4]) = 1.7142857142857142
        assertEquals(12.0 / 7, Aggregates.harmonicMean(1, 2, 4), 1e-15);
        assertEquals(1.7142857142857142, Aggregates.harmonicMean(1, 2, 4), 1e-15);
        assertEquals(0.3, Aggregates.harmonicMean(0.3), 0.0);
    }

    @Test
    void anyZeroGivesZero() {
        // scipy.stats.hmean([0.98, 0.5, 0.0, 0.7]) = 0.0: one vanished component zeroes model utility
        assertEquals(0.0, Aggregates.harmonicMean(0.98, 0.5, 0.0, 0.7), 0.0);
    }

    @Test
    void meanByHand() {
        // (0.5 + 1.5 + 4) / 3 = 2
        assertEquals(2.0, Aggregates.mean(new double[] {0.5, 1.5, 4}), 1e-15);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("values must not be empty",
                assertThrows(IllegalArgumentException.class, Aggregates::harmonicMean).getMessage());
        assertEquals("values[1] must be >= 0, got -0.5",
                assertThrows(IllegalArgumentException.class, () -> Aggregates.harmonicMean(1, -0.5)).getMessage());
        assertEquals("values[0] must be finite, got NaN",
                assertThrows(IllegalArgumentException.class, () -> Aggregates.harmonicMean(Double.NaN)).getMessage());
        assertEquals("values must not be null",
                assertThrows(IllegalArgumentException.class, () -> Aggregates.mean(null)).getMessage());
    }
}
