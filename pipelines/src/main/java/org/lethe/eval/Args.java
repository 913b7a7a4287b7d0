package org.lethe.eval;

/** Argument checks shared by the evaluation functions: each failure names the argument. */
final class Args {

    private Args() {}

    static void nonEmpty(double[] values, String name) {
        if (values == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (values.length == 0) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }

    static void nonEmpty(long[] values, String name) {
        if (values == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (values.length == 0) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
    }

    /** Non-empty and free of NaN (infinities allowed). */
    static void notNaN(double[] values, String name) {
        nonEmpty(values, name);
        for (int i = 0; i < values.length; i++) {
            if (Double.isNaN(values[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] is NaN");
            }
        }
    }

    /** Non-empty and finite. */
    static void finite(double[] values, String name) {
        nonEmpty(values, name);
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] must be finite, got " + values[i]);
            }
        }
    }

    static void finite(double value, String name) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(name + " must be finite, got " + value);
        }
    }

    static void sameLength(int a, String aName, int b, String bName) {
        if (a != b) {
            throw new IllegalArgumentException(aName + " has " + a + " elements but " + bName + " has " + b);
        }
    }
}
