package org.lethe.eval;

import java.util.Arrays;

/**
 * The two-sided two-sample Kolmogorov-Smirnov test exactly as SciPy 1.17's
 * {@code scipy.stats.ks_2samp(a, b)} (method 'auto'): TOFU's forget quality is its p-value on the
 * truth ratios of the unlearned and the retain model.
 *
 * <p>Only the two-sided alternative is implemented: the exact p-value is SciPy's
 * {@code _compute_prob_outside_square} for equal sizes and its Pythran
 * {@code _compute_outer_prob_inside_method} otherwise ({@code _count_paths_outside_method} serves
 * only the one-sided alternatives).
 */
public final class KolmogorovSmirnov {

    /** Above this larger sample size SciPy's 'auto' method stops computing the exact distribution. */
    public static final int MAX_EXACT_N = 10000;

    private KolmogorovSmirnov() {}

    /**
     * The statistic D = sup |F_a - F_b|, its two-sided p-value, and whether the p-value comes from
     * the exact null distribution (false: the asymptotic one, also used when the exact computation
     * fails numerically, as in SciPy).
     */
    public record Result(double statistic, double pValue, boolean exact) {}

    /** The two-sided p-value of {@code ks_2samp(a, b)}. */
    public static double twoSamplePValue(double[] a, double[] b) {
        return twoSample(a, b).pValue();
    }

    /**
     * {@code ks_2samp(a, b)}: exact when max(n1, n2) <= {@value #MAX_EXACT_N}, else Smirnov's
     * asymptotic distribution {@code kstwo.sf(D, round(n1 n2 / (n1 + n2)))}.
     *
     * @throws IllegalArgumentException when a sample is null, empty or holds NaN (infinities are
     *     ordinary values)
     */
    public static Result twoSample(double[] a, double[] b) {
        Args.notNaN(a, "a");
        Args.notNaN(b, "b");
        double[] x = a.clone();
        double[] y = b.clone();
        Arrays.sort(x);
        Arrays.sort(y);
        int n1 = x.length;
        int n2 = y.length;
        double d = statistic(x, y);

        int g = gcd(n1, n2);
        boolean exact = Math.max(n1, n2) <= MAX_EXACT_N;
        double prob = Double.NaN;
        if (exact) {
            // _attempt_exact_2kssamp: D is a multiple of 1/lcm; rounding removes the floating-point
            // noise of cdf1 - cdf2 before the lattice-path count
            long lcm = (long) (n1 / g) * n2;
            long h = Math.round(Math.rint(d * lcm));
            d = h * 1.0 / lcm;
            if (h == 0) {
                prob = 1.0;
            } else if (n1 == n2) {
                prob = probOutsideSquare(n1, (int) h);
            } else {
                prob = outerProbInsideMethod(n1, n2, g, h);
            }
            // SciPy falls back to the asymptotic formula when the exact value leaves [0, 1]
            // (e.g. 1.0000000000000002 for n1 = n2 = 7, D = 1/7)
            if (!(0 <= prob && prob <= 1)) {
                exact = false;
            }
        }
        if (!exact) {
            double m = Math.max(n1, n2);
            double n = Math.min(n1, n2);
            double en = m * n / (m + n);
            prob = KolmogorovDistribution.kstwoSf((int) Math.rint(en), d);
        }
        return new Result(d, Math.min(Math.max(prob, 0.0), 1.0), exact);
    }

    /**
     * max over the pooled values v of |#{x <= v}/n1 - #{y <= v}/n2|, with SciPy's floating-point
     * arithmetic: cdf differences are differences of two divisions, the larger side wins, and
     * a negative side is clipped at 0.
     */
    private static double statistic(double[] x, double[] y) {
        int n1 = x.length;
        int n2 = y.length;
        double maxS = Double.NEGATIVE_INFINITY;
        double minDiff = Double.POSITIVE_INFINITY;
        int i = 0;
        int j = 0;
        while (i < n1 || j < n2) {
            // Numeric comparisons, so -0.0 and 0.0 are one value as in numpy's searchsorted
            double v = i < n1 && (j >= n2 || x[i] <= y[j]) ? x[i] : y[j];
            while (i < n1 && x[i] <= v) {
                i++;
            }
            while (j < n2 && y[j] <= v) {
                j++;
            }
            double diff = (double) i / n1 - (double) j / n2;
            maxS = Math.max(maxS, diff);
            minDiff = Math.min(minDiff, diff);
        }
        double minS = Math.min(Math.max(-minDiff, 0.0), 1.0);
        return minS > maxS ? minS : maxS;
    }

    /**
     * P(D_{n,n} >= h/n) for equal sample sizes (SciPy's {@code _compute_prob_outside_square}):
     * 2 * (A0 - A0 A1 + A0 A1 A2 - ...) in Horner form, each A_k a ratio of binomials.
     */
    static double probOutsideSquare(int n, int h) {
        double p = 0.0;
        for (int k = n / h; k >= 0; k--) {
            double p1 = 1.0;
            for (int j = 0; j < h; j++) {
                p1 = (double) (n - k * h - j) * p1 / (n + k * h + j + 1);
            }
            p = p1 * (1.0 - p);
        }
        return 2 * p;
    }

    /**
     * P(D_{m,n} >= h/lcm(m, n)) for unequal sizes (SciPy's {@code _compute_outer_prob_inside_method}):
     * Hodges' inside method on lattice paths, with Viehmann's recursion computing 1 - p directly.
     */
    static double outerProbInsideMethod(long m, long n, long g, long h) {
        if (m < n) {
            long t = m;
            m = n;
            n = t;
        }
        long mg = m / g;
        long ng = n / g;
        // One sliding-window column of A(x, y), the paths staying strictly inside |nx/g - my/g| < h
        long minj = 0;
        long maxj = Math.min((long) Math.ceil((double) h / mg), n + 1);
        long curlen = maxj - minj;
        int lenA = (int) Math.min(2 * maxj + 2, n + 1);
        double[] a = new double[lenA];
        Arrays.fill(a, 1.0);
        for (long y = minj; y < Math.min(maxj, lenA); y++) {
            a[(int) y] = 0.0;
        }
        for (long i = 1; i <= m; i++) {
            long lastminj = minj;
            long lastlen = curlen;
            minj = Math.max((long) Math.floor((double) (ng * i - h) / mg) + 1, 0);
            minj = Math.min(minj, n);
            maxj = Math.min((long) Math.ceil((double) (ng * i + h) / mg), n + 1);
            if (maxj <= minj) {
                return 1.0;
            }
            double val = minj == 0 ? 0.0 : 1.0;
            for (long jj = 0; jj < maxj - minj; jj++) {
                long j = jj + minj;
                val = (a[(int) (jj + minj - lastminj)] * i + val * j) / (i + j);
                a[(int) jj] = val;
            }
            curlen = maxj - minj;
            if (lastlen > curlen) {
                // Carried-over elements become 1
                int from = (int) (maxj - minj);
                int to = (int) Math.min(maxj - minj + (lastlen - curlen), lenA);
                Arrays.fill(a, from, to, 1.0);
            }
        }
        return a[(int) (maxj - minj - 1)];
    }

    private static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
