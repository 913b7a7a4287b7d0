package org.lethe.report;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.ceil;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.get_json_object;
import static org.apache.spark.sql.functions.greatest;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.lethe.eval.EvalTables;
import org.lethe.report.ReportData.EvalStep;
import org.lethe.report.ReportData.MetricValue;
import org.lethe.report.ReportData.RunInfo;
import org.lethe.report.ReportData.TrainCurve;
import org.lethe.report.ReportData.TrainPoint;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;

/**
 * The HTML report of a table root: forget quality against model utility per run (TOFU's
 * figure), the summary table at each run's latest step, loss curves from {@code train_steps} and
 * metric curves over evaluated steps, as one self-contained page written atomically.
 *
 * <p>Only small aggregates reach the driver: the reported eval_summary metrics, train_steps
 * binned on the executors to at most {@link #MAX_POINTS} points per run and job, and the runs rows.
 */
public final class Report {

    /** Points per loss curve: longer runs are drawn as means over bins of consecutive steps. */
    public static final int MAX_POINTS = 400;

    static final String TRAIN_STEPS = "train_steps";

    private Report() {}

    /** What {@link #write} wrote. */
    public record Result(Path out, long bytes, int runs, int plotted, int notPlotted, int trainCurves) {

        public ObjectNode toJson() {
            ObjectNode json = new ObjectMapper().createObjectNode();
            json.put("out", out.toString());
            json.put("bytes", bytes);
            json.put("runs", runs);
            json.put("plotted", plotted);
            json.put("not_plotted", notPlotted);
            json.put("train_curves", trainCurves);
            return json;
        }
    }

    /**
     * Renders the report of {@code store}'s tables to {@code out} (an HTML file, replaced
     * atomically; missing parent directories are created).
     *
     * @throws IllegalArgumentException when the root has no eval_summary table, or {@code out} is a directory
     */
    public static Result write(TableStore store, Path out, Instant generatedAt) {
        if (Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " is a directory: give the HTML file to write");
        }
        ReportData data = load(store);
        ReportPage.Page page = ReportPage.render(data, generatedAt);
        byte[] bytes = page.html().getBytes(StandardCharsets.UTF_8);
        writeAtomically(out, bytes);
        return new Result(out, bytes.length, page.runs(), page.plotted(), page.notPlotted(), data.train().size());
    }

    /** Reads the aggregates a report draws from {@code store}. */
    static ReportData load(TableStore store) {
        if (!store.exists(EvalTables.EVAL_SUMMARY)) {
            throw new IllegalArgumentException("no eval_summary table under " + store.root() + ": evaluate a model"
                    + " first (lethe evaluate) or import an evaluation log (lethe import-eval)");
        }
        List<EvalStep> evals = evalSteps(store);
        boolean hasTrainSteps = store.exists(TRAIN_STEPS);
        List<TrainCurve> train = hasTrainSteps ? trainCurves(store) : List.of();
        Map<String, RunInfo> runs = store.exists(Runs.TABLE) ? runInfo(store) : Map.of();
        return new ReportData(store.root(), evals, train, runs, hasTrainSteps);
    }

    private static List<EvalStep> evalSteps(TableStore store) {
        List<Row> rows = store.read(EvalTables.EVAL_SUMMARY)
                .where(col("metric").isin(ReportPage.METRICS.toArray()))
                .select("run_id", "dataset", "step", "metric", "value", "n", "missing_reason", "retain_run_id")
                .collectAsList();
        record StepKey(String runId, String dataset, long step) {}
        Map<StepKey, Map<String, MetricValue>> byStep = new LinkedHashMap<>();
        for (Row r : rows) {
            StepKey key = new StepKey(r.getString(0), r.getString(1), r.getLong(2));
            Double value = r.isNullAt(4) ? null : r.getDouble(4);
            long n = r.isNullAt(5) ? 0 : r.getLong(5);
            byStep.computeIfAbsent(key, k -> new HashMap<>())
                    .put(r.getString(3), new MetricValue(value, n, r.getString(6), r.getString(7)));
        }
        List<EvalStep> steps = new ArrayList<>();
        byStep.forEach((k, metrics) -> steps.add(new EvalStep(k.runId(), k.dataset(), k.step(), metrics)));
        steps.sort(Comparator.comparing(EvalStep::runId).thenComparing(EvalStep::dataset)
                .thenComparingLong(EvalStep::step));
        return steps;
    }

    /** Per (run, job), the losses binned on the executors into at most {@link #MAX_POINTS} bins of equal width. */
    private static List<TrainCurve> trainCurves(TableStore store) {
        WindowSpec perRun = Window.partitionBy("run_id", "job");
        Dataset<Row> steps = store.read(TRAIN_STEPS)
                .select(col("run_id"), coalesce(col("job"), lit("train")).as("job"), col("step"), col("loss"),
                        col("forget_loss"), col("retain_loss"))
                .withColumn("lo", min("step").over(perRun))
                .withColumn("hi", max("step").over(perRun))
                .withColumn("steps", count(lit(1)).over(perRun));
        steps = steps.withColumn("width", greatest(lit(1L), ceil(col("hi").minus(col("lo")).plus(1).divide(MAX_POINTS))))
                .withColumn("bin", floor(col("step").minus(col("lo")).divide(col("width"))));
        List<Row> rows = steps.groupBy("run_id", "job", "bin", "steps", "width")
                .agg(avg("step"), avg("loss"), avg("forget_loss"), avg("retain_loss"))
                .orderBy("run_id", "job", "bin")
                .collectAsList();
        record CurveKey(String runId, String job, long steps, long width) {}
        Map<CurveKey, List<TrainPoint>> curves = new LinkedHashMap<>();
        for (Row r : rows) {
            CurveKey key = new CurveKey(r.getString(0), r.getString(1), r.getLong(3), r.getLong(4));
            curves.computeIfAbsent(key, k -> new ArrayList<>()).add(new TrainPoint(r.getDouble(5), r.getDouble(6),
                    r.isNullAt(7) ? null : r.getDouble(7), r.isNullAt(8) ? null : r.getDouble(8)));
        }
        List<TrainCurve> out = new ArrayList<>();
        curves.forEach((k, points) -> out.add(new TrainCurve(k.runId(), k.job(), k.steps(), k.width(), points)));
        return out;
    }

    /** Each run's jobs in start order: the unlearning method from the unlearn job's config, a status unless SUCCEEDED. */
    private static Map<String, RunInfo> runInfo(TableStore store) {
        List<Row> rows = new Runs(store).collect(runs -> runs.select(col("run_id"), col("job"), col("status"),
                col("started_at"), get_json_object(col("config_json"), "$.lethe.unlearn.method").as("method")));
        List<Row> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparing((Row r) -> r.getString(0))
                .thenComparing(r -> startedAt(r.get(3)))
                .thenComparing(r -> r.getString(1)));
        Map<String, List<String>> jobs = new LinkedHashMap<>();
        for (Row r : sorted) {
            String job = r.getString(1);
            String status = r.getString(2);
            String method = r.getString(4);
            String text = job + ("unlearn".equals(job) && method != null ? " (" + method + ")" : "")
                    + ("SUCCEEDED".equals(status) ? "" : " [" + status + "]");
            jobs.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(text);
        }
        Map<String, RunInfo> info = new LinkedHashMap<>();
        jobs.forEach((run, list) -> info.put(run, new RunInfo(run, list)));
        return info;
    }

    // Timestamp normally; Instant when spark.sql.datetime.java8API.enabled is set.
    private static Instant startedAt(Object value) {
        if (value == null) {
            return Instant.EPOCH;
        }
        return value instanceof Instant i ? i : ((Timestamp) value).toInstant();
    }

    /** Writes {@code bytes} to a temporary file beside {@code out}, then renames it over {@code out}. */
    static void writeAtomically(Path out, byte[] bytes) {
        Path target = out.toAbsolutePath();
        Path dir = target.getParent();
        Path temp = null;
        try {
            Files.createDirectories(dir);
            temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            Files.write(temp, bytes);
            try {
                // createTempFile makes it owner-only; a report is for reading
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep its default
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getFile()
                    + " exists and is not a directory", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e, e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    // the write already failed; that error is the one to report
                }
            }
        }
    }
}
