package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** TruthRatio and AnswerProbability follow TOFU's aggregate_eval_stat.py. */
class TruthRatioTest {

    @Test
    void truthRatioByHand() {
        // Perturbed mean NLLs 1, 3, 2.5 average to 6.5/3; R = exp(2 - 6.5/3) = exp(-1/6) = 0.8464817248906141
        assertEquals(Math.exp(-1.0 / 6), TruthRatio.of(2.0, new double[] {1.0, 3.0, 2.5}), 1e-15);
        assertEquals(0.8464817248906141, TruthRatio.of(2.0, new double[] {1.0, 3.0, 2.5}), 1e-15);
        // Equal likelihoods: R = 1
        assertEquals(1.0, TruthRatio.of(1.7, new double[] {1.7}), 0.0);
    }

    @Test
    void forgetAggregateByHand() {
        // min(R, 1/R): 0.5 -> 0.5, 2 -> 0.5, 1 -> 1; mean = 2/3
        assertEquals(2.0 / 3, TruthRatio.forgetAggregate(new double[] {0.5, 2, 1}), 1e-15);
        // R = 0 (the paraphrase infinitely more likely): min(0, inf) = 0
        assertEquals(0.0, TruthRatio.forgetAggregate(new double[] {0.0}), 0.0);
    }

    @Test
    void retainAggregateByHand() {
        // max(0, 1 - R): 0.5 -> 0.5, 2 -> 0, 0.25 -> 0.75; mean = 1.25/3 = 5/12
        assertEquals(5.0 / 12, TruthRatio.retainAggregate(new double[] {0.5, 2, 0.25}), 1e-15);
    }

    @Test
    void normalizedProbabilityByHand() {
        // e^-1 / (e^-1 + e^-2 + e^-3) = 1 / (1 + e^-1 + e^-2) = 0.6652409557748218
        double p = AnswerProbability.normalized(1.0, new double[] {2.0, 3.0});
        assertEquals(1 / (1 + Math.exp(-1) + Math.exp(-2)), p, 1e-15);
        assertEquals(0.6652409557748218, p, 1e-15);
        // Answer as likely as each of 3 perturbed ones: 1/4
        assertEquals(0.25, AnswerProbability.normalized(0.7, new double[] {0.7, 0.7, 0.7}), 1e-15);
        assertEquals(Math.exp(-0.25), AnswerProbability.fromMeanNll(0.25), 0.0);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("perturbedMeanNlls must not be empty",
                assertThrows(IllegalArgumentException.class, () -> TruthRatio.of(1, new double[0])).getMessage());
        assertEquals("paraphrasedMeanNll must be finite, got NaN",
                assertThrows(IllegalArgumentException.class,
                        () -> TruthRatio.of(Double.NaN, new double[] {1})).getMessage());
        assertEquals("ratios[1] must be >= 0, got -1.0",
                assertThrows(IllegalArgumentException.class,
                        () -> TruthRatio.forgetAggregate(new double[] {1, -1})).getMessage());
        assertEquals("ratios[0] is NaN",
                assertThrows(IllegalArgumentException.class,
                        () -> TruthRatio.retainAggregate(new double[] {Double.NaN})).getMessage());
        assertEquals("perturbedMeanNlls[0] must be finite, got Infinity",
                assertThrows(IllegalArgumentException.class,
                        () -> AnswerProbability.normalized(1, new double[] {Double.POSITIVE_INFINITY})).getMessage());
        assertEquals("meanNll must be finite, got NaN",
                assertThrows(IllegalArgumentException.class,
                        () -> AnswerProbability.fromMeanNll(Double.NaN)).getMessage());
    }
}
