package org.lethe.report;

import java.util.List;

/** A map from data values to pixels along one chart axis, with the ticks it labels. */
sealed interface Scale permits LinearScale, LogScale {

    /** A labelled tick. */
    record Tick(double value, String label) {}

    /** The pixel of {@code value}. */
    double px(double value);

    /** The domain's lower end (at the first pixel of the range). */
    double min();

    /** The domain's upper end (at the last pixel of the range). */
    double max();

    /** The labelled ticks, from {@link #min()} to {@link #max()}. */
    List<Tick> ticks();

    /** Unlabelled tick values between the labelled ones (log scales: the skipped decades). */
    default List<Double> minorTicks() {
        return List.of();
    }
}
