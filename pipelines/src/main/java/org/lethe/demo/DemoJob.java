package org.lethe.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.SparkSession;
import org.lethe.data.FictitiousAuthors;
import org.lethe.data.IngestJob;
import org.lethe.data.IngestRequest;
import org.lethe.finetune.FinetuneJob;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.unlearn.UnlearnJob;
import org.lethe.unlearn.UnlearnRequest;
import org.lethe.eval.EvaluateJob;
import org.lethe.eval.EvaluateRequest;
import org.lethe.report.Report;
import org.lethe.stats.StatsJob;
import org.lethe.stats.StatsRequest;
import org.lethe.data.IngestedDataset;
import org.lethe.job.JobRunner;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The embedded demo: generate the fictitious-author benchmark, fine-tune the target model (full +
 * general) and the retain-only model (retain90 + general) from scratch, compute {@code stats} of
 * the target on forget10 / retain90, unlearn forget10 with each method of the preset, evaluate
 * everything against the retain-only model, and write the HTML report. Every step is the job the
 * CLI runs, in one Spark application; finished steps are reused on a re-run (training resumes).
 */
public final class DemoJob {

    private static final Logger LOG = LoggerFactory.getLogger(DemoJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One evaluated run of the summary table. */
    public record Row(String runId, String kind, Double forgetQuality, Double modelUtility, Double forgetRouge,
            Double forgetProbability, long forgetN, double seconds) {}

    /** What the demo did. */
    public record Summary(String preset, Path root, List<Row> rows, Path report, double seconds) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("preset", preset);
            o.put("root", root.toString());
            o.put("report", report.toString());
            o.put("seconds", Math.round(seconds));
            ArrayNode a = o.putArray("runs");
            for (Row r : rows) {
                ObjectNode n = a.addObject();
                n.put("run_id", r.runId());
                n.put("kind", r.kind());
                put(n, "forget_quality", r.forgetQuality());
                put(n, "model_utility", r.modelUtility());
                put(n, "forget_rouge_l_recall", r.forgetRouge());
                put(n, "forget_probability", r.forgetProbability());
                n.put("forget_n", r.forgetN());
            }
            return o;
        }

        /** The summary table as fixed-width text. */
        public String table() {
            StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-14s %-9s %14s %13s %13s %13s %6s%n",
                    "run", "kind", "forget_quality", "model_utility", "forget_rouge", "forget_prob", "n"));
            for (Row r : rows) {
                b.append(String.format(Locale.ROOT, "%-14s %-9s %14s %13s %13s %13s %6d%n", r.runId(), r.kind(),
                        fmt(r.forgetQuality(), "%.3e"), fmt(r.modelUtility(), "%.4f"), fmt(r.forgetRouge(), "%.4f"),
                        fmt(r.forgetProbability(), "%.4f"), r.forgetN()));
            }
            return b.toString();
        }
    }

    private final SparkSession spark;
    private final String codeVersion;

    public DemoJob(SparkSession spark, String codeVersion) {
        this.spark = spark;
        this.codeVersion = codeVersion;
    }

    /** Runs the demo of {@code request} under {@code root}: everything it writes goes there. */
    public Summary run(DemoRequest request, Path root) throws Exception {
        long begin = System.nanoTime();
        Path bench = root.resolve("bench");
        if (!Files.isRegularFile(bench.resolve("manifest.json"))) {
            LOG.info("demo: generating the benchmark under {}", bench);
            DemoRequest.Preset p = request.preset();
            FictitiousAuthors.generate(p.seed(), p.authors(), p.questions()).write(bench, p.vocabSize());
        }
        TableStore store = new TableStore(spark, root.resolve("tables").toString());
        JobRunner runner = new JobRunner(spark, store, codeVersion);
        return runner.run("demo-" + request.name(), "demo", request, () -> demo(runner, request, root, begin));
    }

    private Summary demo(JobRunner runner, DemoRequest request, Path root, long begin) throws Exception {
        TableStore store = runner.store();
        Path bench = root.resolve("bench");
        Path checkpoints = root.resolve("checkpoints");
        IngestRequest ingest = request.ingest(bench);
        String ingestRun = IngestedDataset.defaultRun(DemoRequest.DATASET);
        runner.run(ingestRun, "ingest", ingest, () -> new IngestJob(spark, store).run(ingest, ingestRun));

        List<Row> rows = new ArrayList<>();
        Path tokenizer = bench.resolve("tokenizer.json");
        String target = finetune(runner, request.finetune(tokenizer, List.of("full", "general"),
                checkpoints.resolve("target")), "target");
        String retain = finetune(runner, request.finetune(tokenizer, List.of("retain90", "general"),
                checkpoints.resolve("retain")), "retain");

        EvaluateRequest eval = request.evaluate();
        rows.add(evaluate(runner, eval, "retain", retain, "retain", "baseline"));
        rows.add(evaluate(runner, eval, "target", target, "retain", "baseline"));

        if (request.preset().stats()) {
            long t = System.nanoTime();
            StatsRequest stats = request.stats();
            StatsJob.Summary s = runner.run("target-stats", "stats", stats,
                    () -> new StatsJob(spark, store).run(stats, "target-stats", target));
            LOG.info("demo: stats of the target in {} s: {}", seconds(t), s.toJson());
        }

        for (String method : request.preset().methods()) {
            String id = method.replace('+', '_');
            long t = System.nanoTime();
            UnlearnRequest unlearn = request.unlearn(method, target, checkpoints.resolve(id));
            UnlearnJob.Summary u = runner.run(id, "unlearn", unlearn, () -> new UnlearnJob(spark, store).run(unlearn, id));
            Row r = evaluate(runner, eval, id, u.checkpoint(), "retain", method);
            rows.add(new Row(r.runId(), r.kind(), r.forgetQuality(), r.modelUtility(), r.forgetRouge(),
                    r.forgetProbability(), r.forgetN(), r.seconds() + seconds(t)));
        }
        Path report = root.resolve("report.html");
        Report.write(store, report, Instant.now());
        return new Summary(request.name(), root, rows, report, seconds(begin));
    }

    private String finetune(JobRunner runner, FinetuneRequest request, String id) throws Exception {
        long t = System.nanoTime();
        FinetuneJob.Summary s = runner.run(id, "finetune", request,
                () -> new FinetuneJob(spark, runner.store()).run(request, id));
        LOG.info("demo: {} trained in {} s ({} steps, loss {} -> {})", id, seconds(t), s.steps(), s.firstLoss(),
                s.lastLoss());
        return s.checkpoint();
    }

    private Row evaluate(JobRunner runner, EvaluateRequest request, String id, String model, String retainRun,
            String kind) throws Exception {
        long t = System.nanoTime();
        EvaluateJob.Summary s = runner.run(id, "evaluate", request,
                () -> new EvaluateJob(spark, runner.store()).run(request, id, model, retainRun));
        return new Row(id, kind, s.value("forget_quality"), s.value("model_utility"), s.value("forget_rouge_l_recall"),
                s.value("forget_probability"), s.items().getOrDefault("forget", 0L), seconds(t));
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }

    private static String fmt(Double v, String f) {
        return v == null ? "NULL" : String.format(Locale.ROOT, f, v);
    }

    private static void put(ObjectNode o, String k, Double v) {
        if (v == null) {
            o.putNull(k);
        } else {
            o.put(k, v);
        }
    }
}
