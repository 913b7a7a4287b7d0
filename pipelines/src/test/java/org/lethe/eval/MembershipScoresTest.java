package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** MembershipScores: open-unlearning's LOSS, ZLib, Min-K% and Min-K%++ attacks. */
class MembershipScoresTest {

    @Test
    void zlibLengthMatchesPythonZlibCompress() {
        // len(zlib.compress(s.encode("utf-8"))) with Python 3.11 / zlib 1.2.13
        assertEquals(8, MembershipScores.zlibLength(""));
        assertEquals(9, MembershipScores.zlibLength("a"));
        assertEquals(16, MembershipScores.zlibLength("hello hello hello hello"));
        assertEquals(48, MembershipScores.zlibLength("The author's full name is Hsiao Yun-Hwa."));
        assertEquals(38, MembershipScores.zlibLength("Ünïcödé — 東京 🙂"));
        assertEquals(22, MembershipScores.zlibLength("abc".repeat(500)));
        assertEquals(113, MembershipScores.zlibLength("In 1998, Jaime Vasquez published his first true crime"
                + " novel, which was set in Santiago, Chile, and drew on the city's history."));
    }

    @Test
    void lossAndZlibByHand() {
        assertEquals(1.25, MembershipScores.loss(1.25), 0.0);
        // 1.6 / 16 bytes = 0.1
        assertEquals(0.1, MembershipScores.zlib(1.6, "hello hello hello hello"), 1e-15);
    }

    @Test
    void minKByHand() {
        double[] lp = {-1, -5, -2, -0.5, -3, -4, -0.1, -2.5, -1.5, -0.2};
        // 10 tokens, k = 0.4: int(4.0) = 4 lowest: -5 -4 -3 -2.5, mean -3.625
        assertEquals(3.625, MembershipScores.minK(lp, MembershipScores.DEFAULT_K), 1e-15);
        // 9 tokens: int(3.6) = 3 (floor): -5 -4 -3 -> 4
        assertEquals(4.0, MembershipScores.minK(java.util.Arrays.copyOf(lp, 9), 0.4), 1e-15);
        // 2 tokens: int(0.8) = 0 -> at least 1: -5
        assertEquals(5.0, MembershipScores.minK(new double[] {-1, -5}, 0.4), 0.0);
        // k = 1: minus the mean NLL... of all tokens: 19.8 / 10
        assertEquals(1.98, MembershipScores.minK(lp, 1.0), 1e-15);
        // The input is not reordered
        assertEquals(-1.0, lp[0], 0.0);
    }

    @Test
    void minKPlusPlusByHand() {
        // Two-token vocabulary p = (0.8, 0.2): mu = 0.8 ln 0.8 + 0.2 ln 0.2, and the variance of ln p
        // is p(1-p) ln^2(p/(1-p)) = 0.16 ln^2 4, so sigma = 0.4 ln 4. Standardized scores: the 0.8 token
        // (ln 0.8 - mu)/sigma = 0.2 ln 4 / (0.4 ln 4) = 0.5, the 0.2 token -0.8 ln 4 / (0.4 ln 4) = -2
        double[] vocab = {Math.log(0.8), Math.log(0.2)};
        MembershipScores.Moments m = MembershipScores.vocabularyMoments(vocab);
        assertEquals(0.8 * Math.log(0.8) + 0.2 * Math.log(0.2), m.mu(), 1e-15);
        assertEquals(0.4 * Math.log(4), m.sigma(), 1e-15);
        double[] target = {Math.log(0.8), Math.log(0.2), Math.log(0.8)};
        double[] mu = {m.mu(), m.mu(), m.mu()};
        double[] sigma = {m.sigma(), m.sigma(), m.sigma()};
        // Scores 0.5, -2, 0.5; k = 0.4 of 3 -> int(1.2) = 1 lowest: -2 -> 2
        assertEquals(2.0, MembershipScores.minKPlusPlus(target, mu, sigma, 0.4), 1e-14);
        // k = 1: -(0.5 - 2 + 0.5)/3 = 1/3
        assertEquals(1.0 / 3, MembershipScores.minKPlusPlus(target, mu, sigma, 1.0), 1e-14);
        // A uniform distribution has zero variance: floored at 1e-6, sigma = 1e-3
        assertEquals(1e-3, MembershipScores.vocabularyMoments(new double[] {Math.log(0.5), Math.log(0.5)}).sigma(), 1e-18);
    }

    @Test
    void minKPlusPlusMatchesNumpy() {
        // 12 positions, vocabulary 50, logits (u - 0.5) * 8 from Lcg(22) row by row, then 12 targets
        // floor(u * 50). numpy: lp = logits - log(sum(exp(logits))); mu = sum(exp(lp) lp);
        // var = clip(sum(exp(lp) lp^2) - mu^2, 1e-6); s = (lp[t, target] - mu) / sqrt(var);
        // -mean(sort(s)[:max(1, int(12 * 0.4))]) = 7.159760216222468; Min-K% on lp[t, target]: 9.164638488787897
        Lcg g = new Lcg(22);
        int steps = 12;
        int vocab = 50;
        double[][] logits = new double[steps][vocab];
        for (double[] row : logits) {
            for (int v = 0; v < vocab; v++) {
                row[v] = (g.next() - 0.5) * 8;
            }
        }
        double[] target = new double[steps];
        double[] mu = new double[steps];
        double[] sigma = new double[steps];
        for (int t = 0; t < steps; t++) {
            int token = (int) (g.next() * vocab);
            double sum = 0;
            for (double l : logits[t]) {
                sum += Math.exp(l);
            }
            double[] lp = new double[vocab];
            for (int v = 0; v < vocab; v++) {
                lp[v] = logits[t][v] - Math.log(sum);
            }
            MembershipScores.Moments m = MembershipScores.vocabularyMoments(lp);
            target[t] = lp[token];
            mu[t] = m.mu();
            sigma[t] = m.sigma();
        }
        assertEquals(-2.6791428276200864, mu[0], 1e-13);
        assertEquals(0.9869868720675623, sigma[0], 1e-13);
        assertEquals(7.159760216222468, MembershipScores.minKPlusPlus(target, mu, sigma, 0.4), 1e-12);
        assertEquals(9.164638488787897, MembershipScores.minK(target, 0.4), 1e-12);
    }

    @Test
    void rejectsBadInput() {
        assertEquals("tokenLogProbs must not be empty",
                assertThrows(IllegalArgumentException.class,
                        () -> MembershipScores.minK(new double[0], 0.4)).getMessage());
        assertEquals("k must be in (0, 1], got 0.0",
                assertThrows(IllegalArgumentException.class,
                        () -> MembershipScores.minK(new double[] {-1}, 0)).getMessage());
        assertEquals("tokenLogProbs has 2 elements but sigma has 1",
                assertThrows(IllegalArgumentException.class, () -> MembershipScores.minKPlusPlus(
                        new double[] {-1, -2}, new double[] {-1, -1}, new double[] {1}, 0.4)).getMessage());
        assertEquals("sigma[0] must be > 0, got 0.0",
                assertThrows(IllegalArgumentException.class, () -> MembershipScores.minKPlusPlus(
                        new double[] {-1}, new double[] {-1}, new double[] {0}, 0.4)).getMessage());
        assertEquals("mu[0] must be finite, got NaN",
                assertThrows(IllegalArgumentException.class, () -> MembershipScores.minKPlusPlus(
                        new double[] {-1}, new double[] {Double.NaN}, new double[] {1}, 0.4)).getMessage());
        assertEquals("text must not be null",
                assertThrows(IllegalArgumentException.class, () -> MembershipScores.zlib(1, null)).getMessage());
        assertEquals("meanNll must be finite, got NaN",
                assertThrows(IllegalArgumentException.class, () -> MembershipScores.loss(Double.NaN)).getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> MembershipScores.vocabularyMoments(new double[] {0.1}));
    }
}
