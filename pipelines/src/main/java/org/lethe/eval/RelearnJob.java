package org.lethe.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.lethe.finetune.FinetuneJob;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.job.JobRunner;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;
import org.lethe.job.JobResult;

import java.util.ArrayList;
import java.util.List;

import static org.apache.spark.sql.functions.col;

/**
 * The relearning attack ("Rethinking Machine Unlearning for LLMs", robustness): fine-tune an
 * unlearned model a few steps on a slice of the forget set (or related data), evaluate it, and
 * record how much came back. The relearned model is run {@code <run>-relearn}; the attacked run's
 * {@code eval_summary} gains {@code relearn_<metric>} rows (the relearned value) next to its own.
 */
public final class RelearnJob {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> REPORTED = List.of(EvalTables.FORGET_QUALITY, "forget_probability",
            "forget_rouge_l_recall", "forget_truth_ratio", EvalTables.MODEL_UTILITY);

    /** What the attack found: each reported metric before and after relearning. */
    public record Summary(String runId, String relearnRunId, long steps, ObjectNode before, ObjectNode after) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("relearn_run_id", relearnRunId);
            o.put("steps", steps);
            o.set("before", before);
            o.set("after", after);
            return o;
        }
    }

    private final SparkSession spark;
    private final TableStore store;
    private final JobRunner runner;

    public RelearnJob(SparkSession spark, TableStore store, String codeVersion) {
        this.spark = spark;
        this.store = store;
        this.runner = new JobRunner(spark, store, codeVersion);
    }

    /**
     * Attacks {@code modelDir} (the unlearned model of run {@code runId}, already evaluated) and
     * compares against {@code retainRun} as {@code evaluate} does. The fine-tuning and evaluation
     * of the relearned model are runs of their own ({@code <run>-relearn}).
     */
    public Summary run(RelearnRequest request, String runId, String modelDir, String retainRun) throws Exception {
        RunIds.validate(runId);
        String relearnRun = runId + "-relearn";
        long steps = request.steps();
        String split = request.split();
        FinetuneRequest finetune = request.finetune(modelDir, store.root() + "/checkpoints/" + relearnRun);
        FinetuneJob.Summary trained = runner.run(relearnRun, "finetune", finetune,
                () -> new FinetuneJob(spark, store).run(finetune, relearnRun));
        runner.run(relearnRun, "evaluate", request.evaluate(), () -> new EvaluateJob(spark, store)
                .run(request.evaluate(), relearnRun, trained.checkpoint(), retainRun));

        ObjectNode before = JSON.createObjectNode();
        ObjectNode after = JSON.createObjectNode();
        List<EvalTables.Summary> added = new ArrayList<>();
        List<EvalTables.Summary> own = new ArrayList<>();
        for (Row r : store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(runId)).collectAsList()) {
            EvalTables.Summary s = EvalTables.Summary.fromRow(r);
            if (!s.metric().startsWith("relearn_")) {
                own.add(s);
            }
        }
        if (own.isEmpty()) {
            throw new IllegalArgumentException("run " + runId + " has no eval_summary rows: evaluate it before attacking it");
        }
        long step = own.stream().mapToLong(EvalTables.Summary::step).max().orElseThrow();
        for (Row r : store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(relearnRun)
                .and(col("metric").isin(REPORTED.toArray()))).collectAsList()) {
            EvalTables.Summary s = EvalTables.Summary.fromRow(r);
            put(after, s.metric(), s.value());
            added.add(new EvalTables.Summary(runId, step, s.dataset(), s.split(), "relearn_" + s.metric(), s.value(),
                    s.n(), s.retainRunId(), s.value() == null ? s.missingReason() : null,
                    relearnRun + "@" + s.step() + ":" + s.metric() + " (" + steps + " steps on " + split + ")"));
        }
        for (EvalTables.Summary s : own) {
            if (s.step() == step && REPORTED.contains(s.metric())) {
                put(before, s.metric(), s.value());
            }
        }
        own.removeIf(s -> s.metric().startsWith("relearn_"));
        own.addAll(added);
        EvalTables.writeSummary(store, EvalTables.summaries(spark, own));
        return new Summary(runId, relearnRun, steps, before, after);
    }

    private static void put(ObjectNode o, String key, Double value) {
        if (value == null) {
            o.putNull(key);
        } else {
            o.put(key, value);
        }
    }
}
