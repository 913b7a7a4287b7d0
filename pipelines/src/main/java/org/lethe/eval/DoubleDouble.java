package org.lethe.eval;

/**
 * The few double-double (about 106-bit) operations that SciPy's {@code smirnov} uses, ported from
 * the {@code double_double} type of SciPy's xsf library (itself from the qd package) so that
 * {@link KolmogorovDistribution} follows SciPy operation for operation.
 */
record DoubleDouble(double hi, double lo) {

    static final DoubleDouble ZERO = new DoubleDouble(0.0, 0.0);
    static final DoubleDouble ONE = new DoubleDouble(1.0, 0.0);

    static DoubleDouble of(double x) {
        return new DoubleDouble(x, 0.0);
    }

    // Error-free transformations. Java evaluates doubles strictly (IEEE 754, no extended
    // precision), which is what the volatiles of the C++ original guarantee there.

    private static DoubleDouble quickTwoSum(double a, double b) {
        double s = a + b;
        return new DoubleDouble(s, b - (s - a));
    }

    private static DoubleDouble twoSum(double a, double b) {
        double s = a + b;
        double c = s - a;
        double d = b - c;
        double e = s - c;
        return new DoubleDouble(s, (a - e) + d);
    }

    DoubleDouble negate() {
        return new DoubleDouble(-hi, -lo);
    }

    DoubleDouble plus(DoubleDouble r) {
        DoubleDouble s = twoSum(hi, r.hi);
        DoubleDouble t = twoSum(lo, r.lo);
        double s2 = s.lo + t.hi;
        DoubleDouble u = quickTwoSum(s.hi, s2);
        double u2 = u.lo + t.lo;
        return quickTwoSum(u.hi, u2);
    }

    DoubleDouble plus(double r) {
        DoubleDouble s = twoSum(hi, r);
        return quickTwoSum(s.hi, s.lo + lo);
    }

    DoubleDouble minus(DoubleDouble r) {
        return plus(r.negate());
    }

    DoubleDouble minus(double r) {
        return plus(-r);
    }

    DoubleDouble times(DoubleDouble r) {
        double p1 = hi * r.hi;
        double p2 = Math.fma(hi, r.hi, -p1);
        p2 += hi * r.lo + lo * r.hi;
        return quickTwoSum(p1, p2);
    }

    DoubleDouble times(double r) {
        double p1 = hi * r;
        double e1 = Math.fma(hi, r, -p1);
        double p2 = lo * r;
        double e2 = Math.fma(lo, r, -p2);
        return quickTwoSum(p1, e2 + p2 + e1);
    }

    DoubleDouble dividedBy(DoubleDouble r) {
        double q1 = hi / r.hi;
        DoubleDouble rem = minus(r.times(q1));
        double q2 = rem.hi / r.hi;
        rem = rem.minus(r.times(q2));
        double q3 = rem.hi / r.hi;
        return quickTwoSum(q1, q2).plus(q3);
    }

    DoubleDouble dividedBy(double r) {
        return dividedBy(of(r));
    }

    DoubleDouble floor() {
        double h = Math.floor(hi);
        if (h == hi) {
            return quickTwoSum(h, Math.floor(lo));
        }
        return new DoubleDouble(h, 0.0);
    }

    DoubleDouble ldexp(int exponent) {
        return new DoubleDouble(Math.scalb(hi, exponent), Math.scalb(lo, exponent));
    }

    boolean isZero() {
        return hi == 0.0 && lo == 0.0;
    }

    boolean isFinite() {
        return Double.isFinite(hi);
    }

    /** A mantissa with 0.5 <= |hi| < 1 (or |hi| == 1 with lo of the other sign) and its exponent. */
    record Frexp(DoubleDouble mantissa, int exponent) {}

    Frexp frexp() {
        int exponent = frexpExponent(hi);
        double man = Math.scalb(hi, -exponent);
        double b1 = Math.scalb(lo, -exponent);
        if (Math.abs(man) == 0.5 && man * b1 < 0) {
            man *= 2;
            b1 *= 2;
            exponent -= 1;
        }
        return new Frexp(new DoubleDouble(man, b1), exponent);
    }

    /** C's {@code frexp} exponent: x = m * 2^e with 0.5 <= |m| < 1; 0 for zero, infinities and NaN. */
    static int frexpExponent(double x) {
        if (x == 0.0 || !Double.isFinite(x)) {
            return 0;
        }
        if (Math.getExponent(x) < Double.MIN_EXPONENT) {
            // Subnormal: scale into the normal range first
            return Math.getExponent(x * 0x1.0p54) + 1 - 54;
        }
        return Math.getExponent(x) + 1;
    }
}
