package org.lethe.distributed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lethe.distributed.DataParallelTrainer.MicroGradient;

/** Tree-mode sums of micro-batch contributions, serialized and deposited in the local exchange. */
class MicroGradientTest {

    private static MicroGradient serialized(int micro, float... gradient) {
        return new MicroGradient(micro, 1, new double[] {micro, 1}, 10L * micro, gradient, false, 0.5);
    }

    private static MicroGradient deposited(int micro) {
        return new MicroGradient(micro, 1, new double[] {micro, 1}, 10L * micro, null, true, 0.25);
    }

    private static MicroGradient noBackward(int micro) {
        return new MicroGradient(micro, 1, new double[] {micro, 0}, 10L * micro, null, false, 0.125);
    }

    @Test
    void serializedGradientsAddElementwiseUnderTheSmallestMicroBatch() {
        MicroGradient sum = serialized(4, 1f, 2f, 3f).plus(serialized(2, 0.5f, -2f, 1f));
        assertEquals(2, sum.micro());
        assertEquals(2, sum.micros());
        assertArrayEquals(new float[] {1.5f, 0f, 4f}, sum.gradient());
        assertArrayEquals(new double[] {6, 2}, sum.parts());
        assertEquals(60, sum.tokens());
        assertEquals(1.0, sum.computeSeconds());
        assertFalse(sum.deposited());
    }

    @Test
    void depositedSumsKeepTheDepositKeyEvenAfterAMicroBatchWithoutBackward() {
        // Micro-batch 3 had no backward; 5 made the deposit and 7 was added into it.
        MicroGradient sum = noBackward(3).plus(deposited(5)).plus(deposited(7));
        assertEquals(5, sum.micro(), "the deposit is under the first deposited micro-batch");
        assertTrue(sum.deposited());
        assertNull(sum.gradient());
        assertEquals(3, sum.micros());
        assertArrayEquals(new double[] {15, 2}, sum.parts());
        assertEquals(150, sum.tokens());
        assertEquals(0.625, sum.computeSeconds());
        assertEquals(5, deposited(5).plus(noBackward(3)).micro(), "either order");
    }

    @Test
    void withoutAnyGradientTheSumIsNeitherDepositedNorSerialized() {
        MicroGradient sum = noBackward(6).plus(noBackward(1));
        assertEquals(1, sum.micro());
        assertFalse(sum.deposited());
        assertNull(sum.gradient());
    }

    @Test
    void aDepositedGradientCannotBeAddedToASerializedOne() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> serialized(1, 1f).plus(deposited(2)));
        assertTrue(e.getMessage().contains("micro-batches 1 and 2"), e.getMessage());
    }
}
