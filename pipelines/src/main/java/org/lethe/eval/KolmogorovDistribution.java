package org.lethe.eval;

/**
 * Survival functions of the one-sample Kolmogorov-Smirnov statistics, ported from SciPy 1.17 so
 * that {@link KolmogorovSmirnov} reproduces {@code ks_2samp}'s asymptotic p-values: {@link #kstwoSf}
 * is {@code scipy.stats.kstwo.sf(x, n)} (scipy/stats/_ksstats.py, Simard and L'Ecuyer's choice
 * between Ruben-Gambino, Durbin's matrix, Pomeranz, Pelz-Good and the Smirnov one-sided formula)
 * and {@link #smirnovSf} is {@code scipy.special.smirnov(n, x)} (xsf/cephes/kolmogorov.h).
 */
final class KolmogorovDistribution {

    private static final int E128 = 128;
    private static final double EP128 = 0x1.0p128;
    private static final double EM128 = 0x1.0p-128;
    private static final double LOG_2PI = Math.log(2 * Math.PI);
    private static final double SQRT_2PI = Math.sqrt(2 * Math.PI);
    private static final double SQRT3 = Math.sqrt(3);
    private static final double PI_SQUARED = Math.PI * Math.PI;
    private static final double PI_FOUR = Math.pow(Math.PI, 4);
    private static final double PI_SIX = Math.pow(Math.PI, 6);
    private static final int MIN_LOG = -708;
    private static final double[] STIRLING_COEFFS = {-2.955065359477124183e-2, 6.4102564102564102564e-3,
        -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4,
        7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2};

    // xsf constants
    private static final double CEPHES_MINLOG = -7.451332191019412076235E2;
    private static final double M_LN2 = 0.693147180559945309417;
    private static final int SMIRNOV_MAX_COMPUTE_N = 1000000;
    private static final int SM_UPPER_MAX_TERMS = 3;
    private static final int SM_UPPERSUM_MIN_N = 10;
    private static final int SM_MAX_EXPONENT = 960;
    private static final double EPSILON = Math.ulp(1.0);

    private KolmogorovDistribution() {}

    /**
     * P(D_n >= x) for the two-sided one-sample statistic D_n, as {@code scipy.stats.kstwo.sf(x, n)}:
     * 1 at or below the support's lower end 0.5/n, 0 at or above 1.
     */
    static double kstwoSf(int n, double x) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be at least 1, got " + n);
        }
        if (Double.isNaN(x)) {
            return Double.NaN;
        }
        // rv_continuous.sf: 1 below the open support (0.5/n, 1), 0 above it
        if (x <= 0.5 / n) {
            return 1.0;
        }
        if (x >= 1.0) {
            return 0.0;
        }
        return kolmognSf(n, x);
    }

    /** _ksstats._kolmogn(n, x, cdf=False). */
    private static double kolmognSf(int n, double x) {
        double t = n * x;
        if (t <= 1.0) {
            // Ruben-Gambino: 1/2n <= x <= 1/n
            if (t <= 0.5) {
                return 1.0;
            }
            double prob;
            if (n <= 140) {
                // np.prod(np.arange(1, n+1) * (1.0/n) * (2*t - 1))
                double step = 2 * t - 1;
                double invN = 1.0 / n;
                prob = 1.0;
                for (int i = 1; i <= n; i++) {
                    prob *= i * invN * step;
                }
            } else {
                prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
            }
            return clip(1.0 - prob);
        }
        if (t >= n - 1) {
            // Ruben-Gambino
            return clip(2 * Math.pow(1.0 - x, n));
        }
        if (x >= 0.5) {
            // Exact: 2 * smirnov
            return clip(2 * smirnovSf(n, x));
        }
        double nxSquared = t * x;
        if (n <= 140) {
            if (nxSquared <= 0.754693) {
                return clip(1.0 - clip(durbinCdf(n, x)));
            }
            if (nxSquared <= 4) {
                return clip(1.0 - clip(pomeranzCdf(n, x)));
            }
            // Miller approximation of 2*smirnov
            return clip(2 * smirnovSf(n, x));
        }
        // The survival function has its own cutoffs on n x^2
        if (nxSquared >= 370.0) {
            return 0.0;
        }
        if (nxSquared >= 2.2) {
            return clip(2 * smirnovSf(n, x));
        }
        double cdf;
        if (nxSquared >= 18.0) {
            cdf = 1.0;
        } else if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) {
            cdf = clip(durbinCdf(n, x));
        } else {
            cdf = pelzGoodCdf(n, x);
        }
        return clip(1.0 - cdf);
    }

    private static double clip(double p) {
        return Math.min(Math.max(p, 0.0), 1.0);
    }

    /** log(n! / n^n) by Stirling's series with n log n removed up front. */
    private static double logNFactorialDivNPowN(int n) {
        double rn = 1.0 / n;
        double x = rn / n;
        double poly = 0.0;
        for (double c : STIRLING_COEFFS) {
            poly = poly * x + c;
        }
        return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
    }

    /** P(D_n <= d) by Marsaglia, Tsang and Wang's evaluation of Durbin's matrix (_kolmogn_DMTW). */
    static double durbinCdf(int n, double d) {
        if (d >= 1.0) {
            return 1.0;
        }
        double nd = n * d;
        if (nd <= 0.5) {
            return 0.0;
        }
        int k = (int) Math.ceil(nd);
        double h = k - nd;
        int m = 2 * k - 1;

        double[][] hMatrix = new double[m][m];
        double[] v = new double[m];
        double[] w = new double[m];
        double fac = 1.0;
        for (int j = 1; j <= m; j++) {
            v[j - 1] = 1.0 - Math.pow(h, j);
            w[j - 1] = fac;
            fac /= j;
            v[j - 1] *= fac;
        }
        double tt = Math.pow(Math.max(2 * h - 1.0, 0), m) - 2 * Math.pow(h, m);
        v[m - 1] = (1.0 + tt) * fac;
        for (int i = 1; i < m; i++) {
            for (int r = i - 1; r < m; r++) {
                hMatrix[r][i] = w[r - (i - 1)];
            }
        }
        for (int r = 0; r < m; r++) {
            hMatrix[r][0] = v[r];
        }
        for (int c = 0; c < m; c++) {
            hMatrix[m - 1][c] = v[m - 1 - c];
        }

        double[][] power = identity(m);
        int nn = n;
        int exponent = 0;
        int hExponent = 0;
        while (nn > 0) {
            if (nn % 2 != 0) {
                power = multiply(power, hMatrix);
                exponent += hExponent;
            }
            hMatrix = multiply(hMatrix, hMatrix);
            hExponent *= 2;
            if (Math.abs(hMatrix[k - 1][k - 1]) > EP128) {
                for (double[] row : hMatrix) {
                    for (int c = 0; c < m; c++) {
                        row[c] /= EP128;
                    }
                }
                hExponent += E128;
            }
            nn /= 2;
        }
        double p = power[k - 1][k - 1];
        // Multiply by n!/n^n
        for (int i = 1; i <= n; i++) {
            p = i * p / n;
            if (Math.abs(p) < EM128) {
                p *= EP128;
                exponent -= E128;
            }
        }
        if (exponent != 0) {
            p = Math.scalb(p, exponent);
        }
        return p;
    }

    private static double[][] identity(int m) {
        double[][] id = new double[m][m];
        for (int i = 0; i < m; i++) {
            id[i][i] = 1.0;
        }
        return id;
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        int m = a.length;
        double[][] c = new double[m][m];
        for (int i = 0; i < m; i++) {
            for (int l = 0; l < m; l++) {
                double ail = a[i][l];
                if (ail == 0.0) {
                    continue;
                }
                for (int j = 0; j < m; j++) {
                    c[i][j] += ail * b[l][j];
                }
            }
        }
        return c;
    }

    /** P(D_n <= x) by Pomeranz's recursion (_kolmogn_Pomeranz). */
    static double pomeranzCdf(int n, double x) {
        double t = n * x;
        int ll = (int) Math.floor(t);
        double f = t - ll;
        double g = Math.min(f, 1.0 - f);
        int ceilf = f > 0 ? 1 : 0;
        int roundf = f > 0.5 ? 1 : 0;
        int npwrs = 2 * (ll + 1);
        double[] gpower = new double[npwrs];
        double[] twogpower = new double[npwrs];
        double[] onem2gpower = new double[npwrs];
        gpower[0] = 1.0;
        twogpower[0] = 1.0;
        onem2gpower[0] = 1.0;
        int exponent = 0;
        double gOverN = g / n;
        double twoGOverN = 2 * g / n;
        double oneMinusTwoGOverN = (1 - 2 * g) / n;
        for (int m = 1; m < npwrs; m++) {
            gpower[m] = gpower[m - 1] * gOverN / m;
            twogpower[m] = twogpower[m - 1] * twoGOverN / m;
            onem2gpower[m] = onem2gpower[m - 1] * oneMinusTwoGOverN / m;
        }

        double[] v0 = new double[npwrs];
        double[] v1 = new double[npwrs];
        v1[0] = 1;
        int v0s = 0;
        int v1s = 0;
        int[] j12 = pomeranzJ1J2(0, n, ll, ceilf, roundf);
        int j1 = j12[0];
        int j2;
        for (int i = 1; i < 2 * n + 2; i++) {
            int k1 = j1;
            double[] swap = v0;
            v0 = v1;
            v1 = swap;
            int swapS = v0s;
            v0s = v1s;
            v1s = swapS;
            java.util.Arrays.fill(v1, 0.0);
            j12 = pomeranzJ1J2(i, n, ll, ceilf, roundf);
            j1 = j12[0];
            j2 = j12[1];
            double[] pwrs = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 != 0 ? twogpower : onem2gpower);
            int ln2 = j2 - k1 + 1;
            if (ln2 > 0) {
                // np.convolve(V0[k1 - V0s:k1 - V0s + ln2], pwrs[:ln2]); numpy slices stop at the end
                int aStart = k1 - v0s;
                int aLen = Math.max(0, Math.min(aStart + ln2, npwrs) - aStart);
                int bLen = Math.min(ln2, npwrs);
                int convStart = j1 - k1;
                int convLen = j2 - j1 + 1;
                for (int c = 0; c < convLen; c++) {
                    int idx = convStart + c;
                    double sum = 0.0;
                    int lo = Math.max(0, idx - bLen + 1);
                    int hi = Math.min(idx, aLen - 1);
                    for (int a = lo; a <= hi; a++) {
                        sum += v0[aStart + a] * pwrs[idx - a];
                    }
                    v1[c] = sum;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (double value : v1) {
                    max = Math.max(max, value);
                }
                if (0 < max && max < EM128) {
                    for (int c = 0; c < npwrs; c++) {
                        v1[c] *= EP128;
                    }
                    exponent -= E128;
                }
                v1s = v0s + j1 - k1;
            }
        }
        double ans = v1[n - v1s];
        for (int m = 1; m <= n; m++) {
            if (Math.abs(ans) > EP128) {
                ans *= EM128;
                exponent += E128;
            }
            ans *= m;
        }
        if (exponent != 0) {
            ans = Math.scalb(ans, exponent);
        }
        return clip(ans);
    }

    private static int[] pomeranzJ1J2(int i, int n, int ll, int ceilf, int roundf) {
        int j1;
        int j2;
        if (i == 0) {
            j1 = -ll - ceilf - 1;
            j2 = ll + ceilf - 1;
        } else {
            int ip1div2 = (i + 1) / 2;
            int ip1mod2 = (i + 1) % 2;
            if (ip1mod2 == 0) {
                if (ip1div2 == n + 1) {
                    j1 = n - ll - ceilf - 1;
                    j2 = n + ll + ceilf - 1;
                } else {
                    j1 = ip1div2 - 1 - ll - roundf - 1;
                    j2 = ip1div2 + ll - 1 + ceilf - 1;
                }
            } else {
                j1 = ip1div2 - 1 - ll - 1;
                j2 = ip1div2 + ll + roundf - 1;
            }
        }
        return new int[] {Math.max(j1 + 2, 0), Math.min(j2, n)};
    }

    /** The Pelz-Good approximation of P(D_n <= x) (_kolmogn_PelzGood). */
    static double pelzGoodCdf(int n, double x) {
        if (x <= 0.0) {
            return 0.0;
        }
        if (x >= 1.0) {
            return 1.0;
        }
        double z = Math.sqrt(n) * x;
        double zsquared = z * z;
        double zthree = Math.pow(z, 3);
        double zfour = Math.pow(z, 4);
        double zsix = Math.pow(z, 6);

        double qlog = -PI_SQUARED / 8 / zsquared;
        if (qlog < MIN_LOG) {
            return 0.0;
        }
        double q = Math.exp(qlog);

        double k1a = -zsquared;
        double k1b = PI_SQUARED / 4;
        double k2a = 6 * zsix + 2 * zfour;
        double k2b = (2 * zfour - 5 * zsquared) * PI_SQUARED / 4;
        double k2c = PI_FOUR * (1 - 2 * zsquared) / 16;
        double k3d = PI_SIX * (5 - 30 * zsquared) / 64;
        double k3c = PI_FOUR * (-60 * zsquared + 212 * zfour) / 16;
        double k3b = PI_SQUARED * (135 * zfour - 96 * zsix) / 4;
        double k3a = -30 * zsix - 90 * Math.pow(z, 8);

        double[] k = new double[4];
        int maxk = (int) Math.ceil(16 * z / Math.PI);
        for (int kk = maxk; kk > 0; kk--) {
            double m = 2 * kk - 1;
            double msquared = Math.pow(m, 2);
            double mfour = Math.pow(m, 4);
            double msix = Math.pow(m, 6);
            double qpower = Math.pow(q, 8 * kk);
            double[] coeffs = {1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix};
            for (int i = 0; i < 4; i++) {
                k[i] *= qpower;
                k[i] += coeffs[i];
            }
        }
        double[] divisors = {z, 6 * zfour, 72 * Math.pow(z, 7), 6480 * Math.pow(z, 10)};
        for (int i = 0; i < 4; i++) {
            k[i] *= q;
            k[i] *= SQRT_2PI;
            k[i] /= divisors[i];
        }

        q = Math.exp(-PI_SQUARED / 2 / zsquared);
        double sqrt3z = SQRT3 * z;
        double k2extra = 0.0;
        double k3extra = 0.0;
        for (int kk = maxk; kk > 0; kk--) {
            long ksquared = (long) kk * kk;
            double qpwer = Math.pow(q, ksquared);
            double kspi = Math.PI * kk;
            k2extra += ksquared * qpwer;
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
        }
        k2extra *= PI_SQUARED * SQRT_2PI / (-36 * zthree);
        k[2] += k2extra;
        k3extra *= PI_SQUARED * SQRT_2PI / (216 * zsix);
        k[3] += k3extra;
        double sum = 0.0;
        for (int i = 0; i < 4; i++) {
            sum += k[i] / Math.pow(n * 1.0, i / 2.0);
        }
        return sum;
    }

    /**
     * P(D_n^+ >= x) for the one-sided statistic, as {@code scipy.special.smirnov(n, x)}: the
     * Birnbaum-Tingey sum in double-double arithmetic with a separate binary exponent.
     */
    static double smirnovSf(int n, double x) {
        if (Double.isNaN(x) || !(n > 0 && x >= 0.0 && x <= 1.0)) {
            return Double.NaN;
        }
        if (n == 1) {
            return 1 - x;
        }
        if (x == 0.0) {
            return 1.0;
        }
        if (x == 1.0) {
            return 0.0;
        }
        // floor(n x) and its remainder, exactly
        DoubleDouble nxD = DoubleDouble.of(x).times((double) n);
        DoubleDouble nxFloorD = nxD.floor();
        double alpha = nxD.minus(nxFloorD).hi();
        int nxfl = (int) nxFloorD.hi();
        if (alpha == 1) {
            nxfl += 1;
            alpha = 0;
        }
        int n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1);
        int n1mxceil = n - nxfl;
        // With alpha 0 the last term belongs to neither summation
        if (alpha == 0) {
            n1mxfl -= 1;
            n1mxceil += 1;
        }

        double sf;
        if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
            // x <= 1/n
            double t = powD(DoubleDouble.ONE.plus(x), n - 1).hi();
            sf = 1 - x * t;
        } else if (-2 * n * x * x < CEPHES_MINLOG) {
            sf = 0;
        } else if (nxfl >= n - 1) {
            // x >= 1 - 1/n
            sf = powD(DoubleDouble.ONE.plus(-x), n).hi();
        } else if (n > SMIRNOV_MAX_COMPUTE_N) {
            // p ~ e^(-(6nx+1)^2 / 18n)
            double logp = -Math.pow(6.0 * n * x + 1, 2) / 18.0 / n;
            sf = logp < -M_LN2 ? Math.exp(logp) : 1 - (-Math.expm1(logp));
        } else {
            sf = smirnovSum(n, x, nxfl, alpha, n1mxfl, n1mxceil);
        }
        return clip(sf);
    }

    private static double smirnovSum(int n, double x, int nxfl, double alpha, int n1mxfl, int n1mxceil) {
        int nUpperTerms = n - n1mxceil + 1;
        boolean useUpperSum = nUpperTerms <= 1 && x < 0.5;
        useUpperSum = useUpperSum || (n >= SM_UPPERSUM_MIN_N && nUpperTerms <= SM_UPPER_MAX_TERMS
                && x <= 0.5 / Math.sqrt(n));

        int start = 0;
        int step = 1;
        int nTerms = n1mxfl + 1;
        int vmid = n / 2;
        DoubleDouble cMan = DoubleDouble.ONE;
        int cExpt = 0;
        DoubleDouble aj;
        DoubleDouble ajSum = DoubleDouble.ZERO;
        if (useUpperSum) {
            start = n;
            step = -1;
            nTerms = n - n1mxceil + 1;
            aj = pow4D(1, x, 1, 0, n - 1);
        } else {
            aj = pow4D(1, -x, 1, 0, n).dividedBy(x);
        }
        ajSum = ajSum.plus(aj);
        DoubleDouble.Frexp binomial = updateBinomial(cMan, n, 0);
        cMan = binomial.mantissa();
        cExpt += binomial.exponent();

        for (int j = 1; j < nTerms; j++) {
            int v = start + j * step;
            aj = computeAv(n, x, v, cMan, cExpt);
            if (aj.isFinite() && !aj.isZero()) {
                ajSum = ajSum.plus(aj);
            }
            // Safe to terminate early?
            if (!aj.isZero()) {
                if (4 * (nTerms - j) * Math.abs(aj.hi()) < EPSILON * ajSum.hi() && j != nTerms - 1) {
                    break;
                }
            } else if (j > vmid) {
                break;
            }
            binomial = updateBinomial(cMan, n, j);
            cMan = binomial.mantissa();
            cExpt += binomial.exponent();
        }
        double prob = ajSum.times(x).hi();
        return step < 0 ? 1 - prob : prob;
    }

    /** C(n, j+1) from C(n, j), as a mantissa in [0.5, 1) and an exponent added by the caller. */
    private static DoubleDouble.Frexp updateBinomial(DoubleDouble cMan, int n, int j) {
        DoubleDouble rat = DoubleDouble.of(n - j).dividedBy(j + 1.0);
        return cMan.times(rat).frexp();
    }

    /** A_v(n, x) = Binomial(n, v) (1 - x - v/n)^(n-v) (x + v/n)^(v-1). */
    private static DoubleDouble computeAv(int n, double x, int v, DoubleDouble cMan, int cExpt) {
        DoubleDouble t2x = DoubleDouble.of(n - v).dividedBy(n).minus(x);
        int[] t2e = new int[1];
        DoubleDouble t2 = pow2ScaledD(t2x, n - v, t2e);
        DoubleDouble t1x = DoubleDouble.of(v).dividedBy(n).plus(x);
        int[] t1e = new int[1];
        DoubleDouble t1 = pow2ScaledD(t1x, v - 1, t1e);
        DoubleDouble ans = t1.times(t2).times(cMan);
        return ans.ldexp(cExpt + t1e[0] + t2e[0]);
    }

    /** a^m in double-double, trading accuracy for time with pow() on the high part. */
    private static DoubleDouble powD(DoubleDouble a, int m) {
        if (m <= 0) {
            if (m == 0) {
                return DoubleDouble.ONE;
            }
            return DoubleDouble.ONE.dividedBy(powD(a, -m));
        }
        if (a.isZero()) {
            return DoubleDouble.ZERO;
        }
        double ans = Math.pow(a.hi(), m);
        double r = a.lo() / a.hi();
        double adj = m * r;
        if (Math.abs(adj) > 1e-8) {
            if (Math.abs(adj) < 1e-4) {
                // First two terms of the Taylor series of (1+r)^m
                adj += (m * r) * ((m - 1) / 2.0 * r);
            } else {
                adj = Math.expm1(m * Math.log1p(r));
            }
        }
        return DoubleDouble.of(ans).plus(ans * adj);
    }

    /** ((a+b)/(c+d))^m. */
    private static DoubleDouble pow4D(double a, double b, double c, double d, int m) {
        if (m <= 0) {
            if (m == 0) {
                return DoubleDouble.ONE;
            }
            return pow4D(c, d, a, b, -m);
        }
        DoubleDouble aa = DoubleDouble.of(a).plus(b);
        DoubleDouble cc = DoubleDouble.of(c).plus(d);
        if (aa.isZero()) {
            return cc.isZero() ? new DoubleDouble(Double.NaN, Double.NaN) : DoubleDouble.ZERO;
        }
        if (cc.isZero()) {
            double inf = aa.hi() < 0 || (aa.hi() == 0 && aa.lo() < 0)
                    ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            return new DoubleDouble(inf, inf);
        }
        return powD(aa.dividedBy(cc), m);
    }

    /** a^m = significand * 2^exponent, the exponent returned in {@code exponentOut[0]}. */
    private static DoubleDouble pow2ScaledD(DoubleDouble a, int m, int[] exponentOut) {
        int maxExpt = SM_MAX_EXPONENT;
        if (m <= 0) {
            if (m == 0) {
                exponentOut[0] = 0;
                return DoubleDouble.ONE;
            }
            int[] e1 = new int[1];
            DoubleDouble ans = pow2ScaledD(a, -m, e1);
            DoubleDouble.Frexp inv = DoubleDouble.ONE.dividedBy(ans).frexp();
            exponentOut[0] = -e1[0] + inv.exponent();
            return inv.mantissa();
        }
        DoubleDouble.Frexp yf = a.frexp();
        DoubleDouble y = yf.mantissa();
        int yE = yf.exponent();
        if (m == 1) {
            exponentOut[0] = yE;
            return y;
        }
        // Quick check whether y^m might underflow and the power must be split
        if (m * (y.hi() - 1) / y.hi() < -SM_MAX_EXPONENT * M_LN2) {
            double lg2y = Math.log(y.hi()) / M_LN2;
            double lgAns = m * lg2y;
            if (lgAns <= -SM_MAX_EXPONENT) {
                maxExpt = (int) (nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
            }
        }
        if (m <= maxExpt) {
            DoubleDouble.Frexp ans = powD(y, m).frexp();
            exponentOut[0] = ans.exponent() + m * yE;
            return ans.mantissa();
        }
        int q = m / maxExpt;
        int r = m % maxExpt;
        // y^m = (y^maxExpt)^q * y^r
        int[] y2rE = new int[1];
        int[] y2mE = new int[1];
        int[] y2mqE = new int[1];
        DoubleDouble y2r = pow2ScaledD(y, r, y2rE);
        DoubleDouble y2m = pow2ScaledD(y, maxExpt, y2mE);
        DoubleDouble y2mq = pow2ScaledD(y2m, q, y2mqE);
        DoubleDouble.Frexp ans = y2r.times(y2mq).frexp();
        int total = ans.exponent() + y2mqE[0] + y2mE[0] * q + y2rE[0] + m * yE;
        exponentOut[0] = total;
        return ans.mantissa();
    }

    private static double nextPowerOf2(double x) {
        double q = Math.scalb(x, 1 - 53);
        double l = Math.abs(q + x);
        if (l == 0) {
            l = Math.abs(x);
        } else {
            int lint = (int) l;
            if (lint == l) {
                l = lint;
            }
        }
        return l;
    }
}
