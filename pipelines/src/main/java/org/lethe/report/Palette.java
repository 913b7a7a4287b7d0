package org.lethe.report;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * One colour per run, the same in every chart and table of a report: Tableau 10 for the first ten
 * runs in sorted order, then hues a golden angle apart.
 */
final class Palette {

    static final String[] TABLEAU10 = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#bab0ac"};

    private Palette() {}

    /** The colour of the {@code index}-th run (0-based). */
    static String colour(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("colour index " + index + " < 0");
        }
        if (index < TABLEAU10.length) {
            return TABLEAU10[index];
        }
        double hue = ((index - TABLEAU10.length) * 137.508) % 360;
        return hsl(hue, 0.55, 0.45);
    }

    /** A colour for each of {@code keys}, assigned in sorted order. */
    static Map<String, String> assign(Collection<String> keys) {
        Map<String, String> colours = new LinkedHashMap<>();
        int i = 0;
        for (String key : new TreeSet<>(keys)) {
            colours.put(key, colour(i++));
        }
        return colours;
    }

    /** HSL (hue in degrees, saturation and lightness in [0, 1]) as {@code #rrggbb}. */
    static String hsl(double hue, double saturation, double lightness) {
        double c = (1 - Math.abs(2 * lightness - 1)) * saturation;
        double h = hue / 60;
        double x = c * (1 - Math.abs(h % 2 - 1));
        double r = 0;
        double g = 0;
        double b = 0;
        switch ((int) Math.floor(h) % 6) {
            case 0 -> { r = c; g = x; }
            case 1 -> { r = x; g = c; }
            case 2 -> { g = c; b = x; }
            case 3 -> { g = x; b = c; }
            case 4 -> { r = x; b = c; }
            default -> { r = c; b = x; }
        }
        double m = lightness - c / 2;
        return String.format(Locale.ROOT, "#%02x%02x%02x", Math.round((r + m) * 255), Math.round((g + m) * 255),
                Math.round((b + m) * 255));
    }
}
