package org.lethe.report;

import java.util.List;
import java.util.Map;

/**
 * The small aggregates a report is drawn from, collected from the tables to the driver: the
 * reported eval_summary metrics per (run, dataset, step), binned train_steps curves and the jobs
 * each run has in {@code runs}.
 *
 * @param root the table root, as shown on the page
 * @param evals one entry per (run, dataset, step) with any reported metric
 * @param train one curve per (run, job) of train_steps; empty when there is no such table
 * @param runs what {@code runs} records per run id (absent runs: nothing known)
 * @param hasTrainSteps whether the root has a train_steps table at all
 */
record ReportData(String root, List<EvalStep> evals, List<TrainCurve> train, Map<String, RunInfo> runs,
                  boolean hasTrainSteps) {

    ReportData {
        evals = List.copyOf(evals);
        train = List.copyOf(train);
        runs = Map.copyOf(runs);
    }

    /** One eval_summary value: NULL values come with the reason. */
    record MetricValue(Double value, long n, String missingReason, String retainRunId) {

        /** Whether the value can be drawn (present and finite). */
        boolean present() {
            return value != null && Double.isFinite(value);
        }

        /** Why the value is not drawn. */
        String reason() {
            if (value == null) {
                return missingReason == null || missingReason.isBlank() ? "NULL without a reason" : missingReason;
            }
            return "non-finite value " + value;
        }
    }

    /** The reported metrics of one run and dataset at one evaluated step. */
    record EvalStep(String runId, String dataset, long step, Map<String, MetricValue> metrics) {
        EvalStep {
            metrics = Map.copyOf(metrics);
        }

        /** The metric's row, or null when eval_summary has none. */
        MetricValue metric(String name) {
            return metrics.get(name);
        }
    }

    /**
     * A step's losses; with binning, the means over the bin's steps (and {@code step} their mean).
     *
     * @param forgetLoss null for fine-tuning
     * @param retainLoss null without retain terms
     */
    record TrainPoint(double step, double loss, Double forgetLoss, Double retainLoss) {}

    /**
     * The losses of one (run, job) over its steps.
     *
     * @param steps how many train_steps rows the run has
     * @param binWidth steps per point (1: every step is drawn)
     */
    record TrainCurve(String runId, String job, long steps, long binWidth, List<TrainPoint> points) {
        TrainCurve {
            points = List.copyOf(points);
        }
    }

    /** A run's jobs in {@code runs}, in start order, e.g. {@code unlearn (npo)}, {@code evaluate}. */
    record RunInfo(String runId, List<String> jobs) {
        RunInfo {
            jobs = List.copyOf(jobs);
        }
    }
}
