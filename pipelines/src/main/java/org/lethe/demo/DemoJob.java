package org.lethe.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.SparkSession;
import org.lethe.config.LetheConfig;
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
    private static final String DATASET = "synth";

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
    private final LetheConfig config;
    private final String codeVersion;

    public DemoJob(SparkSession spark, LetheConfig config, String codeVersion) {
        this.spark = spark;
        this.config = config;
        this.codeVersion = codeVersion;
    }

    /** Runs the demo of {@code preset} under {@code root}. */
    public Summary run(Path root, String preset) throws Exception {
        String p = "demo." + preset + ".";
        if (!preset.matches("[a-z]+") || !config.has("demo." + preset)) {
            throw new IllegalArgumentException("--preset: unknown '" + preset + "' (expected quick or full)");
        }
        long begin = System.nanoTime();
        Path bench = root.resolve("bench");
        Path tables = root.resolve("tables");
        Path checkpoints = root.resolve("checkpoints");
        if (!Files.isRegularFile(bench.resolve("manifest.json"))) {
            LOG.info("demo: generating the benchmark under {}", bench);
            FictitiousAuthors.generate(config.getLong(p + "seed"), config.getInt(p + "authors"),
                    config.getInt(p + "questions")).write(bench, config.getInt(p + "vocab_size"));
        }
        TableStore store = new TableStore(spark, tables.toString());
        JobRunner runner = new JobRunner(spark, store, codeVersion);
        return runner.run("demo-" + preset, "demo", config, () -> demo(runner, root, preset, bench, checkpoints, begin));
    }

    private Summary demo(JobRunner runner, Path root, String preset, Path bench, Path checkpoints, long begin)
            throws Exception {
        String p = "demo." + preset + ".";
        TableStore store = runner.store();
        String ingestRun = IngestedDataset.defaultRun(DATASET);
        runner.run(ingestRun, "ingest", config, () -> new IngestJob(spark, store).run(IngestRequest.of(config,
                IngestJob.Format.TOFU, bench.toString(), DATASET, null, true, null), ingestRun));

        List<Row> rows = new ArrayList<>();
        List<String> train = List.of("train.dataset=" + DATASET, "train.tokenizer=" + bench.resolve("tokenizer.json"),
                "train.init_preset=" + config.getString(p + "model_preset"), "train.init_seed=0",
                "train.epochs=" + config.getInt(p + "finetune_epochs"),
                "train.batch_size=" + config.getInt(p + "finetune_batch_size"),
                "train.lr=" + config.getDouble(p + "finetune_lr"),
                "train.warmup_steps=" + config.getInt(p + "finetune_warmup_steps"), "train.resume=true");
        String target = finetune(runner, train, "target", "[full, general]", checkpoints);
        String retain = finetune(runner, train, "retain", "[retain90, general]", checkpoints);

        List<String> eval = List.of("eval.dataset=" + DATASET,
                "eval.max_new_tokens=" + config.getInt(p + "eval_max_new_tokens"),
                "eval.mia_gradient_norm=" + config.getBoolean(p + "eval_gradient_norm"));
        rows.add(evaluate(runner, eval, "retain", retain, "retain", "baseline"));
        rows.add(evaluate(runner, eval, "target", target, "retain", "baseline"));

        if (config.getBoolean(p + "stats")) {
            long t = System.nanoTime();
            StatsRequest request = StatsRequest.builder(config).dataset(DATASET).holdoutSplit("").build();
            StatsJob.Summary s = runner.run("target-stats", "stats", request.provenance(),
                    () -> new StatsJob(spark, store).run(request, "target-stats", target));
            LOG.info("demo: stats of the target in {} s: {}", seconds(t), s.toJson());
        }

        for (String method : config.getStringList(p + "methods")) {
            String id = method.replace('+', '_');
            long t = System.nanoTime();
            LetheConfig c = config.with(List.of("unlearn.dataset=" + DATASET, "unlearn.model=" + target,
                    "unlearn.method=" + method, "unlearn.epochs=" + config.getInt(p + "unlearn_epochs"),
                    "unlearn.batch_size=" + config.getInt(p + "unlearn_batch_size"),
                    "unlearn.lr=" + config.getDouble(p + "unlearn_lr"), "unlearn.output=" + checkpoints.resolve(id)));
            UnlearnJob.Summary u = runner.run(id, "unlearn", c,
                    () -> new UnlearnJob(spark, store).run(UnlearnRequest.of(c), id));
            Row r = evaluate(runner, eval, id, u.checkpoint(), "retain", method);
            rows.add(new Row(r.runId(), r.kind(), r.forgetQuality(), r.modelUtility(), r.forgetRouge(),
                    r.forgetProbability(), r.forgetN(), r.seconds() + seconds(t)));
        }
        Path report = root.resolve("report.html");
        Report.write(store, report, Instant.now());
        return new Summary(preset, root, rows, report, seconds(begin));
    }

    private String finetune(JobRunner runner, List<String> train, String id, String splits, Path checkpoints)
            throws Exception {
        List<String> sets = new ArrayList<>(train);
        sets.add("train.splits=" + splits);
        sets.add("train.output=" + checkpoints.resolve(id));
        LetheConfig c = config.with(sets);
        long t = System.nanoTime();
        FinetuneJob.Summary s = runner.run(id, "finetune", c, () -> new FinetuneJob(spark, runner.store())
                .run(FinetuneRequest.of(c), id));
        LOG.info("demo: {} trained in {} s ({} steps, loss {} -> {})", id, seconds(t), s.steps(), s.firstLoss(),
                s.lastLoss());
        return s.checkpoint();
    }

    private Row evaluate(JobRunner runner, List<String> eval, String id, String model, String retainRun, String kind)
            throws Exception {
        LetheConfig c = config.with(eval);
        long t = System.nanoTime();
        EvaluateJob.Summary s = runner.run(id, "evaluate", c,
                () -> new EvaluateJob(spark, runner.store()).run(EvaluateRequest.of(c), id, model, retainRun));
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
