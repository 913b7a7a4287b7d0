package org.lethe.report;

import static org.lethe.report.Html.attr;
import static org.lethe.report.Html.px;
import static org.lethe.report.Html.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The report's inline SVG charts: the forget quality / model utility scatter (TOFU's figure: one
 * point per run, a line through its earlier steps) and line charts over steps. Styles are CSS
 * classes the page defines ({@code .grid}, {@code .axis}, ...), colours are attributes.
 */
final class Charts {

    /** The forget-quality threshold TOFU draws: above it a model is not distinguishable from the retain model. */
    static final double SIGNIFICANCE = 0.05;

    /** Average advance of an 11px sans-serif character, for placing labels without measuring text. */
    static final double CHAR_WIDTH = 6.5;
    static final double LABEL_HEIGHT = 12;

    /** A chart's size in pixels and its margins around the plot area. */
    record Frame(int width, int height, int left, int right, int top, int bottom) {
        double plotLeft() {
            return left;
        }

        double plotRight() {
            return width - right;
        }

        double plotTop() {
            return top;
        }

        double plotBottom() {
            return height - bottom;
        }
    }

    /**
     * Pixels between the scatter's frame and its axis ends, so that points at an end (forget
     * quality 1, model utility 0) do not sit on the frame.
     */
    static final double INSET = 10;

    /** The scatter: 640 x 400 pixels of plot area, 620 x 380 inside the inset. */
    static final Frame SCATTER = new Frame(760, 480, 80, 40, 20, 60);
    /** A line chart; two fit side by side. */
    static final Frame LINES = new Frame(540, 300, 64, 16, 16, 44);

    /** A point of a series; {@code hollow} marks a value drawn at an axis end it is not at (forget quality 0). */
    record Point(double x, double y, String tooltip, boolean hollow) {
        Point(double x, double y, String tooltip) {
            this(x, y, tooltip, false);
        }
    }

    /**
     * One run's points, in drawing order (the last is the run's latest step in the scatter).
     *
     * @param key the run key written to {@code data-run}
     * @param dash an SVG {@code stroke-dasharray}, or null for a solid line
     */
    record Series(String key, String label, String colour, String dash, List<Point> points) {
        Series {
            points = List.copyOf(points);
        }
    }

    /** A label placed next to a point: {@code anchor} is {@code start} (right of the point) or {@code end}. */
    record Label(String text, double x, double y, String anchor) {
        double x0() {
            return anchor.equals("end") ? x - width() : x;
        }

        double x1() {
            return anchor.equals("end") ? x : x + width();
        }

        double width() {
            return text.length() * CHAR_WIDTH;
        }

        boolean overlaps(Label o) {
            return x0() < o.x1() && o.x0() < x1() && Math.abs(y - o.y) < LABEL_HEIGHT;
        }
    }

    private Charts() {}

    /** The model utility axis of the scatter over the plotted values (in [0, 1]). */
    static LinearScale utilityScale(Frame f, double lo, double hi) {
        return LinearScale.nice(lo, hi, 0.05, 0, 1, false, 5, f.plotLeft() + INSET, f.plotRight() - INSET);
    }

    /** The forget quality axis: whole decades from at most 10^-2 (so the 0.05 line shows) up to 1. */
    static LogScale qualityScale(Frame f, double minPositive) {
        double lo = Double.isFinite(minPositive) && minPositive > 0 ? Math.min(minPositive, 0.01) : 0.01;
        return LogScale.decades(lo, 1, 7, f.plotBottom() - INSET, f.plotTop() + INSET);
    }

    /**
     * The scatter of forget quality (log y) against model utility (x): per series a polyline through
     * its points, small markers for the earlier ones ({@code class="pt-step"}), a large marker
     * ({@code class="pt"}) and the label at its last point.
     */
    static String scatter(Frame f, LinearScale x, LogScale y, List<Series> series, String ariaLabel) {
        StringBuilder b = open(f, ariaLabel);
        axes(b, f, x, y, "Model utility", "Forget quality (KS p-value vs retain model)");
        if (SIGNIFICANCE >= y.min() && SIGNIFICANCE <= y.max()) {
            double sy = y.px(SIGNIFICANCE);
            b.append("<line class=\"threshold\" x1=\"").append(px(f.plotLeft())).append("\" y1=\"").append(px(sy))
                    .append("\" x2=\"").append(px(f.plotRight())).append("\" y2=\"").append(px(sy)).append("\"/>");
            b.append("<text class=\"threshold-label\" x=\"").append(px(f.plotRight() - 4)).append("\" y=\"")
                    .append(px(sy - 4)).append("\" text-anchor=\"end\">p = 0.05</text>");
        }
        // All lines first, then all markers: no run's line crosses another run's point
        b.append("<g class=\"traces\">");
        series.forEach(s -> polyline(b, s, x, y));
        b.append("</g>");
        List<Label> wanted = new ArrayList<>();
        for (Series s : series) {
            if (s.points().isEmpty()) {
                continue;
            }
            b.append("<g class=\"series\" data-run=\"").append(attr(s.key())).append("\">");
            List<Point> points = s.points();
            for (int i = 0; i < points.size(); i++) {
                boolean last = i == points.size() - 1;
                marker(b, points.get(i), x, y, s.colour(), last ? "pt" : "pt-step", last ? 5.5 : 3);
            }
            b.append("</g>");
            Point p = points.get(points.size() - 1);
            wanted.add(new Label(s.label(), x.px(p.x()), y.px(p.y()), "start"));
        }
        for (Label l : placeLabels(wanted, f)) {
            b.append("<text class=\"label\" x=\"").append(px(l.x())).append("\" y=\"").append(px(l.y()))
                    .append("\" text-anchor=\"").append(l.anchor()).append("\">").append(text(l.text())).append("</text>");
        }
        return b.append("</svg>").toString();
    }

    /** Lines over steps, one per series, with point markers when {@code markers}. */
    static String lines(Frame f, Scale x, Scale y, String xTitle, String yTitle, List<Series> series, boolean markers,
            String ariaLabel) {
        StringBuilder b = open(f, ariaLabel);
        axes(b, f, x, y, xTitle, yTitle);
        for (Series s : series) {
            if (s.points().isEmpty()) {
                continue;
            }
            b.append("<g class=\"series\" data-run=\"").append(attr(s.key())).append("\">");
            polyline(b, s, x, y);
            if (markers || s.points().size() == 1) {
                for (Point p : s.points()) {
                    marker(b, p, x, y, s.colour(), "pt-step", 3);
                }
            }
            b.append("</g>");
        }
        return b.append("</svg>").toString();
    }

    /**
     * Labels right of their points (left when they would leave the plot), moved down by a line
     * while they overlap a label placed before them (top to bottom).
     */
    static List<Label> placeLabels(List<Label> points, Frame f) {
        List<Label> sorted = new ArrayList<>(points);
        sorted.sort(Comparator.comparingDouble(Label::y).thenComparingDouble(Label::x));
        List<Label> placed = new ArrayList<>();
        for (Label p : sorted) {
            Label l = new Label(p.text(), p.x() + 8, p.y() + 4, "start");
            if (l.x1() > f.plotRight()) {
                l = new Label(p.text(), p.x() - 8, p.y() + 4, "end");
            }
            boolean moved = true;
            for (int guard = 0; moved && guard < 1000; guard++) {
                moved = false;
                for (Label q : placed) {
                    if (l.overlaps(q)) {
                        l = new Label(l.text(), l.x(), q.y() + LABEL_HEIGHT, l.anchor());
                        moved = true;
                    }
                }
            }
            placed.add(l);
        }
        return placed;
    }

    private static StringBuilder open(Frame f, String ariaLabel) {
        return new StringBuilder(4096).append("<svg class=\"chart\" width=\"").append(f.width()).append("\" height=\"")
                .append(f.height()).append("\" viewBox=\"0 0 ").append(f.width()).append(' ').append(f.height())
                .append("\" role=\"img\" aria-label=\"").append(attr(ariaLabel)).append("\">")
                .append("<rect class=\"plot\" x=\"").append(px(f.plotLeft())).append("\" y=\"").append(px(f.plotTop()))
                .append("\" width=\"").append(px(f.plotRight() - f.plotLeft())).append("\" height=\"")
                .append(px(f.plotBottom() - f.plotTop())).append("\"/>");
    }

    private static void axes(StringBuilder b, Frame f, Scale x, Scale y, String xTitle, String yTitle) {
        for (Scale.Tick t : x.ticks()) {
            double p = x.px(t.value());
            line(b, "grid", p, f.plotTop(), p, f.plotBottom());
            line(b, "axis", p, f.plotBottom(), p, f.plotBottom() + 5);
            b.append("<text class=\"tick\" x=\"").append(px(p)).append("\" y=\"").append(px(f.plotBottom() + 18))
                    .append("\" text-anchor=\"middle\">").append(text(t.label())).append("</text>");
        }
        for (Scale.Tick t : y.ticks()) {
            double p = y.px(t.value());
            line(b, "grid", f.plotLeft(), p, f.plotRight(), p);
            line(b, "axis", f.plotLeft() - 5, p, f.plotLeft(), p);
            b.append("<text class=\"tick\" x=\"").append(px(f.plotLeft() - 8)).append("\" y=\"").append(px(p + 4))
                    .append("\" text-anchor=\"end\">").append(text(t.label())).append("</text>");
        }
        for (double v : y.minorTicks()) {
            double p = y.px(v);
            line(b, "axis", f.plotLeft() - 3, p, f.plotLeft(), p);
        }
        line(b, "axis", f.plotLeft(), f.plotBottom(), f.plotRight(), f.plotBottom());
        line(b, "axis", f.plotLeft(), f.plotTop(), f.plotLeft(), f.plotBottom());
        double midX = (f.plotLeft() + f.plotRight()) / 2;
        double midY = (f.plotTop() + f.plotBottom()) / 2;
        b.append("<text class=\"axis-title\" x=\"").append(px(midX)).append("\" y=\"").append(px(f.height() - 8))
                .append("\" text-anchor=\"middle\">").append(text(xTitle)).append("</text>");
        b.append("<text class=\"axis-title\" x=\"14\" y=\"").append(px(midY)).append("\" text-anchor=\"middle\"")
                .append(" transform=\"rotate(-90 14 ").append(px(midY)).append(")\">").append(text(yTitle))
                .append("</text>");
    }

    private static void polyline(StringBuilder b, Series s, Scale x, Scale y) {
        if (s.points().size() < 2) {
            return;
        }
        b.append("<polyline class=\"trace\" data-run=\"").append(attr(s.key())).append("\" fill=\"none\" stroke=\"")
                .append(attr(s.colour())).append('"');
        if (s.dash() != null) {
            b.append(" stroke-dasharray=\"").append(attr(s.dash())).append('"');
        }
        b.append(" points=\"");
        for (int i = 0; i < s.points().size(); i++) {
            Point p = s.points().get(i);
            b.append(i == 0 ? "" : " ").append(px(x.px(p.x()))).append(',').append(px(y.px(p.y())));
        }
        b.append("\"><title>").append(text(s.label())).append("</title></polyline>");
    }

    private static void marker(StringBuilder b, Point p, Scale x, Scale y, String colour, String cls, double r) {
        b.append("<circle class=\"").append(cls).append("\" cx=\"").append(px(x.px(p.x()))).append("\" cy=\"")
                .append(px(y.px(p.y()))).append("\" r=\"").append(px(r)).append('"');
        if (p.hollow()) {
            b.append(" fill=\"white\" stroke=\"").append(attr(colour)).append("\" stroke-width=\"2\"");
        } else {
            b.append(" fill=\"").append(attr(colour)).append('"');
        }
        b.append("><title>").append(text(p.tooltip())).append("</title></circle>");
    }

    private static void line(StringBuilder b, String cls, double x1, double y1, double x2, double y2) {
        b.append("<line class=\"").append(cls).append("\" x1=\"").append(px(x1)).append("\" y1=\"").append(px(y1))
                .append("\" x2=\"").append(px(x2)).append("\" y2=\"").append(px(y2)).append("\"/>");
    }
}
