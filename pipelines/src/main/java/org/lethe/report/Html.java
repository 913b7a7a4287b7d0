package org.lethe.report;

import java.util.Locale;

/**
 * Escaping and number formatting for the report's HTML and inline SVG: every text that came from
 * a table (run ids, dataset names, missing reasons, paths) goes through {@link #text} or {@link
 * #attr}, so the page is also well-formed XML.
 */
final class Html {

    private Html() {}

    /** {@code s} as element content: {@code & < >} escaped, control characters XML forbids replaced by a space. */
    static String text(String s) {
        return escape(s, false);
    }

    /** {@code s} inside a double- or single-quoted attribute value. */
    static String attr(String s) {
        return escape(s, true);
    }

    private static String escape(String s, boolean quotes) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append(quotes ? "&quot;" : "\"");
                case '\'' -> b.append(quotes ? "&#39;" : "'");
                default -> {
                    // XML 1.0 allows only tab, LF and CR below U+0020; in an attribute they would be normalized anyway
                    boolean control = c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0xFFFE || c == 0xFFFF;
                    b.append(control || quotes && c < 0x20 ? ' ' : c);
                }
            }
        }
        return b.toString();
    }

    /** A pixel coordinate: at most 2 decimals, no trailing zeros, never {@code -0}. */
    static String px(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("non-finite coordinate " + v);
        }
        long hundredths = Math.round(v * 100);
        if (hundredths == 0) {
            return "0";
        }
        String sign = hundredths < 0 ? "-" : "";
        long abs = Math.abs(hundredths);
        long whole = abs / 100;
        long frac = abs % 100;
        if (frac == 0) {
            return sign + whole;
        }
        return sign + whole + "." + (frac % 10 == 0 ? Long.toString(frac / 10) : String.format(Locale.ROOT, "%02d", frac));
    }

    /**
     * A metric value for the table and tooltips: 4 decimals, or 3 significant digits in scientific
     * notation below 0.001 (forget quality spans 25 decades), {@code 0} for zero.
     */
    static String metric(double v) {
        if (v == 0) {
            return "0";
        }
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        if (Math.abs(v) < 1e-3) {
            return String.format(Locale.ROOT, "%.2e", v);
        }
        return String.format(Locale.ROOT, "%.4f", v);
    }

    /** A value with a fixed number of decimals (loss values in tooltips, PrivLeak in percent). */
    static String fixed(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
