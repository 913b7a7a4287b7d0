package org.lethe.distributed;

import java.util.Locale;

/** Learning rate per optimizer step: linear warmup, then constant, linear or cosine decay to 0. */
public record LrSchedule(double peak, String shape, long warmupSteps, long totalSteps) {

    public LrSchedule {
        if (!(peak > 0)) {
            throw new IllegalArgumentException("lethe.train.lr must be > 0, got " + peak);
        }
        if (!java.util.List.of("constant", "linear", "cosine").contains(shape.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("lethe.train.schedule: unknown '" + shape
                    + "' (expected constant, linear or cosine)");
        }
        if (warmupSteps < 0 || totalSteps <= 0) {
            throw new IllegalArgumentException("lethe.train.warmup_steps must be >= 0 and the run must have steps");
        }
    }

    /** The rate of 1-based step {@code step}. */
    public double at(long step) {
        if (step <= warmupSteps) {
            return peak * step / (warmupSteps + 1.0);
        }
        double progress = (double) (step - warmupSteps - 1) / Math.max(1, totalSteps - warmupSteps);
        switch (shape.toLowerCase(Locale.ROOT)) {
            case "linear":
                return peak * (1 - progress);
            case "cosine":
                return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
            default:
                return peak;
        }
    }
}
