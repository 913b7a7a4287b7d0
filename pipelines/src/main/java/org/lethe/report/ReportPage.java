package org.lethe.report;

import static org.lethe.eval.EvalTables.FORGET_EFFICACY;
import static org.lethe.eval.EvalTables.FORGET_QUALITY;
import static org.lethe.eval.EvalTables.MODEL_UTILITY;
import static org.lethe.eval.EvalTables.PRIVLEAK;
import static org.lethe.report.Html.attr;
import static org.lethe.report.Html.text;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.lethe.report.Charts.Point;
import org.lethe.report.Charts.Series;
import org.lethe.report.ReportData.EvalStep;
import org.lethe.report.ReportData.MetricValue;
import org.lethe.report.ReportData.TrainCurve;
import org.lethe.report.ReportData.TrainPoint;

/** Renders {@link ReportData} as one self-contained HTML page: inline CSS and SVG, no scripts, no external references. */
final class ReportPage {

    static final String FORGET_ROUGE = "forget_rouge_l_recall";
    static final String FORGET_PROBABILITY = "forget_probability";
    static final String RETAIN_PROBABILITY = "retain_probability";

    /** A column of the summary table: the eval_summary metric it shows and how. */
    record Column(String metric, String header, String help, Function<Double, String> format) {}

    static final List<Column> TABLE_COLUMNS = List.of(
            new Column(FORGET_QUALITY, "Forget quality", "KS-test p-value of the forget truth ratios against the retain"
                    + " model's (TOFU); higher = closer to a model never trained on the forget set", Html::metric),
            new Column(MODEL_UTILITY, "Model utility", "harmonic mean of probability, ROUGE-L recall and truth ratio on"
                    + " retain, real authors and world facts (TOFU); higher = more knowledge kept", Html::metric),
            // U+2011, a non-breaking hyphen: the narrow column would otherwise break "ROUGE-L"
            new Column(FORGET_ROUGE, "Forget ROUGE\u2011L recall",
                    "mean ROUGE-L recall of greedy answers on the forget set", Html::metric),
            new Column(FORGET_PROBABILITY, "Forget probability", "mean answer probability on the forget set",
                    Html::metric),
            new Column(RETAIN_PROBABILITY, "Retain probability", "mean answer probability on the retain set",
                    Html::metric),
            new Column(PRIVLEAK, "PrivLeak (%)", "MUSE's PrivLeak of Min-K% between forget and holdout relative to the"
                    + " retain model; 0 = like the retain model", v -> Html.fixed(v, 2)),
            new Column(FORGET_EFFICACY, "Forget efficacy", "1 - the mean of the forget set's knowledge measures",
                    Html::metric));

    /** Every metric the page reads from eval_summary. */
    static final List<String> METRICS = List.of(FORGET_QUALITY, MODEL_UTILITY, "forget_truth_ratio",
            FORGET_PROBABILITY, FORGET_ROUGE, RETAIN_PROBABILITY, "retain_rouge_l_recall", "retain_truth_ratio",
            PRIVLEAK, FORGET_EFFICACY);

    private static final String CSS = String.join("\n",
            "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#222;"
                    + "margin:24px auto;max-width:1120px;padding:0 16px}",
            "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ddd;"
                    + "padding-bottom:4px}h3{font-size:14px;margin:12px 0 4px}",
            ".meta,.note,figcaption{color:#555;font-size:13px}code{font-size:12px;background:#f4f4f4;padding:1px 4px}",
            "figure{margin:8px 0}.grid2{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px}",
            "svg.chart{max-width:100%;height:auto;font-family:inherit}",
            "svg .plot{fill:#fcfcfc;stroke:none}svg .grid{stroke:#e6e6e6}svg .axis{stroke:#555}",
            "svg .tick{font-size:11px;fill:#444}svg .axis-title{font-size:12px;fill:#222}",
            "svg .label{font-size:11px;fill:#222;paint-order:stroke;stroke:#fff;stroke-width:3px}",
            "svg .threshold{stroke:#999;stroke-dasharray:5 4}svg .threshold-label{font-size:11px;fill:#777}",
            "svg .trace{stroke-width:1.8;stroke-opacity:.85}svg .pt{stroke:#fff;stroke-width:1.5}",
            ".legend{list-style:none;padding:0;margin:4px 0;font-size:12px;display:flex;flex-wrap:wrap;gap:4px 14px}",
            ".swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}",
            ".dash{display:inline-block;width:22px;height:0;border-top:2px solid #444;margin-right:5px;vertical-align:3px}",
            "table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e4e4e4;"
                    + "text-align:left}th{background:#f6f6f6;font-weight:600;vertical-align:bottom}",
            "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.missing{color:#999;cursor:help}",
            "td.run,.job{white-space:nowrap}td[title]{cursor:help}",
            "ul.missing{font-size:13px;margin:4px 0}ul.missing code{background:none}");

    private ReportPage() {}

    /** A run and dataset: one point / row / line. */
    record Key(String runId, String dataset) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = runId.compareTo(o.runId);
            return c != 0 ? c : dataset.compareTo(o.dataset);
        }
    }

    /**
     * A rendered page and what it shows.
     *
     * @param runs (run, dataset) pairs in eval_summary
     * @param plotted of those, the ones with a point in the scatter
     * @param notPlotted the ones listed under it (no forget quality or model utility at the latest step)
     */
    record Page(String html, int runs, int plotted, int notPlotted) {}

    static Page render(ReportData data, Instant generatedAt) {
        TreeMap<Key, List<EvalStep>> byKey = new TreeMap<>();
        for (EvalStep e : data.evals()) {
            byKey.computeIfAbsent(new Key(e.runId(), e.dataset()), k -> new ArrayList<>()).add(e);
        }
        byKey.values().forEach(steps -> steps.sort(Comparator.comparingLong(EvalStep::step)));
        Set<String> datasets = new TreeSet<>();
        byKey.keySet().forEach(k -> datasets.add(k.dataset()));
        boolean severalDatasets = datasets.size() > 1;
        Function<Key, String> label = k -> severalDatasets ? k.runId() + " · " + k.dataset() : k.runId();

        Set<String> runIds = new TreeSet<>();
        byKey.keySet().forEach(k -> runIds.add(k.runId()));
        int evaluated = runIds.size();
        data.train().forEach(t -> runIds.add(t.runId()));
        Map<String, String> colours = Palette.assign(runIds);

        StringBuilder b = new StringBuilder(64 * 1024);
        b.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
                .append("<title>Lethe report</title>\n<style>\n").append(CSS).append("\n</style>\n</head>\n<body>\n");
        b.append("<header><h1>Lethe report</h1><p class=\"meta\">Tables under <code>").append(text(data.root()))
                .append("</code> · ").append(evaluated).append(evaluated == 1 ? " evaluated run" : " evaluated runs")
                .append(severalDatasets ? " on " + datasets.size() + " datasets" : "")
                .append(" · generated ").append(generatedAt.truncatedTo(ChronoUnit.SECONDS)).append("</p></header>\n");
        int[] scatter = scatterSection(b, byKey, label, colours);
        tableSection(b, byKey, colours, data);
        trainingSection(b, data, colours);
        curvesSection(b, byKey, label, colours);
        return new Page(b.append("</body>\n</html>\n").toString(), byKey.size(), scatter[0], scatter[1]);
    }

    /** Appends the scatter and the runs not plotted; returns {plotted, listed as not plotted}. */
    private static int[] scatterSection(StringBuilder b, TreeMap<Key, List<EvalStep>> byKey, Function<Key, String> label,
            Map<String, String> colours) {
        b.append("<section id=\"scatter\">\n<h2>Forget quality vs model utility</h2>\n");
        List<Series> series = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        double minPositive = Double.POSITIVE_INFINITY;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (Map.Entry<Key, List<EvalStep>> e : byKey.entrySet()) {
            Key key = e.getKey();
            List<EvalStep> steps = e.getValue();
            EvalStep latest = steps.get(steps.size() - 1);
            List<Point> points = new ArrayList<>();
            long lastPlotted = -1;
            for (EvalStep s : steps) {
                MetricValue fq = s.metric(FORGET_QUALITY);
                MetricValue mu = s.metric(MODEL_UTILITY);
                if (fq == null || !fq.present() || mu == null || !mu.present()) {
                    continue;
                }
                boolean zero = fq.value() <= 0;
                if (!zero) {
                    minPositive = Math.min(minPositive, fq.value());
                }
                lo = Math.min(lo, mu.value());
                hi = Math.max(hi, mu.value());
                String tip = label.apply(key) + " · step " + s.step() + "\nforget quality " + Html.metric(fq.value())
                        + " (n = " + fq.n() + (fq.retainRunId() == null ? "" : ", vs " + fq.retainRunId()) + ")"
                        + (zero ? ", drawn at the axis floor" : "") + "\nmodel utility " + Html.metric(mu.value());
                points.add(new Point(mu.value(), fq.value(), tip, zero));
                lastPlotted = s.step();
            }
            if (!points.isEmpty()) {
                String name = label.apply(key) + (lastPlotted == latest.step() ? "" : " @ step " + lastPlotted);
                series.add(new Series(key.runId(), name, colours.get(key.runId()), null, points));
            }
            List<String> reasons = new ArrayList<>();
            reasonIfMissing(latest, FORGET_QUALITY, "forget quality", reasons);
            reasonIfMissing(latest, MODEL_UTILITY, "model utility", reasons);
            if (!reasons.isEmpty()) {
                missing.add("<li>" + swatch(colours.get(key.runId())) + "<code>" + text(label.apply(key)) + "</code> step "
                        + latest.step() + ": " + text(String.join("; ", reasons))
                        + (points.isEmpty() ? "" : " (earlier steps plotted)") + "</li>");
            }
        }
        if (series.isEmpty()) {
            b.append("<p class=\"note\">No run has both a forget quality and a model utility: nothing to plot.</p>\n");
        } else {
            LinearScale x = Charts.utilityScale(Charts.SCATTER, lo, hi);
            LogScale y = Charts.qualityScale(Charts.SCATTER, minPositive);
            b.append("<figure>").append(Charts.scatter(Charts.SCATTER, x, y, series,
                    "Forget quality against model utility, one point per run")).append('\n');
            b.append("<figcaption>One point per run at its latest evaluated step (large marker); a line joins its"
                    + " earlier steps. Forget quality (log scale) is the Kolmogorov-Smirnov p-value of the forget"
                    + " truth ratios against the retain model's: up is closer to a model that never saw the forget"
                    + " set, above the dashed line (p = 0.05) the two are not distinguishable. Model utility: right"
                    + " is more knowledge kept. Hollow markers: forget quality 0, drawn at the axis floor."
                    + "</figcaption></figure>\n");
        }
        if (!missing.isEmpty()) {
            b.append("<h3>Not plotted</h3>\n<ul class=\"missing\">\n");
            missing.forEach(m -> b.append(m).append('\n'));
            b.append("</ul>\n");
        }
        b.append("</section>\n");
        return new int[] {series.size(), missing.size()};
    }

    private static void reasonIfMissing(EvalStep s, String metric, String name, List<String> reasons) {
        MetricValue v = s.metric(metric);
        if (v == null) {
            reasons.add(name + ": no " + metric + " row in eval_summary");
        } else if (!v.present()) {
            reasons.add(name + ": " + v.reason());
        }
    }

    private static void tableSection(StringBuilder b, TreeMap<Key, List<EvalStep>> byKey, Map<String, String> colours,
            ReportData data) {
        b.append("<section id=\"summary\">\n<h2>Summary at each run's latest evaluated step</h2>\n");
        if (byKey.isEmpty()) {
            b.append("<p class=\"note\">eval_summary has no rows.</p>\n</section>\n");
            return;
        }
        b.append("<table>\n<thead><tr><th>Run</th><th>Jobs</th><th>Dataset</th><th class=\"num\">Step</th>");
        for (Column c : TABLE_COLUMNS) {
            b.append("<th class=\"num\" title=\"").append(attr(c.metric() + ": " + c.help())).append("\">")
                    .append(text(c.header())).append("</th>");
        }
        b.append("<th class=\"num\" title=\"forget samples with a probability (the n of forget_probability)\">n</th>")
                .append("</tr></thead>\n<tbody>\n");
        for (Map.Entry<Key, List<EvalStep>> e : byKey.entrySet()) {
            Key key = e.getKey();
            EvalStep latest = e.getValue().get(e.getValue().size() - 1);
            ReportData.RunInfo info = data.runs().get(key.runId());
            b.append("<tr data-run=\"").append(attr(key.runId())).append("\"><td class=\"run\">")
                    .append(swatch(colours.get(key.runId()))).append(text(key.runId())).append("</td><td>")
                    .append(info == null ? "" : jobs(info)).append("</td><td>")
                    .append(text(key.dataset())).append("</td><td class=\"num\">").append(latest.step()).append("</td>");
            for (Column c : TABLE_COLUMNS) {
                cell(b, c, latest.metric(c.metric()));
            }
            MetricValue fp = latest.metric(FORGET_PROBABILITY);
            b.append("<td class=\"num\">").append(fp == null ? "—" : Long.toString(fp.n())).append("</td></tr>\n");
        }
        b.append("</tbody>\n</table>\n<p class=\"note\">— : NULL in eval_summary; hover for the missing_reason."
                + " Hover a value for the number of samples (or items, or components) it was computed from.</p>\n");
        b.append("</section>\n");
    }

    private static String swatch(String colour) {
        return "<span class=\"swatch\" style=\"background:" + attr(colour) + "\"></span>";
    }

    /** The run's jobs, each kept on one line ("import-eval" would otherwise break at its hyphen). */
    private static String jobs(ReportData.RunInfo info) {
        List<String> spans = new ArrayList<>();
        info.jobs().forEach(j -> spans.add("<span class=\"job\">" + text(j) + "</span>"));
        return String.join(", ", spans);
    }

    private static void cell(StringBuilder b, Column c, MetricValue v) {
        if (v == null) {
            b.append("<td class=\"num missing\" title=\"no ").append(attr(c.metric()))
                    .append(" row in eval_summary\">—</td>");
        } else if (!v.present()) {
            b.append("<td class=\"num missing\" title=\"").append(attr(v.reason())).append("\">—</td>");
        } else {
            String tip = "n = " + v.n() + (v.retainRunId() == null ? "" : " · vs retain run " + v.retainRunId());
            b.append("<td class=\"num\" title=\"").append(attr(tip)).append("\">")
                    .append(text(c.format().apply(v.value()))).append("</td>");
        }
    }

    private static void trainingSection(StringBuilder b, ReportData data, Map<String, String> colours) {
        b.append("<section id=\"training\">\n<h2>Training loss</h2>\n");
        if (!data.hasTrainSteps()) {
            b.append("<p class=\"note\">No train_steps table under this root (no <code>finetune</code> or"
                    + " <code>unlearn</code> run wrote here).</p>\n</section>\n");
            return;
        }
        Map<String, List<TrainCurve>> byJob = new TreeMap<>();
        for (TrainCurve c : data.train()) {
            byJob.computeIfAbsent(c.job(), j -> new ArrayList<>()).add(c);
        }
        boolean binned = data.train().stream().anyMatch(c -> c.binWidth() > 1);
        for (Map.Entry<String, List<TrainCurve>> e : byJob.entrySet()) {
            String job = e.getKey();
            List<TrainCurve> curves = e.getValue();
            if (job.equals("unlearn")) {
                b.append("<h3>unlearn: total, forget and retain loss per run</h3>\n<div class=\"grid2\">\n");
                for (TrainCurve c : curves) {
                    String colour = colours.get(c.runId());
                    List<Series> series = new ArrayList<>();
                    series.add(new Series(c.runId(), c.runId() + " total loss", colour, null,
                            trainPoints(c, TrainPoint::loss)));
                    series.add(new Series(c.runId(), c.runId() + " forget loss", colour, "7 4",
                            trainPoints(c, TrainPoint::forgetLoss)));
                    series.add(new Series(c.runId(), c.runId() + " retain loss", colour, "2 3",
                            trainPoints(c, TrainPoint::retainLoss)));
                    b.append("<figure>").append(lineChart(series, "Loss", "unlearn losses of " + c.runId()))
                            .append("<ul class=\"legend\"><li>").append(swatch(colour)).append("<code>")
                            .append(text(c.runId())).append("</code></li>")
                            .append("<li><span class=\"dash\"></span>total</li>")
                            .append("<li><span class=\"dash\" style=\"border-top-style:dashed\"></span>forget</li>")
                            .append("<li><span class=\"dash\" style=\"border-top-style:dotted\"></span>retain</li></ul>")
                            .append("</figure>\n");
                }
                b.append("</div>\n");
            } else {
                List<Series> series = new ArrayList<>();
                for (TrainCurve c : curves) {
                    series.add(new Series(c.runId(), c.runId(), colours.get(c.runId()), null,
                            trainPoints(c, TrainPoint::loss)));
                }
                b.append("<h3>").append(text(job)).append(": total loss</h3>\n<figure>")
                        .append(lineChart(series, "Loss", job + " loss per run")).append(legend(series))
                        .append("</figure>\n");
            }
        }
        if (data.train().isEmpty()) {
            b.append("<p class=\"note\">train_steps has no rows.</p>\n");
        }
        if (binned) {
            b.append("<p class=\"note\">Long runs are drawn as means over bins of consecutive steps.</p>\n");
        }
        b.append("</section>\n");
    }

    private static List<Point> trainPoints(TrainCurve c, Function<TrainPoint, Double> value) {
        List<Point> points = new ArrayList<>();
        for (TrainPoint p : c.points()) {
            Double v = value.apply(p);
            if (v != null && Double.isFinite(v)) {
                points.add(new Point(p.step(), v, c.runId() + " step " + Html.fixed(p.step(), 0) + ": "
                        + Html.fixed(v, 4)));
            }
        }
        return points;
    }

    private static String lineChart(List<Series> series, String yTitle, String aria) {
        double xLo = Double.POSITIVE_INFINITY;
        double xHi = Double.NEGATIVE_INFINITY;
        double yLo = Double.POSITIVE_INFINITY;
        double yHi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (Point p : s.points()) {
                xLo = Math.min(xLo, p.x());
                xHi = Math.max(xHi, p.x());
                yLo = Math.min(yLo, p.y());
                yHi = Math.max(yHi, p.y());
            }
        }
        if (xLo > xHi) {
            return "<p class=\"note\">No finite values to draw.</p>";
        }
        Charts.Frame f = Charts.LINES;
        LinearScale x = LinearScale.nice(xLo, xHi, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true, 6,
                f.plotLeft(), f.plotRight());
        LinearScale y = LinearScale.nice(yLo, yHi, 0.05, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, false, 5,
                f.plotBottom(), f.plotTop());
        return Charts.lines(f, x, y, "Step", yTitle, series, false, aria);
    }

    private static String legend(List<Series> series) {
        StringBuilder b = new StringBuilder("<ul class=\"legend\">");
        Set<String> seen = new TreeSet<>();
        for (Series s : series) {
            if (seen.add(s.label())) {
                b.append("<li>").append(swatch(s.colour())).append("<code>")
                        .append(text(s.label())).append("</code></li>");
            }
        }
        return b.append("</ul>").toString();
    }

    private static void curvesSection(StringBuilder b, TreeMap<Key, List<EvalStep>> byKey, Function<Key, String> label,
            Map<String, String> colours) {
        b.append("<section id=\"curves\">\n<h2>Metrics over steps</h2>\n");
        Map<Key, List<EvalStep>> several = new LinkedHashMap<>();
        byKey.forEach((k, steps) -> {
            if (steps.size() > 1) {
                several.put(k, steps);
            }
        });
        if (several.isEmpty()) {
            b.append("<p class=\"note\">No run has more than one evaluated step.</p>\n</section>\n");
            return;
        }
        b.append("<div class=\"grid2\">\n");
        record Curve(String metric, String title, boolean log) {}
        for (Curve curve : List.of(new Curve(FORGET_QUALITY, "Forget quality", true),
                new Curve(MODEL_UTILITY, "Model utility", false),
                new Curve(FORGET_PROBABILITY, "Forget probability", false))) {
            List<Series> series = new ArrayList<>();
            double xLo = Double.POSITIVE_INFINITY;
            double xHi = Double.NEGATIVE_INFINITY;
            double yLo = Double.POSITIVE_INFINITY;
            double yHi = Double.NEGATIVE_INFINITY;
            double minPositive = Double.POSITIVE_INFINITY;
            for (Map.Entry<Key, List<EvalStep>> e : several.entrySet()) {
                List<Point> points = new ArrayList<>();
                for (EvalStep s : e.getValue()) {
                    MetricValue v = s.metric(curve.metric());
                    if (v != null && v.present()) {
                        boolean zero = curve.log() && v.value() <= 0;
                        points.add(new Point(s.step(), v.value(), label.apply(e.getKey()) + " step " + s.step() + ": "
                                + Html.metric(v.value()) + (zero ? ", drawn at the axis floor" : ""), zero));
                        xLo = Math.min(xLo, s.step());
                        xHi = Math.max(xHi, s.step());
                        yLo = Math.min(yLo, v.value());
                        yHi = Math.max(yHi, v.value());
                        if (v.value() > 0) {
                            minPositive = Math.min(minPositive, v.value());
                        }
                    }
                }
                if (!points.isEmpty()) {
                    series.add(new Series(e.getKey().runId(), label.apply(e.getKey()),
                            colours.get(e.getKey().runId()), null, points));
                }
            }
            b.append("<figure><h3>").append(text(curve.title())).append("</h3>");
            if (series.isEmpty()) {
                b.append("<p class=\"note\">No value of ").append(text(curve.metric())).append(" at any step.</p>");
            } else {
                Charts.Frame f = Charts.LINES;
                LinearScale x = LinearScale.nice(xLo, xHi, 0, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY, true,
                        6, f.plotLeft(), f.plotRight());
                Scale y = curve.log() ? LogScale.decades(Math.min(minPositive, 0.01), 1, 6, f.plotBottom(), f.plotTop())
                        : LinearScale.nice(yLo, yHi, 0.05, 0, 1, false, 5, f.plotBottom(), f.plotTop());
                b.append(Charts.lines(f, x, y, "Step", curve.title(), series, true, curve.title() + " over steps"))
                        .append(legend(series));
            }
            b.append("</figure>\n");
        }
        b.append("</div>\n</section>\n");
    }
}
