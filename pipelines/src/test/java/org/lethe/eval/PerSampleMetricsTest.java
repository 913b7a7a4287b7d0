package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** TokenEntropy (closer-look's compute_token_entropy) and Memorization (open-unlearning's EM and ES). */
class PerSampleMetricsTest {

    @Test
    void tokenEntropyByHand() {
        // Frequencies 2/4, 1/4, 1/4: H = 0.5*1 + 0.25*2 + 0.25*2 = 1.5 bits; log2(4) = 2 -> 0.75
        assertEquals(1.5, TokenEntropy.bits(new long[] {5, 5, 7, 9}), 1e-15);
        assertEquals(0.75, TokenEntropy.normalized(new long[] {5, 5, 7, 9}), 1e-15);
        // All distinct: H = log2(n), normalized 1; one repeated token: 0
        assertEquals(1.0, TokenEntropy.normalized(new long[] {1, 2, 3, 4, 5, 6, 7}), 1e-15);
        assertEquals(0.0, TokenEntropy.normalized(new long[] {3, 3, 3}), 0.0);
        // count <= 1: 0, as closer-look (an empty generation is a valid, degenerate output)
        assertEquals(0.0, TokenEntropy.normalized(new long[] {42}), 0.0);
        assertEquals(0.0, TokenEntropy.normalized(new long[0]), 0.0);
        // 3 a, 1 b, 1 c, 1 d over 6 tokens: H = 0.5 log2 2 + 3 * (1/6) log2 6 = 0.5 + 0.5 log2 6
        // = 1.79248125036057...; / log2 6: numpy on the FreqDist counts gives 0.6934264036172707
        assertEquals(0.6934264036172707, TokenEntropy.normalized(new long[] {1, 1, 2, 1, 3, 4}), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> TokenEntropy.normalized(null));
    }

    @Test
    void exactMemorizationByHand() {
        // 4 of 5 positions agree
        assertEquals(0.8, Memorization.exactMemorization(new long[] {1, 2, 3, 4, 5}, new long[] {1, 9, 3, 4, 5}), 1e-15);
        assertEquals(0.0, Memorization.exactMemorization(new long[] {7}, new long[] {8}), 0.0);
    }

    @Test
    void extractionStrengthByHand() {
        // Last mismatch at index 1: the suffix from k = 2 matches, ES = 1 - 2/5 = 0.6
        assertEquals(0.6, Memorization.extractionStrength(new long[] {1, 2, 3, 4, 5}, new long[] {1, 9, 3, 4, 5}), 1e-15);
        // Everything predicted: k = 0, ES = 1
        assertEquals(1.0, Memorization.extractionStrength(new long[] {1, 2, 3}, new long[] {1, 2, 3}), 0.0);
        // First token wrong only: k = 1, ES = 1 - 1/4 = 0.75
        assertEquals(0.75, Memorization.extractionStrength(new long[] {0, 2, 3, 4}, new long[] {1, 2, 3, 4}), 0.0);
        // Last token wrong: only the empty suffix matches, k = |y| = 4, ES = 0 (open-unlearning: 1/4)
        assertEquals(0.0, Memorization.extractionStrength(new long[] {1, 2, 3, 0}, new long[] {1, 2, 3, 4}), 0.0);
    }

    @Test
    void memorizationRejectsBadInput() {
        assertEquals("predictions has 2 elements but labels has 3",
                assertThrows(IllegalArgumentException.class,
                        () -> Memorization.exactMemorization(new long[] {1, 2}, new long[] {1, 2, 3})).getMessage());
        assertEquals("labels must not be empty",
                assertThrows(IllegalArgumentException.class,
                        () -> Memorization.extractionStrength(new long[] {1}, new long[0])).getMessage());
        assertEquals("predictions must not be null",
                assertThrows(IllegalArgumentException.class,
                        () -> Memorization.extractionStrength(null, new long[] {1})).getMessage());
    }
}
