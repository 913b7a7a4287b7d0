package org.lethe.eval;

/** Aggregates of per-sample metric values: the arithmetic mean and TOFU's harmonic mean (model utility). */
public final class Aggregates {

    private Aggregates() {}

    /**
     * The arithmetic mean.
     *
     * @throws IllegalArgumentException when {@code values} is null, empty or not finite
     */
    public static double mean(double[] values) {
        Args.finite(values, "values");
        double sum = 0.0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    /**
     * The harmonic mean n / sum(1/v), as {@code scipy.stats.hmean}: 0 as soon as one value is 0
     * (TOFU's model utility collapses when any of its nine components does).
     *
     * @throws IllegalArgumentException when {@code values} is null, empty, not finite or negative
     */
    public static double harmonicMean(double... values) {
        Args.finite(values, "values");
        double sum = 0.0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0) {
                throw new IllegalArgumentException("values[" + i + "] must be >= 0, got " + values[i]);
            }
            if (values[i] == 0) {
                return 0.0;
            }
            sum += 1.0 / values[i];
        }
        return values.length / sum;
    }
}
