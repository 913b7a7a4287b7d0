package org.lethe.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Tick steps, nice domains, pixels and labels of the linear and log axes, computed by hand. */
class ScalesTest {

    private static final double EPS = 1e-9;

    private static List<String> labels(Scale s) {
        return s.ticks().stream().map(Scale.Tick::label).toList();
    }

    @Test
    void tickStepRoundsToOneTwoFiveAtGeometricMidpoints() {
        assertEquals(0.2, LinearScale.tickStep(0, 1, 5), EPS);          // 0.2: error 2 -> 2
        assertEquals(20, LinearScale.tickStep(0, 100, 5), EPS);         // 20
        assertEquals(0.002, LinearScale.tickStep(0, 0.009, 4), EPS);    // 0.00225: 2.25 -> 2
        assertEquals(1, LinearScale.tickStep(0, 7, 5), EPS);            // 1.4 < sqrt(2) -> 1
        assertEquals(2, LinearScale.tickStep(0, 7.5, 5), EPS);          // 1.5 >= sqrt(2) -> 2
        assertEquals(5, LinearScale.tickStep(0, 35, 5), EPS);           // 7 < sqrt(50) = 7.07 -> 5
        assertEquals(10, LinearScale.tickStep(0, 36, 5), EPS);          // 7.2 >= sqrt(50) -> 10
    }

    @Test
    void niceDomainIsPaddedWidenedToTicksAndMapsToPixels() {
        // [0.5, 0.6] padded by 5% of 0.1: [0.495, 0.605]; (0.11) / 5 = 0.022 -> step 0.02; [0.48, 0.62]
        LinearScale x = LinearScale.nice(0.5, 0.6, 0.05, 0, 1, false, 5, 80, 720);
        assertEquals(0.48, x.min(), EPS);
        assertEquals(0.62, x.max(), EPS);
        assertEquals(0.02, x.step(), EPS);
        assertEquals(List.of("0.48", "0.50", "0.52", "0.54", "0.56", "0.58", "0.60", "0.62"), labels(x));
        assertEquals(80, x.px(0.48), EPS);
        assertEquals(720, x.px(0.62), EPS);
        assertEquals(80 + 0.02 / 0.14 * 640, x.px(0.5), EPS);   // 171.43
        assertEquals(171.43, x.px(0.5), 0.005);
        assertEquals(628.57, x.px(0.6), 0.005);                 // 80 + 0.12 / 0.14 * 640
    }

    @Test
    void pixelsMayRunBackwardsForYAxes() {
        LinearScale y = LinearScale.nice(0, 1, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, false, 5, 420, 20);
        assertEquals(List.of("0.0", "0.2", "0.4", "0.6", "0.8", "1.0"), labels(y));
        assertEquals(420, y.px(0), EPS);
        assertEquals(20, y.px(1), EPS);
        assertEquals(320, y.px(0.25), EPS);
    }

    @Test
    void negativeRangesAndClipping() {
        // (2.2 + 1.3) / 5 = 0.7 -> 7 < 7.07 -> step 0.5; [-1.5, 2.5]; no "-0.0"
        LinearScale s = LinearScale.nice(-1.3, 2.2, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, false, 5, 0, 100);
        assertEquals(List.of("-1.5", "-1.0", "-0.5", "0.0", "0.5", "1.0", "1.5", "2.0", "2.5"), labels(s));
        // [0.9, 1.0] padded to [0.895, 1.005], step 0.02 -> [0.88, 1.02], clipped to 1
        LinearScale clipped = LinearScale.nice(0.9, 1.0, 0.05, 0, 1, false, 5, 0, 100);
        assertEquals(0.88, clipped.min(), EPS);
        assertEquals(1.0, clipped.max(), EPS);
        assertEquals("1.00", labels(clipped).get(labels(clipped).size() - 1));
    }

    @Test
    void integerAxesAndEmptyRanges() {
        // Steps 0..3: 3 / 6 = 0.5 -> 0.5, raised to 1 for steps
        LinearScale steps = LinearScale.nice(0, 3, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true, 6, 0, 300);
        assertEquals(List.of("0", "1", "2", "3"), labels(steps));
        // One value: +-10% around it, [0.54, 0.66] with step 0.024 -> 0.02
        LinearScale one = LinearScale.nice(0.6, 0.6, 0.05, 0, 1, false, 5, 0, 120);
        assertEquals(0.54, one.min(), EPS);
        assertEquals(0.66, one.max(), EPS);
        assertEquals(60, one.px(0.6), EPS);
        LinearScale zero = LinearScale.nice(0, 0, 0, 0, 1, false, 5, 0, 100);
        assertEquals(0, zero.min(), EPS);
        assertEquals(1.0, zero.max(), EPS);   // all zero: [0, 1]
        assertThrows(IllegalArgumentException.class, () -> LinearScale.nice(1, 0, 0, 0, 1, false, 5, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LinearScale.nice(Double.NaN, 1, 0, 0, 1, false, 5, 0, 1));
    }

    @Test
    void decimalsOfAStep() {
        assertEquals(0, LinearScale.decimals(20));
        assertEquals(0, LinearScale.decimals(5));
        assertEquals(1, LinearScale.decimals(0.5));
        assertEquals(2, LinearScale.decimals(0.02));
        assertEquals(3, LinearScale.decimals(0.002));
    }

    @Test
    void logScaleOverTofusForgetQualityRange() {
        // 1.83e-21 .. 1: decades -21..0; every 1 -> 21 ticks, every 2 -> -22..0 11 ticks, every 5 -> -25..0 6 ticks
        LogScale y = LogScale.decades(1.83e-21, 1, 7, 420, 20);
        assertEquals(new LogScale(-25, 0, 5, 420, 20), y);
        assertEquals(List.of("10⁻²⁵", "10⁻²⁰", "10⁻¹⁵", "10⁻¹⁰", "10⁻⁵", "1"), labels(y));
        assertEquals(1e-25, y.min(), 1e-40);
        assertEquals(1, y.max(), EPS);
        assertEquals(20, y.minorTicks().size());     // 26 decades, 6 labelled
        assertEquals(1e-24, y.minorTicks().get(0), 1e-39);
        assertEquals(420, y.px(1e-25), EPS);
        assertEquals(20, y.px(1), EPS);
        assertEquals(180, y.px(1e-10), EPS);         // 15 of 25 decades up 400 px
        assertEquals(420, y.px(0), EPS);             // zero sits on the floor
        // 1.834e-21: log10 = -20.7366; (25 - 20.7366) * 16 px = 68.21 above the floor
        assertEquals(351.79, y.px(1.834e-21), 0.01);
    }

    @Test
    void logScaleChoosesTheSmallestStepThatFits() {
        // 3e-7: decades -7..0; every 1 gives 7 intervals > 6, every 2 gives -8..0
        LogScale y = LogScale.decades(3e-7, 1, 7, 420, 20);
        assertEquals(new LogScale(-8, 0, 2, 420, 20), y);
        assertEquals(List.of("10⁻⁸", "10⁻⁶", "10⁻⁴", "10⁻²", "1"), labels(y));
        assertEquals(346.14, y.px(3e-7), 0.01);       // 420 - (8 - 6.5229) * 50
        assertEquals(170, y.px(1e-3), EPS);           // 420 - 5 * 50
        LogScale oneDecade = LogScale.decades(1, 1, 7, 100, 0);
        assertEquals(new LogScale(-1, 0, 1, 100, 0), oneDecade);
        assertEquals(List.of("10⁻¹", "1"), labels(oneDecade));
        assertEquals(List.of("1", "10", "10²", "10³"), labels(LogScale.decades(2, 999, 7, 0, 1)));
        assertThrows(IllegalArgumentException.class, () -> LogScale.decades(0, 1, 7, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> LogScale.decades(1, 0.5, 7, 0, 1));
    }

    @Test
    void superscriptLabels() {
        assertEquals("1", LogScale.label(0));
        assertEquals("10", LogScale.label(1));
        assertEquals("10³", LogScale.label(3));
        assertEquals("10⁻¹", LogScale.label(-1));
        assertEquals("10⁻²⁵", LogScale.label(-25));
        assertEquals("10¹⁰⁷", LogScale.label(107));
    }
}
