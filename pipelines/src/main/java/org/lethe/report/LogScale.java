package org.lethe.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A base-10 log axis over whole decades, labelled every {@code every} decades (1, 2, 5, 10, 20,
 * ...) with the domain widened to multiples of it: forget quality from 1.8e-21 to 1 becomes
 * 10^-25 .. 1, labelled at 10^-25, 10^-20, ..., 1, with the other decades as minor ticks.
 *
 * @param loDecade log10 of the domain's lower end
 * @param hiDecade log10 of the domain's upper end
 * @param every decades between labelled ticks
 */
record LogScale(int loDecade, int hiDecade, int every, double pxMin, double pxMax) implements Scale {

    private static final String SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹";

    LogScale {
        if (hiDecade <= loDecade || every < 1) {
            throw new IllegalArgumentException("log scale needs loDecade < hiDecade and every >= 1, got "
                    + loDecade + ".." + hiDecade + " every " + every);
        }
    }

    /**
     * The scale covering [{@code lo}, {@code hi}] (both positive) with at most {@code maxTicks}
     * labelled ticks.
     */
    static LogScale decades(double lo, double hi, int maxTicks, double pxMin, double pxMax) {
        if (!(lo > 0) || !(hi >= lo) || !Double.isFinite(hi)) {
            throw new IllegalArgumentException("log scale over an invalid range [" + lo + ", " + hi + "]");
        }
        int loDecade = (int) Math.floor(Math.log10(lo));
        int hiDecade = (int) Math.ceil(Math.log10(hi));
        if (hiDecade == loDecade) {
            loDecade--;
        }
        for (int every : List.of(1, 2, 5, 10, 20, 50, 100, 200, 500)) {
            int a = Math.floorDiv(loDecade, every) * every;
            int b = -Math.floorDiv(-hiDecade, every) * every;
            if ((b - a) / every <= Math.max(1, maxTicks - 1)) {
                return new LogScale(a, b, every, pxMin, pxMax);
            }
        }
        throw new IllegalArgumentException("log scale over too many decades: " + loDecade + ".." + hiDecade);
    }

    @Override
    public double min() {
        return Math.pow(10, loDecade);
    }

    @Override
    public double max() {
        return Math.pow(10, hiDecade);
    }

    /** The pixel of {@code value}; zero and negative values sit at the domain's lower end. */
    @Override
    public double px(double value) {
        double decade = value > 0 ? Math.log10(value) : loDecade;
        return pxMin + (decade - loDecade) / (hiDecade - loDecade) * (pxMax - pxMin);
    }

    @Override
    public List<Tick> ticks() {
        List<Tick> ticks = new ArrayList<>();
        for (int e = loDecade; e <= hiDecade; e += every) {
            ticks.add(new Tick(Math.pow(10, e), label(e)));
        }
        return ticks;
    }

    @Override
    public List<Double> minorTicks() {
        List<Double> minor = new ArrayList<>();
        for (int e = loDecade; e <= hiDecade; e++) {
            if (Math.floorMod(e - loDecade, every) != 0) {
                minor.add(Math.pow(10, e));
            }
        }
        return minor;
    }

    /** 10^e as text: 1, 10, else 10 with a superscript exponent (10⁻²⁵). */
    static String label(int e) {
        if (e == 0) {
            return "1";
        }
        if (e == 1) {
            return "10";
        }
        StringBuilder b = new StringBuilder("10");
        for (char c : Integer.toString(e).toCharArray()) {
            b.append(c == '-' ? '⁻' : SUPERSCRIPT_DIGITS.charAt(c - '0'));
        }
        return b.toString();
    }
}
