package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** PrivLeak: AUC' and the relative PrivLeak of MUSE / open-unlearning. */
class PrivLeakTest {

    @Test
    void aucPrimeByHand() {
        // Scores: higher = less member-like. forget {1, 2, 3}, holdout {2, 4}: of the 6 pairs, holdout
        // scores lower (more member-like) in one (h=2 < f=3) and ties in one (2, 2): (1 + 0.5) / 6 = 0.25
        assertEquals(0.25, PrivLeak.aucPrime(new double[] {1, 2, 3}, new double[] {2, 4}), 1e-15);
        // Memorized forget set: every forget loss below every holdout loss -> 0
        assertEquals(0.0, PrivLeak.aucPrime(new double[] {0.1, 0.2}, new double[] {1, 2, 3}), 0.0);
        // Indistinguishable: all tied -> 0.5
        assertEquals(0.5, PrivLeak.aucPrime(new double[] {1, 1}, new double[] {1, 1, 1}), 0.0);
    }

    @Test
    void aucPrimeMatchesMannWhitney() {
        // 200 forget / 150 holdout scores floor(u * 100) / 100 from Lcg(21) (holdout u + 0.1), many ties.
        // scipy.stats.mannwhitneyu(forget, holdout).statistic / (200 * 150) = 0.40486666666666665
        // (= 1 - sklearn roc_auc_score([0] * 200 + [1] * 150, forget + holdout))
        Lcg g = new Lcg(21);
        double[] forget = g.uniforms(200, 0);
        double[] holdout = g.uniforms(150, 0.1);
        for (int i = 0; i < forget.length; i++) {
            forget[i] = Math.floor(forget[i] * 100) / 100;
        }
        for (int i = 0; i < holdout.length; i++) {
            holdout[i] = Math.floor(holdout[i] * 100) / 100;
        }
        assertEquals(0.40486666666666665, PrivLeak.aucPrime(forget, holdout), 1e-15);
    }

    @Test
    void privLeakByHand() {
        // (0.25 - 0.5) / 0.5 * 100 = -50 against the default retain AUC' 0.5
        assertEquals(-50.0, PrivLeak.privLeak(0.25), 1e-12);
        // (0.6 - 0.4) / 0.4 * 100 = 50
        assertEquals(50.0, PrivLeak.privLeak(0.6, 0.4), 1e-12);
        // A memorized forget set: (0 - 0.5) / 0.5 * 100 = -100
        assertEquals(-100.0, PrivLeak.privLeak(0.0), 0.0);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("forgetScores must not be empty",
                assertThrows(IllegalArgumentException.class,
                        () -> PrivLeak.aucPrime(new double[0], new double[] {1})).getMessage());
        assertEquals("holdoutScores[0] is NaN",
                assertThrows(IllegalArgumentException.class,
                        () -> PrivLeak.aucPrime(new double[] {1}, new double[] {Double.NaN})).getMessage());
        assertEquals("retainAucPrime must be > 0",
                assertThrows(IllegalArgumentException.class, () -> PrivLeak.privLeak(0.3, 0.0)).getMessage());
        assertEquals("modelAucPrime must be in [0, 1], got 1.5",
                assertThrows(IllegalArgumentException.class, () -> PrivLeak.privLeak(1.5)).getMessage());
    }
}
