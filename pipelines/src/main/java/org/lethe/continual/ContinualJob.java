package org.lethe.continual;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.lethe.data.IngestedDataset;
import org.lethe.distributed.Checkpoints;
import org.lethe.finetune.FinetuneJob;
import org.lethe.unlearn.UnlearnJob;
import org.lethe.finetune.FinetuneRequest;
import org.lethe.eval.EvalTables;
import org.lethe.eval.EvaluateJob;
import org.lethe.job.JobRunner;
import org.lethe.store.RunIds;
import org.lethe.store.RunRecord;
import org.lethe.store.RunStatus;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;
import org.lethe.job.JobResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

/**
 * The {@code continual} job: applies the due unlearning requests ({@link Requests}) one after the
 * other, each from the checkpoint the previous one produced, evaluates after each against a
 * retain-only model trained without everything forgotten so far, and records the lineage
 * (sustainability: utility after each request; scalability: results against the cumulative forget
 * size) in {@code continual_lineage}. A request that SUCCEEDED is never redone; one that failed or
 * was killed resumes from its last checkpoint.
 */
public final class ContinualJob {

    private static final Logger LOG = LoggerFactory.getLogger(ContinualJob.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String LINEAGE = Tables.CONTINUAL_LINEAGE;

    /** The columns of {@code continual_lineage}; {@code run_id} (the store key) equals {@code request_id}. */
    public static final StructType LINEAGE_SCHEMA = Tables.columns(Tables.CONTINUAL_LINEAGE);

    /** One applied request, as recorded in {@code continual_lineage}. */
    public record Step(String requestId, int sequence, String parentRequestId, String parentCheckpoint,
            String checkpoint, String weightsSha256, String refModel, String method, String selector,
            long forgetSamples, long cumulativeForgetSamples, String retainRunId, Double forgetQuality,
            Double modelUtility, Double forgetTruthRatio, Double forgetRougeLRecall, Double forgetProbability,
            String continualRunId, LocalDate runDate, Instant finishedAt, String dataset) {

        Row row() {
            return RowFactory.create(requestId, sequence, parentRequestId, parentCheckpoint, checkpoint, weightsSha256,
                    refModel, method, selector, forgetSamples, cumulativeForgetSamples, retainRunId, forgetQuality,
                    modelUtility, forgetTruthRatio, forgetRougeLRecall, forgetProbability, continualRunId,
                    java.sql.Date.valueOf(runDate), Timestamp.from(finishedAt), dataset, requestId);
        }

        static Step of(Row r) {
            Object date = r.getAs("run_date");
            Object at = r.getAs("finished_at");
            return new Step(r.getAs("request_id"), r.<Integer>getAs("sequence"), r.getAs("parent_request_id"),
                    r.getAs("parent_checkpoint"), r.getAs("checkpoint"), r.getAs("weights_sha256"), r.getAs("ref_model"),
                    r.getAs("method"), r.getAs("selector"), r.<Long>getAs("forget_samples"),
                    r.<Long>getAs("cumulative_forget_samples"), r.getAs("retain_run_id"), r.getAs("forget_quality"),
                    r.getAs("model_utility"), r.getAs("forget_truth_ratio"), r.getAs("forget_rouge_l_recall"),
                    r.getAs("forget_probability"), r.getAs("continual_run_id"),
                    date instanceof LocalDate d ? d : ((java.sql.Date) date).toLocalDate(),
                    at instanceof Instant i ? i : ((Timestamp) at).toInstant(),
                    r.schema().getFieldIndex("dataset").isDefined() ? r.getAs("dataset") : null);
        }

        ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("request_id", requestId);
            o.put("sequence", sequence);
            o.put("method", method);
            o.put("selector", selector);
            o.put("checkpoint", checkpoint);
            o.put("forget_samples", forgetSamples);
            o.put("cumulative_forget_samples", cumulativeForgetSamples);
            o.put("retain_run_id", retainRunId);
            putNullable(o, "forget_quality", forgetQuality);
            putNullable(o, "model_utility", modelUtility);
            putNullable(o, "forget_rouge_l_recall", forgetRougeLRecall);
            putNullable(o, "forget_probability", forgetProbability);
            return o;
        }
    }

    /**
     * What one continual run did: the requests it applied, or none because none was due or because
     * another run holds the lineage's lease ({@code heldBy} names it).
     */
    public record Summary(String runId, LocalDate runDate, List<Step> applied, int due, String lastCheckpoint,
            String heldBy) implements JobResult {
        public ObjectNode toJson() {
            ObjectNode o = JSON.createObjectNode();
            o.put("run_id", runId);
            o.put("run_date", runDate.toString());
            o.put("due", due);
            ArrayNode a = o.putArray("applied");
            applied.forEach(s -> a.add(s.toJson()));
            o.put("checkpoint", lastCheckpoint);
            if (heldBy != null) {
                o.put("held_by", heldBy);
            }
            return o;
        }

        @Override
        public boolean stoodAside() {
            return heldBy != null;
        }
    }

    private final SparkSession spark;
    private final TableStore store;
    private final JobRunner runner;
    private LineageLease lease;
    /** What a successful claim read under the lease: the due requests and the lineage so far. */
    private Claimed claimed;

    private record Claimed(List<Requests.Request> due, List<Step> lineage) {}

    public ContinualJob(SparkSession spark, TableStore store, String codeVersion) {
        this.spark = spark;
        this.store = store;
        this.runner = new JobRunner(spark, store, codeVersion);
    }

    /**
     * Claims the work of a run on {@code runDate}: empty when this job now holds the lineage's
     * lease and requests are due (then {@link #run} applies them); otherwise what the run amounts
     * to, having written nothing: no request is due, or another live run holds the lease (the
     * summary names it). Taking the lease reconciles {@code requests} with the lineage first (a run
     * that died between committing a lineage step and marking its request leaves it RUNNING).
     */
    public Optional<Summary> claim(ContinualRequest s, LocalDate runDate, String runId) {
        RunIds.validate(runId);
        if (lease != null) {
            return Optional.empty();
        }
        String dataset = s.data().dataset();
        Requests requests = new Requests(spark, store);
        if (requests.due(dataset, runDate, s.maxAttempts()).isEmpty()) {
            return Optional.of(idle(s, lineage(dataset), runDate, runId, null));
        }
        LineageLease.Attempt attempt = LineageLease.acquire(spark, store, dataset, runId, s.leaseTtl());
        if (attempt.lease().isEmpty()) {
            LineageLease.State holder = attempt.heldBy().orElseThrow();
            LOG.info("continual {}: the lineage of dataset {} is leased to {}; nothing done", runId, dataset,
                    holder.describe());
            return Optional.of(idle(s, lineage(dataset), runDate, runId, holder.describe()));
        }
        lease = attempt.lease().get();
        try {
            // Read again under the lease: another run may have applied requests since the check above.
            List<Step> steps = lineage(dataset);
            List<Requests.Request> all = new ArrayList<>(requests.all());
            List<Requests.Request> stale = reconciled(all, steps);
            if (!stale.isEmpty()) {
                LOG.warn("continual {}: requests {} are in the lineage but were not marked SUCCEEDED; marked now", runId,
                        stale.stream().map(Requests.Request::requestId).toList());
                requests.write(stale.toArray(new Requests.Request[0]));
                for (Requests.Request fixed : stale) {
                    all.replaceAll(r -> r.requestId().equals(fixed.requestId()) ? fixed : r);
                }
            }
            List<Requests.Request> due = Requests.due(all, dataset, runDate, s.maxAttempts());
            if (due.isEmpty()) {
                release();
                return Optional.of(idle(s, steps, runDate, runId, null));
            }
            claimed = new Claimed(due, steps);
            return Optional.empty();
        } catch (RuntimeException | Error e) {
            release();
            throw e;
        }
    }

    /** The requests the lineage holds that are not marked SUCCEEDED among {@code all}, as they should read. */
    private static List<Requests.Request> reconciled(List<Requests.Request> all, List<Step> lineage) {
        List<Requests.Request> fixed = new ArrayList<>();
        java.util.Map<String, Requests.Request> byId = new java.util.HashMap<>();
        all.forEach(r -> byId.put(r.requestId(), r));
        for (Step step : lineage) {
            Requests.Request r = byId.get(step.requestId());
            if (r != null && r.status() != Requests.Status.SUCCEEDED) {
                fixed.add(r.with(Requests.Status.SUCCEEDED, step.finishedAt(), step.continualRunId(), null));
            }
        }
        return fixed;
    }

    private void release() {
        if (lease != null) {
            lease.close();
            lease = null;
        }
        claimed = null;
    }

    private static Summary idle(ContinualRequest s, List<Step> lineage, LocalDate runDate, String runId,
            String heldBy) {
        String last = lineage.isEmpty() ? s.base() : lineage.get(lineage.size() - 1).checkpoint();
        if (heldBy == null) {
            LOG.info("continual {}: nothing due on or before {} for dataset {}", runId, runDate, s.data().dataset());
        }
        return new Summary(runId, runDate, List.of(), 0, last, heldBy);
    }

    /**
     * Applies the requests due on {@code runDate} (UTC day) as continual run {@code runId}, holding
     * the lineage's lease throughout ({@link #claim}s it first unless claimed) and releasing it at
     * the end.
     */
    public Summary run(ContinualRequest s, LocalDate runDate, String runId) throws Exception {
        Optional<Summary> nothing = claim(s, runDate, runId);
        if (nothing.isPresent()) {
            return nothing.get();
        }
        try {
            return applyDue(s, runDate, runId);
        } finally {
            release();
        }
    }

    private Summary applyDue(ContinualRequest s, LocalDate runDate, String runId) throws Exception {
        Requests requests = new Requests(spark, store);
        List<Requests.Request> due = claimed.due();
        List<Step> lineage = new ArrayList<>(claimed.lineage());
        // Every due request's settings are checked before any of them runs.
        for (Requests.Request r : due) {
            try {
                s.jobs(r, s.base(), s.base());
            } catch (RuntimeException e) {
                requests.write(r.with(Requests.Status.FAILED, Instant.now(), runId, Requests.INVALID + e.getMessage()));
                throw new IllegalArgumentException("request " + r.requestId() + ": " + e.getMessage(), e);
            }
        }
        IngestedDataset data = IngestedDataset.open(store, s.data());
        List<Step> applied = new ArrayList<>();
        for (Requests.Request r : due) {
            lease.check();
            Step previous = lineage.isEmpty() ? null : lineage.get(lineage.size() - 1);
            Requests.Request running = r.with(Requests.Status.RUNNING, Instant.now(), runId, null);
            requests.write(running);
            try {
                Step step = apply(s, running, previous, lineage, data, runId, runDate);
                lineage.add(step);
                applied.add(step);
                requests.write(running.with(Requests.Status.SUCCEEDED, Instant.now(), runId, null));
            } catch (Exception | Error e) {
                try {
                    requests.write(running.with(Requests.Status.FAILED, Instant.now(), runId, String.valueOf(e.getMessage())));
                } catch (RuntimeException secondary) {
                    e.addSuppressed(secondary);
                }
                throw e;
            }
        }
        return new Summary(runId, runDate, applied, due.size(), applied.get(applied.size() - 1).checkpoint(), null);
    }

    private Step apply(ContinualRequest s, Requests.Request r, Step previous, List<Step> lineage, IngestedDataset data,
            String runId, LocalDate runDate) throws Exception {
        String parent = previous == null ? s.base() : previous.checkpoint();
        String ref = s.refPrevious() ? parent : s.base();
        ContinualRequest.Jobs jobs = s.jobs(r, parent, ref);
        // Forget sets as frozen at submission: a re-ingest since changes none of them.
        Requests requests = new Requests(spark, store);
        Dataset<Row> forget = requests.forgetSet(r, data).persist(StorageLevel.MEMORY_AND_DISK());
        Dataset<Row> earlier = null;
        for (Step done : lineage) {
            Dataset<Row> ids = requests.frozen(done.requestId())
                    .orElseGet(() -> ForgetSelector.parse(done.selector()).ids(data).select("sample_id"));
            earlier = earlier == null ? ids : earlier.union(ids);
        }
        Dataset<Row> cumulative = (earlier == null ? forget : forget.union(earlier)).distinct()
                .persist(StorageLevel.MEMORY_AND_DISK());
        try {
            long nForget = forget.count();
            if (nForget == 0) {
                throw new IllegalArgumentException("request " + r.requestId() + ": selector " + r.selector().text()
                        + " selects no sample of " + s.data().describe());
            }
            long nCumulative = cumulative.count();
            LOG.info("continual {}: request {} (#{}): {} on {} ({} samples, {} forgotten in all) from {}", runId,
                    r.requestId(), lineage.size() + 1, r.method(), r.selector().text(), nForget, nCumulative, parent);

            Dataset<Row> earlierIds = earlier;
            UnlearnJob.Summary unlearned = runner.run(r.requestId(), "unlearn", jobs.unlearn(), () -> new UnlearnJob(
                    spark, store).run(jobs.unlearn(), r.requestId(),
                            new UnlearnJob.Selection(r.selector().text(), forget, earlierIds)));

            String retainRun = s.retainRuns() ? retainRun(s, data, cumulative, jobs) : null;
            EvaluateJob.Summary evaluated = runner.run(r.requestId(), "evaluate", jobs.evaluate(), () -> new EvaluateJob(
                    spark, store).run(jobs.evaluate(), r.requestId(), unlearned.checkpoint(), retainRun,
                    new EvaluateJob.Items(cumulative, cumulative)));

            Step step = new Step(r.requestId(), lineage.size() + 1, previous == null ? null : previous.requestId(), parent,
                    unlearned.checkpoint(), unlearned.modelFingerprint(), ref, r.method(), r.selector().text(), nForget,
                    nCumulative, retainRun, evaluated.value(EvalTables.FORGET_QUALITY),
                    evaluated.value(EvalTables.MODEL_UTILITY), evaluated.value("forget_truth_ratio"),
                    evaluated.value("forget_rouge_l_recall"), evaluated.value("forget_probability"), runId, runDate,
                    Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS), s.data().dataset());
            commit(step);
            return step;
        } finally {
            forget.unpersist();
            cumulative.unpersist();
        }
    }

    /**
     * The retain-only run for a cumulative forget set: the train splits minus the set, fine-tuned
     * under {@code lethe.train.*} and evaluated on the same items; its id is a fingerprint of the
     * data and the training settings, so a later request (or re-run) with the same data reuses it.
     */
    private String retainRun(ContinualRequest s, IngestedDataset data, Dataset<Row> cumulative,
            ContinualRequest.Jobs jobs) throws Exception {
        FinetuneRequest train = s.retainTraining(jobs);
        Row kept = data.ids(s.trainSplits()).except(cumulative.select("sample_id"))
                .agg(expr("sum(xxhash64(sample_id))"), expr("count(1)")).head();
        String id = ContinualRequest.retainRunId(train, data.ref().dataset() + "/" + data.ref().dataRun() + "/"
                + (kept.isNullAt(0) ? 0 : kept.getLong(0)) + "/" + kept.getLong(1));
        Optional<RunRecord> done = new Runs(store).get(id, "finetune").filter(x -> x.status() == RunStatus.SUCCEEDED);
        String checkpoint;
        if (done.isPresent()) {
            String output = train.training().output(store, id);
            checkpoint = Checkpoints.latest(output).orElseThrow(
                    () -> new IllegalStateException("retain run " + id + " SUCCEEDED but has no checkpoint under "
                            + output)).dir();
            LOG.info("continual: reusing retain run {} ({} samples kept)", id, kept.getLong(1));
        } else {
            FinetuneJob.Summary trained = runner.run(id, "finetune", train,
                    () -> new FinetuneJob(spark, store).run(train, id, cumulative));
            checkpoint = trained.checkpoint();
        }
        boolean evaluated = store.exists(EvalTables.EVAL_SUMMARY)
                && !store.read(EvalTables.EVAL_SUMMARY).filter(col("run_id").equalTo(id)).isEmpty();
        if (!evaluated) {
            runner.run(id, "evaluate", jobs.evaluate(), () -> new EvaluateJob(spark, store).run(jobs.evaluate(), id,
                    checkpoint, id, new EvaluateJob.Items(cumulative, cumulative)));
        }
        return id;
    }

    /**
     * Commits a lineage step: the request's commit point. Conditional on its sequence number (of
     * runs that both applied the lineage's n-th request only one commits step n), and on this run
     * still holding the lease; a run whose step lost fails, its result outside the lineage.
     */
    private void commit(Step step) {
        lease.check();
        store.writeOnce(LINEAGE, spark.createDataFrame(List.of(step.row()), LINEAGE_SCHEMA),
                "lethe-lineage-" + step.dataset(), step.sequence());
        Step committed = lineage(step.dataset()).stream().filter(x -> x.sequence() == step.sequence()).findFirst()
                .orElseThrow(() -> new IllegalStateException("lineage of dataset " + step.dataset() + ": step #"
                        + step.sequence() + " (request " + step.requestId() + ") was not committed"));
        if (!committed.requestId().equals(step.requestId()) || !committed.continualRunId().equals(step.continualRunId())
                || !committed.finishedAt().equals(step.finishedAt())) {
            throw new IllegalStateException("lineage of dataset " + step.dataset() + ": step #" + step.sequence()
                    + " is request " + committed.requestId() + " committed by continual run "
                    + committed.continualRunId() + " at " + committed.finishedAt() + ", not this run's request "
                    + step.requestId() + ": this run's result is not part of the lineage");
        }
    }

    /**
     * The SUCCEEDED requests of {@code dataset} so far, in lineage order (rows written before the
     * lineage recorded its dataset count for every dataset).
     */
    public List<Step> lineage(String dataset) {
        if (!store.exists(LINEAGE)) {
            return new ArrayList<>();
        }
        Dataset<Row> rows = store.read(LINEAGE);
        if (java.util.Arrays.asList(rows.columns()).contains("dataset")) {
            rows = rows.filter(col("dataset").equalTo(dataset).or(col("dataset").isNull()));
        }
        List<Step> steps = new ArrayList<>(rows.collectAsList().stream().map(Step::of).toList());
        steps.sort(java.util.Comparator.comparingInt(Step::sequence));
        return steps;
    }

    private static void putNullable(ObjectNode o, String key, Double v) {
        if (v == null) {
            o.putNull(key);
        } else {
            o.put(key, v);
        }
    }
}
