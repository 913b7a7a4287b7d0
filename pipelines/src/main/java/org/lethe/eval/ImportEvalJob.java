package org.lethe.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.lethe.data.IngestedDataset;
import org.lethe.eval.EvalTables.Sample;
import org.lethe.eval.EvalTables.Summary;
import org.lethe.store.Fingerprints;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Imports another tool's evaluation log as a Lethe run: its per-sample values become {@code
 * eval_samples} rows (sample ids resolved where possible against the ingested {@code examples} of
 * the dataset's default ingest run), then {@link EvalAggregation} computes the run's {@code
 * eval_summary}, exactly as for Lethe's own evaluations. Re-importing a run id replaces its rows.
 * It reads no config: its request is the command's options.
 */
public final class ImportEvalJob {

    private static final Logger LOG = LoggerFactory.getLogger(ImportEvalJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Log formats. */
    public enum Format {
        /** TOFU's {@code *_eval_log_aggregated.json}. */
        TOFU_LOG("tofu-log"),
        /** open-unlearning's {@code TOFU_EVAL.json}. */
        OPEN_UNLEARNING("open-unlearning");

        private final String cliName;

        Format(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.cliName.equals(s)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("--format: unknown '" + s + "' (expected tofu-log or open-unlearning)");
        }
    }

    /**
     * What to import.
     *
     * @param forgetSplit the ingested split the log's forget set is (forget01, forget05, forget10):
     *     matched forget samples must be its members when the dataset's memberships are ingested
     * @param retainRunId the retain model's run for forget quality and privleak, or null
     */
    public record Request(Format format, Path input, String runId, String forgetSplit, String retainRunId,
                          String dataset, long step) {

        public Request {
            RunIds.validate(runId);
            RunIds.validate(forgetSplit, "--forget-split");
            RunIds.validate(dataset, "--dataset");
            if (retainRunId != null) {
                RunIds.validate(retainRunId, "--retain-run");
            }
            if (step < 0) {
                throw new IllegalArgumentException("--step must be >= 0, got " + step);
            }
        }

        /** The ingested data sample ids are resolved against: {@code dataset}'s default ingest run. */
        public IngestedDataset.Ref data() {
            return IngestedDataset.Ref.of(dataset, null);
        }
    }

    /** The import's result, printed as the job's JSON. */
    public record Result(Request request, long evalSamples, Map<String, Integer> samplesBySplit, int idsFromExamples,
                         int idsFromIndex, List<String> skipped, Map<String, Double> reported,
                         List<Summary> summary, String dataFingerprint) implements JobResult {

        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", request.runId());
            o.put("format", request.format().cliName());
            o.put("input", request.input().toString());
            o.put("dataset", request.dataset());
            o.put("step", request.step());
            o.put("forget_split", request.forgetSplit());
            o.put("retain_run_id", request.retainRunId());
            o.put("eval_samples", evalSamples);
            ObjectNode splits = o.putObject("samples_by_split");
            samplesBySplit.forEach(splits::put);
            ObjectNode ids = o.putObject("sample_ids");
            ids.put("from_examples", idsFromExamples);
            ids.put("from_index", idsFromIndex);
            o.put("eval_summary", summary.size());
            ObjectNode aggregates = o.putObject("aggregates");
            for (Summary s : summary) {
                if (s.split() == null || s.metric().equals(EvalTables.FORGET_QUALITY)
                        || s.metric().equals(EvalTables.FORGET_EFFICACY)) {
                    aggregates.put(s.metric(), s.value());
                }
            }
            if (!reported.isEmpty()) {
                ObjectNode r = o.putObject("reported_by_log");
                reported.forEach(r::put);
            }
            skipped.forEach(o.putArray("skipped")::add);
            o.put("data_fingerprint", dataFingerprint);
            return o;
        }
    }

    private final SparkSession spark;
    private final TableStore store;

    public ImportEvalJob(SparkSession spark, TableStore store) {
        this.spark = spark;
        this.store = store;
    }

    /** Imports the log, writes {@code eval_samples} then {@code eval_summary} of the run. */
    public Result run(Request request) {
        Path input = request.input();
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("--input " + input + ": no such file");
        }
        EvalLogs.Parsed log = switch (request.format()) {
            case TOFU_LOG -> EvalLogs.tofuLog(input);
            case OPEN_UNLEARNING -> EvalLogs.openUnlearning(input);
        };
        SampleIds ids = resolveIds(request, log);
        List<Sample> samples = new ArrayList<>(log.values().size());
        Set<String> seen = new HashSet<>();
        for (EvalLogs.Value v : log.values()) {
            if (!seen.add(v.split() + "\u0000" + v.index() + "\u0000" + v.metric())) {
                throw new IllegalArgumentException(input + ": two entries give " + v.split() + "." + v.metric()
                        + " of sample \"" + v.index() + "\"");
            }
            samples.add(new Sample(request.runId(), request.step(), request.dataset(), v.split(),
                    ids.of(v.split(), v.index()), v.metric(), v.value(), v.generation()));
        }
        EvalTables.writeSamples(store, EvalTables.samples(spark, samples));
        List<Summary> summary = EvalAggregation.summarizeToStore(store, request.runId(), request.retainRunId());
        LOG.info("import-eval {}: {} eval_samples rows, {} eval_summary rows", request.runId(), samples.size(),
                summary.size());
        warnOnDisagreement(request, log.reported(), summary);

        Map<String, Integer> bySplit = new TreeMap<>();
        Set<String> counted = new HashSet<>();
        for (Sample s : samples) {
            if (counted.add(s.split() + "\u0000" + s.sampleId())) {
                bySplit.merge(s.split(), 1, Integer::sum);
            }
        }
        String fingerprint = Fingerprints.sha256(new org.apache.hadoop.fs.Path(input.toUri()),
                spark.sparkContext().hadoopConfiguration());
        return new Result(request, samples.size(), bySplit, ids.fromExamples, ids.fromIndex, log.skipped(),
                log.reported(), summary, fingerprint);
    }

    /**
     * The log's own aggregates are not used, but a disagreement with ours is worth a warning: a
     * different retain run, or a format change upstream.
     */
    private static void warnOnDisagreement(Request request, Map<String, Double> reported, List<Summary> summary) {
        for (Summary s : summary) {
            Double theirs = reported.get(s.metric());
            if (theirs != null && s.value() != null
                    && Math.abs(theirs - s.value()) > 1e-6 * Math.max(1, Math.abs(s.value()))) {
                LOG.warn("import-eval {}: {} is {} here but {} in {}", request.runId(), s.metric(), s.value(), theirs,
                        request.input());
            }
        }
    }

    /** Sample ids of (eval set, log index): the ingested example's id when found, else {@code <dataset>:<set>:<index>}. */
    private static final class SampleIds {
        final Map<String, String> ids = new HashMap<>();
        final String dataset;
        int fromExamples;
        int fromIndex;

        SampleIds(String dataset) {
            this.dataset = dataset;
        }

        String of(String split, String index) {
            return ids.computeIfAbsent(split + "\u0000" + index, k -> {
                fromIndex++;
                return dataset + ":" + split + ":" + index;
            });
        }
    }

    /** An ingested example: its question, answer and id. */
    private record Example(String question, String answer, String sampleId) {}

    /**
     * Finds the ingested example of each logged item: same answer (whitespace-normalized) and a
     * question contained in the logged prompt, which carries the chat template; the longest such
     * question wins. A second item resolving to an example already taken keeps its index id.
     */
    private SampleIds resolveIds(Request request, EvalLogs.Parsed log) {
        SampleIds ids = new SampleIds(request.dataset());
        // Nothing ingested: every item keeps its index id (importing needs no ingest). Any ingest run
        // of the dataset serves: items are matched by content.
        IngestedDataset data = IngestedDataset.everyRun(store, request.dataset());
        if (!data.hasExamples()) {
            return ids;
        }
        Map<String, List<Example>> byAnswer = new HashMap<>();
        for (Row row : data.examples().select("question", "answer", "sample_id").distinct().collectAsList()) {
            Example e = new Example(row.getString(0), row.getString(1), row.getString(2));
            byAnswer.computeIfAbsent(normalize(e.answer()), k -> new ArrayList<>()).add(e);
        }
        if (byAnswer.isEmpty()) {
            return ids;
        }
        List<String> forgetMatched = new ArrayList<>();
        for (Map.Entry<String, Map<String, EvalLogs.Item>> set : log.items().entrySet()) {
            String split = set.getKey();
            Set<String> taken = new HashSet<>();
            for (Map.Entry<String, EvalLogs.Item> item : set.getValue().entrySet()) {
                Example match = match(byAnswer, item.getValue());
                if (match != null && taken.add(match.sampleId())) {
                    ids.ids.put(split + "\u0000" + item.getKey(), match.sampleId());
                    ids.fromExamples++;
                    if (split.equals(EvalTables.FORGET)) {
                        forgetMatched.add(match.sampleId());
                    }
                }
            }
        }
        checkForgetSplit(request, data, forgetMatched);
        LOG.info("import-eval {}: {} logged items matched to examples of dataset {}", request.runId(),
                ids.fromExamples, request.dataset());
        return ids;
    }

    private static Example match(Map<String, List<Example>> byAnswer, EvalLogs.Item item) {
        List<Example> candidates = byAnswer.get(normalize(item.groundTruth()));
        if (candidates == null) {
            return null;
        }
        String prompt = normalize(item.input());
        Example best = null;
        for (Example e : candidates) {
            String q = normalize(e.question());
            if (!q.isEmpty() && prompt.contains(q) && (best == null || q.length() > normalize(best.question()).length())) {
                best = e;
            }
        }
        return best;
    }

    /** The forget items found among the examples must be members of {@code --forget-split}, when memberships say. */
    private static void checkForgetSplit(Request request, IngestedDataset data, List<String> forgetMatched) {
        if (forgetMatched.isEmpty() || !data.hasMemberships()) {
            return;
        }
        Set<String> members = new HashSet<>();
        for (Row row : data.ids(request.forgetSplit()).collectAsList()) {
            members.add(row.getString(0));
        }
        if (members.isEmpty()) {
            throw new IllegalArgumentException("--forget-split " + request.forgetSplit() + ": dataset "
                    + request.dataset() + " has no such split in memberships");
        }
        long outside = forgetMatched.stream().filter(id -> !members.contains(id)).count();
        if (outside > 0) {
            throw new IllegalArgumentException("--forget-split " + request.forgetSplit() + ": " + outside + " of "
                    + forgetMatched.size() + " forget samples of the log are not in that split of dataset "
                    + request.dataset());
        }
    }

    private static String normalize(String s) {
        return s.strip().replaceAll("\\s+", " ");
    }
}
