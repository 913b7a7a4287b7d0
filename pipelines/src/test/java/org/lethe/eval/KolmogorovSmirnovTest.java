package org.lethe.eval;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * KolmogorovSmirnov reproduces scipy.stats.ks_2samp (SciPy 1.17.1, method 'auto'). Reference
 * values: {@code r = ks_2samp(a, b); r.statistic, r.pvalue} on the same data in Python, the
 * pseudo-random samples regenerated there with {@link Lcg}'s recurrence.
 */
class KolmogorovSmirnovTest {

    private static void assertRelative(double expected, double actual, double tolerance, String what) {
        if (expected == 0.0) {
            assertEquals(0.0, actual, what);
            return;
        }
        assertEquals(1.0, actual / expected, tolerance, what + ": expected " + expected + " got " + actual);
    }

    private static void assertKs(double statistic, double pValue, boolean exact, double[] a, double[] b) {
        KolmogorovSmirnov.Result r = KolmogorovSmirnov.twoSample(a, b);
        assertEquals(statistic, r.statistic(), 1e-15, "statistic");
        assertRelative(pValue, r.pValue(), 1e-13, "p-value");
        assertEquals(exact, r.exact(), "exact");
        // Symmetric in its two samples
        assertRelative(pValue, KolmogorovSmirnov.twoSamplePValue(b, a), 1e-13, "p-value (b, a)");
    }

    @Test
    void fullySeparatedSamplesByHand() {
        // D = 1. Of the C(10, 5) = 252 equally likely interleavings under H0 exactly two reach
        // D = 1 (all of a first or all of b first): p = 2/252
        assertKs(1.0, 2.0 / 252, true, new double[] {1, 2, 3, 4, 5}, new double[] {6, 7, 8, 9, 10});
        assertEquals(0.007936507936507936, 2.0 / 252, 0.0);
    }

    @Test
    void identicalSamplesHaveP1() {
        // D = 0 -> h = 0 -> p = 1 without any path count; order and ties do not matter
        assertKs(0.0, 1.0, true, new double[] {0.5, 0.1, 0.3, 0.3}, new double[] {0.3, 0.1, 0.5, 0.3});
    }

    @Test
    void ties() {
        // a = 1 2 2 3 3 3 4, b = 2 3 3 4 4 5: ECDFs at 1..5 are a: 1/7 3/7 6/7 1 1, b: 0 1/6 1/2 5/6 1;
        // the largest gap is at 3: 6/7 - 1/2 = 5/14 = 0.357142857...
        assertKs(5.0 / 14, 0.7115384615384616, true,
                new double[] {1, 2, 2, 3, 3, 3, 4}, new double[] {2, 3, 3, 4, 4, 5});
    }

    @Test
    void minusZeroEqualsZero() {
        // numpy's searchsorted compares numerically, so -0.0 and 0.0 are one value (Arrays.sort
        // would order them): same result as with all zeros
        assertKs(0.0, 1.0, true, new double[] {-0.0, 0.0, 1}, new double[] {0.0, -0.0, 1});
    }

    @Test
    void exactFailureFallsBackToAsymptotic() {
        // n1 = n2 = 7, D = 1/7: the exact formula gives 1.0000000000000002, outside [0, 1], so SciPy
        // switches to kstwo.sf(1/7, round(3.5) = 4) = 1 - prod_{i=1..4} (i/4)(2 * 4/7 - 1)
        // = 1 - (4!/4^4) / 7^4 = 1 - 24/614656 = 0.99996095...
        assertEquals(1.0000000000000002, KolmogorovSmirnov.probOutsideSquare(7, 1), 0.0);
        assertKs(1.0 / 7, 0.9999609537692629, false,
                new double[] {1, 2, 3, 4, 5, 6, 7}, new double[] {1, 2, 3, 4, 5, 6, 8});
        assertEquals(1 - 24.0 / 614656, 0.9999609537692629, 1e-15);
    }

    @Test
    void unequalSizes() {
        Lcg g = new Lcg(1);
        assertKs(0.3416666666666667, 0.029137611434829822, true, g.uniforms(40, 0), g.uniforms(30, 0.3));
    }

    @Test
    void forty() {
        Lcg g = new Lcg(2);
        assertKs(0.325, 0.02860307028023343, true, g.uniforms(40, 0), g.uniforms(40, 0.25));
    }

    @Test
    void threeHundred() {
        Lcg g = new Lcg(3);
        assertKs(0.17333333333333334, 0.00023624631733179933, true, g.uniforms(300, 0), g.uniforms(300, 0.1));
        g = new Lcg(4);
        assertKs(0.16976190476190475, 0.0003998919490701835, true, g.uniforms(300, 0), g.uniforms(280, 0.1));
    }

    @Test
    void manyTies() {
        // Values rounded down to tenths: at most 11 distinct values per sample
        Lcg g = new Lcg(5);
        double[] a = g.uniforms(300, 0);
        double[] b = g.uniforms(250, 0.05);
        for (int i = 0; i < a.length; i++) {
            a[i] = Math.floor(a[i] * 10) / 10;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = Math.floor(b[i] * 10) / 10;
        }
        assertKs(0.12, 0.03612919189199999, true, a, b);
    }

    @Test
    void exactUpToTenThousand() {
        Lcg g = new Lcg(6);
        assertKs(0.0311, 0.00012589922674927242, true, g.uniforms(10000, 0), g.uniforms(10000, 0.02));
        g = new Lcg(7);
        assertKs(0.022169416941694168, 0.014222147342010197, true, g.uniforms(10000, 0), g.uniforms(9999, 0.02));
    }

    @Test
    void asymptoticAboveTenThousand() {
        // n1 = 10001, n2 = 10000: en = 5000.25 -> kstwo with n = 5000
        Lcg g = new Lcg(8);
        // n D^2 = 1.45 < 2.2: 1 - Pelz-Good CDF
        assertKs(0.017043685631436878, 0.1082507488752753, false, g.uniforms(10001, 0), g.uniforms(10000, 0));
        g = new Lcg(9);
        // n D^2 = 3.9: 2 * smirnov(n, D)
        assertKs(0.02800420957904215, 0.0007701673907171927, false, g.uniforms(10001, 0), g.uniforms(10000, 0.02));
        g = new Lcg(10);
        assertKs(0.21844417558244178, 5.687015426467613e-210, false, g.uniforms(10001, 0), g.uniforms(10000, 0.2));
    }

    @Test
    void asymptoticWithOneSmallSample() {
        // en = 10001 * 60 / 10061 = 59.64 -> n = 60 (Pomeranz); 10001 * 8 / 10009 = 7.99 -> n = 8, D > 0.5
        Lcg g = new Lcg(11);
        assertKs(0.13512982035129822, 0.2038790470390851, false, g.uniforms(10001, 0), g.uniforms(60, 0.1));
        g = new Lcg(12);
        assertKs(0.6627087291270873, 0.0005560530744330983, false, g.uniforms(10001, 0), g.uniforms(8, 0.3));
    }

    @Test
    void kstwoSurvivalFunctionOnEveryBranch() {
        // {n, x, scipy.stats.kstwo.sf(x, n)}
        double[][] cases = {
            {4, 0.14285714285714285, 0.9999609537692629}, // Ruben-Gambino t<=1, n<=140
            {500, 0.0015, 1.0}, // Ruben-Gambino t<=1, n>140 (Stirling)
            {10, 0.95, 1.9531250000000172e-13}, // Ruben-Gambino t>=n-1: 2 * 0.05^10 = 1.953125e-13
            {20, 0.6, 2.0483011649719853e-07}, // x>=0.5: 2*smirnov
            {50, 0.08, 0.880839701941023}, // n<=140, nx^2<=0.754693: Durbin matrix
            {50, 0.2, 0.03143877776953241}, // n<=140, nx^2<=4: Pomeranz
            {60, 0.13512982035129822, 0.2038790470390851}, // n<=140 Pomeranz
            {50, 0.35, 5.573523514803185e-06}, // n<=140, nx^2>4: 2*smirnov
            {1000, 0.03, 0.3226902143914636}, // n>140: Pelz-Good
            {1000, 0.05, 0.013012074781090332}, // n>140, 2.2<=nx^2<370: 2*smirnov
            {5000, 0.0035, 0.9999999740298307}, // n>140, n*x^1.5<=1.4: Durbin matrix
            {5000, 0.017, 0.10987524943507232}, // n>140: Pelz-Good
            {100000, 0.002, 0.8178408363081542}, // n>140: Pelz-Good
            {5000, 0.3, 0.0}, // nx^2>=370: 0
            {200, 0.0026, 1.0}, // Ruben-Gambino t<=1, n>140
            {3, 0.2, 0.9982222222222222}, // Ruben-Gambino t<=1, n<=140
            {3, 0.1, 1.0}, // t<=0.5: 1
            {7, 0.01, 1.0}, // x<=0.5/n: 1
            {5000, 0.05, 2.6523052328711187e-11}, // 2*smirnov far tail
            {2000000, 0.001, 0.03660662431970485}, // n>100000: Pelz-Good
            {2000000, 0.0011, 0.015802514902817838}, // n>1e6: smirnov approximation
            {15, 0.3, 0.10797506243355104}, // Pomeranz small n
            {141, 0.04, 0.9710682269013183}, // n>140: Durbin matrix
            {5000, 0.26, 1.1951135997513256e-298}, // 2*smirnov, deep tail
            {30000, 0.01, 0.004924125582072432}, // 2*smirnov
        };
        for (double[] c : cases) {
            // 1e-12: where sf = 1 - cdf is small, summation-order ulps of the cdf (numpy's BLAS and
            // convolution order) are amplified; 4000 random (n, x) agreed within 7.6e-13
            assertRelative(c[2], KolmogorovDistribution.kstwoSf((int) c[0], c[1]), 1e-12,
                    "kstwo.sf(" + c[1] + ", " + (int) c[0] + ")");
        }
    }

    @Test
    void smirnovOneSidedSurvivalFunction() {
        // {n, x, scipy.special.smirnov(n, x)}
        double[][] cases = {
            {1, 0.3, 0.7}, // n = 1: 1 - x
            {5, 0.1, 0.85359}, // x <= 1/n: 1 - x (1 + x)^(n-1) = 1 - 0.1 * 1.1^4 = 1 - 0.14641
            {10, 0.95, 9.765625000000086e-14}, // x >= 1 - 1/n: (1 - x)^n = 0.05^10
            {20, 0.6, 1.0241505824859927e-07}, // lower sum
            {100, 0.025, 0.8681674982884928}, // upper sum (3 terms)
            {50, 0.35, 2.7867617574015925e-06}, // lower sum
            {5000, 0.05, 1.3261526164355594e-11}, // lower sum, many terms
            {1000, 0.5, 5.32258645778891e-232}, // lower sum
            {2000000, 0.0011, 0.007901257451408919}, // n > 1e6: approximation
            {400, 0.3, 1.0054875707113316e-32}, // deep tail
        };
        for (double[] c : cases) {
            assertRelative(c[2], KolmogorovDistribution.smirnovSf((int) c[0], c[1]), 1e-13,
                    "smirnov(" + (int) c[0] + ", " + c[1] + ")");
        }
    }

    @Test
    void rejectsBadSamples() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KolmogorovSmirnov.twoSamplePValue(new double[0], new double[] {1}));
        assertTrue(e.getMessage().startsWith("a "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> KolmogorovSmirnov.twoSamplePValue(new double[] {1}, new double[] {1, Double.NaN}));
        assertEquals("b[1] is NaN", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> KolmogorovSmirnov.twoSamplePValue(new double[] {1}, null));
        assertTrue(e.getMessage().startsWith("b "), e.getMessage());
    }

    @Test
    void infinitiesAreOrdinaryValues() {
        KolmogorovSmirnov.Result r = KolmogorovSmirnov.twoSample(
                new double[] {Double.NEGATIVE_INFINITY, 1}, new double[] {2, Double.POSITIVE_INFINITY});
        // Fully separated, n = 2: p = 2 / C(4, 2) = 1/3
        assertEquals(1.0, r.statistic(), 0.0);
        assertEquals(1.0 / 3, r.pValue(), 1e-15);
        assertFalse(Double.isNaN(r.pValue()));
    }
}
