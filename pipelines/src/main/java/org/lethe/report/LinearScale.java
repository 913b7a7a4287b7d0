package org.lethe.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A linear axis whose domain is widened to multiples of a "nice" tick step (1, 2 or 5 times a
 * power of ten, as d3's {@code ticks} chooses it), so that both ends carry a tick.
 *
 * @param min the domain's lower end, a multiple of {@code step}
 * @param max the domain's upper end, a multiple of {@code step}
 * @param step the distance between ticks
 * @param pxMin the pixel of {@code min} (the bottom of a y axis: pixels may run backwards)
 * @param pxMax the pixel of {@code max}
 */
record LinearScale(double min, double max, double step, double pxMin, double pxMax) implements Scale {

    LinearScale {
        if (!(max > min) || !(step > 0)) {
            throw new IllegalArgumentException("linear scale needs min < max and step > 0, got [" + min + ", " + max
                    + "] step " + step);
        }
    }

    /**
     * The scale over the data range [{@code lo}, {@code hi}] with about {@code count} ticks: the
     * range is padded by {@code pad} of its width on each side, then widened to tick multiples
     * and clipped to [{@code floor}, {@code ceiling}] (use infinities for none). An empty range
     * becomes [lo - 10%, lo + 10%], or [0, 1] at 0. With {@code integer}, steps are at least 1.
     */
    static LinearScale nice(double lo, double hi, double pad, double floor, double ceiling, boolean integer,
            int count, double pxMin, double pxMax) {
        if (!Double.isFinite(lo) || !Double.isFinite(hi) || lo > hi) {
            throw new IllegalArgumentException("linear scale over an invalid range [" + lo + ", " + hi + "]");
        }
        if (lo == 0 && hi == 0) {
            hi = 1;
        } else if (lo == hi) {
            double half = Math.abs(lo) * 0.1;
            lo -= half;
            hi += half;
        } else {
            double margin = (hi - lo) * pad;
            lo -= margin;
            hi += margin;
        }
        double step = tickStep(lo, hi, count);
        if (integer) {
            step = Math.max(1, step);
        }
        // The tolerance keeps 0.54 / 0.02 = 26.999999999999996 from adding a step
        double min = Math.max(floor, multiple(Math.floor(lo / step + 1e-9), step));
        double max = Math.min(ceiling, multiple(Math.ceil(hi / step - 1e-9), step));
        if (!(max > min)) {
            max = min + step;
        }
        return new LinearScale(min, max, step, pxMin, pxMax);
    }

    /**
     * d3's tick increment: (hi - lo) / count rounded to 1, 2, 5 or 10 times a power of ten, at the
     * geometric midpoints sqrt(2), sqrt(10), sqrt(50) of those factors.
     */
    static double tickStep(double lo, double hi, int count) {
        double raw = (hi - lo) / Math.max(1, count);
        double power = Math.floor(Math.log10(raw));
        double error = raw / Math.pow(10, power);
        double factor = error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1;
        return power < 0 ? factor / Math.pow(10, -power) : factor * Math.pow(10, power);
    }

    /**
     * {@code i * step}, computed as {@code i / (1 / step)} for steps below 1: 1 / step is then a
     * whole number (or a half) held exactly, where step is not (24 * 0.02 != 0.48, 24 / 50 == 0.48).
     */
    static double multiple(double i, double step) {
        return step < 1 ? i / (Math.round(2 / step) / 2.0) : i * step;
    }

    @Override
    public double px(double value) {
        return pxMin + (value - min) / (max - min) * (pxMax - pxMin);
    }

    @Override
    public List<Tick> ticks() {
        int decimals = decimals(step);
        long first = (long) Math.ceil(min / step - 1e-9);
        long last = (long) Math.floor(max / step + 1e-9);
        List<Tick> ticks = new ArrayList<>();
        for (long i = first; i <= last; i++) {
            double value = multiple(i, step);
            ticks.add(new Tick(value, label(value, decimals)));
        }
        return ticks;
    }

    /** Decimals a tick label needs: 2 for a step of 0.05, 0 for 20. */
    static int decimals(double step) {
        for (int d = 0; d < 15; d++) {
            double scaled = step * Math.pow(10, d);
            if (Math.abs(scaled - Math.rint(scaled)) < 1e-9 * Math.max(1, scaled)) {
                return d;
            }
        }
        return 15;
    }

    private static String label(double value, int decimals) {
        String s = String.format(Locale.ROOT, "%." + decimals + "f", value);
        // "-0.0" for a tick a rounding error below zero
        return s.matches("-0\\.?0*") ? s.substring(1) : s;
    }
}
