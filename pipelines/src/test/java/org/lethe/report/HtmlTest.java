package org.lethe.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Escaping, coordinate and value formatting, and run colours. */
class HtmlTest {

    @Test
    void textEscapesMarkupButNotQuotes() {
        assertEquals("&lt;b&gt;run &amp; 'x' \"y\"&lt;/b&gt;", Html.text("<b>run & 'x' \"y\"</b>"));
        assertEquals("a&amp;amp;b", Html.text("a&amp;b"));
        assertEquals("", Html.text(null));
        assertEquals("10⁻²⁵ — ok", Html.text("10⁻²⁵ — ok"));
    }

    @Test
    void attributesEscapeBothQuotes() {
        assertEquals("&lt;a href=&quot;x&quot;&gt; &amp; it&#39;s", Html.attr("<a href=\"x\"> & it's"));
    }

    @Test
    void controlCharactersXmlForbidsBecomeSpaces() {
        assertEquals("a b\nc\td", Html.text("a\u0001b\nc\td"));
        // In an attribute a newline would be normalized to a space by XML parsers anyway
        assertEquals("a b c", Html.attr("a\nb\u0000c"));
    }

    @Test
    void pixelCoordinates() {
        assertEquals("12", Html.px(12.0));
        assertEquals("171.43", Html.px(80 + 0.02 / 0.14 * 640));
        assertEquals("628.57", Html.px(628.5714));
        assertEquals("0.1", Html.px(0.1));
        assertEquals("2.05", Html.px(2.05));
        assertEquals("-3.5", Html.px(-3.5));
        assertEquals("0", Html.px(0.004));
        assertEquals("0", Html.px(-0.004));
        assertEquals("-0.01", Html.px(-0.006));
        assertThrows(IllegalArgumentException.class, () -> Html.px(Double.NaN));
    }

    @Test
    void metricValues() {
        assertEquals("1.83e-21", Html.metric(1.834e-21));
        assertEquals("5.00e-04", Html.metric(0.0005));
        assertEquals("0.6227", Html.metric(0.62271));
        assertEquals("1.0000", Html.metric(1.0));
        assertEquals("-0.2500", Html.metric(-0.25));
        assertEquals("0", Html.metric(0.0));
        assertEquals("12.35", Html.fixed(12.3456, 2));
    }

    @Test
    void coloursAreTableauThenGoldenAngleHues() {
        assertEquals("#4e79a7", Palette.colour(0));
        assertEquals("#bab0ac", Palette.colour(9));
        // hue 0, s .55, l .45: chroma .495, m .2025 -> (0.6975, 0.2025, 0.2025) * 255 = (178, 52, 52)
        assertEquals("#b23434", Palette.colour(10));
        // hue 137.508: sector 2, x = .495 * (1 - |0.2918 - 1|) = .1444 -> (52, 178, 88)
        assertEquals("#34b258", Palette.colour(11));
        Set<String> distinct = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            distinct.add(Palette.colour(i));
        }
        assertEquals(60, distinct.size());
        assertEquals(Map.of("a", "#4e79a7", "b", "#f28e2b"), Palette.assign(List.of("b", "a", "b")));
        assertThrows(IllegalArgumentException.class, () -> Palette.colour(-1));
    }
}
