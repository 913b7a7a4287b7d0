package org.lethe.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.lethe.report.Charts.Label;
import org.lethe.report.Charts.Point;
import org.lethe.report.Charts.Series;

/** The scatter's markers and labels at hand-computed pixels, label placement, and escaping inside SVG. */
class ChartsTest {

    private static final Pattern CIRCLE = Pattern.compile("<circle class=\"(pt|pt-step)\" cx=\"([^\"]+)\" cy=\"([^\"]+)\"");

    @Test
    void scatterHasOneLargeMarkerPerSeriesAtItsLastPoint() {
        Charts.Frame f = Charts.SCATTER;
        // The plot area is 80..720 x 420..20; the axes end 10 px inside it
        LinearScale x = Charts.utilityScale(f, 0.5, 0.6);   // [0.48, 0.62] over 90..710, 620 px
        LogScale y = Charts.qualityScale(f, 3e-7);           // 1e-8..1 over 410..30, 47.5 px per decade
        List<Series> series = List.of(
                new Series("npo", "npo", "#4e79a7", null,
                        List.of(new Point(0.58, 1e-3, "step 5"), new Point(0.5, 3e-7, "step 10"))),
                new Series("retain", "retain", "#f28e2b", null, List.of(new Point(0.6, 1.0, "<retain & co>"))));
        String svg = Charts.scatter(f, x, y, series, "fq vs mu");

        List<String> circles = new ArrayList<>();
        Matcher m = CIRCLE.matcher(svg);
        while (m.find()) {
            circles.add(m.group(1) + " " + m.group(2) + "," + m.group(3));
        }
        // 0.58 -> 90 + 0.10 / 0.14 * 620 = 532.86; 1e-3 -> 410 - 5 * 47.5 = 172.5
        // 0.5 -> 90 + 0.02 / 0.14 * 620 = 178.57; 3e-7 -> 410 - (8 + log10(3e-7)) * 47.5 = 410 - 1.4771 * 47.5 = 339.84
        // 0.6 -> 90 + 0.12 / 0.14 * 620 = 621.43; 1 -> 30
        assertEquals(List.of("pt-step 532.86,172.5", "pt 178.57,339.84", "pt 621.43,30"), circles);
        assertTrue(svg.contains("points=\"532.86,172.5 178.57,339.84\""), svg);
        // Labels 8 px right of and 4 px below the point's centre
        assertTrue(svg.contains("<text class=\"label\" x=\"186.57\" y=\"343.84\" text-anchor=\"start\">npo</text>"), svg);
        assertTrue(svg.contains("<text class=\"label\" x=\"629.43\" y=\"34\" text-anchor=\"start\">retain</text>"), svg);
        assertTrue(svg.contains("<title>&lt;retain &amp; co&gt;</title>"), svg);
        // The p = 0.05 line across the plot area: log10(0.05) = -1.30103 -> 410 - 6.69897 * 47.5 = 91.8
        assertTrue(svg.contains("<line class=\"threshold\" x1=\"80\" y1=\"91.8\" x2=\"720\" y2=\"91.8\"/>"), svg);
        // Axis labels: 0.48..0.62 and 10^-8..1
        assertTrue(svg.contains(">0.48</text>") && svg.contains(">0.62</text>"), svg);
        assertTrue(svg.contains(">10⁻⁸</text>") && svg.contains(">1</text>"), svg);
        assertFalse(svg.contains("http"), svg);
    }

    @Test
    void hollowMarkersForValuesDrawnAtTheFloor() {
        Charts.Frame f = Charts.SCATTER;
        String svg = Charts.scatter(f, Charts.utilityScale(f, 0.5, 0.5), Charts.qualityScale(f, Double.POSITIVE_INFINITY),
                List.of(new Series("z", "z", "#000000", null, List.of(new Point(0.5, 0, "zero", true)))), "zero");
        // No positive forget quality: the axis is 1e-2..1 and 0 sits on its floor (410)
        assertTrue(svg.contains("cy=\"410\" r=\"5.5\" fill=\"white\" stroke=\"#000000\""), svg);
    }

    @Test
    void labelsAvoidTheRightEdgeAndEachOther() {
        Charts.Frame f = Charts.SCATTER;   // plot right edge 720
        List<Label> placed = Charts.placeLabels(List.of(
                new Label("alpha", 100, 100, "start"),
                new Label("beta", 104, 102, "start"),
                new Label("gamma", 300, 100, "start"),
                new Label("far-right", 715, 50, "start")), f);
        // Sorted top to bottom: far-right (y 50) first, flipped left of its point: 715 - 8 = 707, anchor end
        assertEquals(new Label("far-right", 707, 54, "end"), placed.get(0));
        assertEquals(new Label("alpha", 108, 104, "start"), placed.get(1));
        // gamma at x 308 does not overlap alpha (108 .. 140.5)
        assertEquals(new Label("gamma", 308, 104, "start"), placed.get(2));
        // beta (112 .. 138, y 106) overlaps alpha: moved one line below it
        assertEquals(new Label("beta", 112, 116, "start"), placed.get(3));
    }

    @Test
    void lineChartsDrawOnePolylinePerSeriesAndDashes() {
        Charts.Frame f = Charts.LINES;   // plot 64..524 x 256..16
        LinearScale x = LinearScale.nice(0, 10, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true, 5,
                f.plotLeft(), f.plotRight());
        LinearScale y = LinearScale.nice(0, 2, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, false, 4,
                f.plotBottom(), f.plotTop());
        String svg = Charts.lines(f, x, y, "Step", "Loss", List.of(
                new Series("a", "a", "#111111", "7 4", List.of(new Point(0, 2, "a0"), new Point(10, 0, "a10"))),
                new Series("b", "b", "#222222", null, List.of(new Point(5, 1, "b5")))), false, "losses");
        assertTrue(svg.contains("stroke=\"#111111\" stroke-dasharray=\"7 4\" points=\"64,16 524,256\""), svg);
        // A single point is drawn as a marker: step 5 -> 294, loss 1 -> 136
        assertTrue(svg.contains("<circle class=\"pt-step\" cx=\"294\" cy=\"136\""), svg);
        assertEquals(1, svg.split("<polyline", -1).length - 1);
    }
}
