package org.lethe.eval;

import static org.apache.spark.sql.functions.col;
import static org.lethe.eval.EvalTables.COSINE_SIMILARITY;
import static org.lethe.eval.EvalTables.ENTAILMENT;
import static org.lethe.eval.EvalTables.FORGET;
import static org.lethe.eval.EvalTables.HOLDOUT;
import static org.lethe.eval.EvalTables.MIA_MIN_K;
import static org.lethe.eval.EvalTables.PROBABILITY;
import static org.lethe.eval.EvalTables.REAL_AUTHORS;
import static org.lethe.eval.EvalTables.RETAIN;
import static org.lethe.eval.EvalTables.ROUGE_L_RECALL;
import static org.lethe.eval.EvalTables.TRUTH_RATIO;
import static org.lethe.eval.EvalTables.WORLD_FACTS;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.lethe.eval.EvalTables.Sample;
import org.lethe.eval.EvalTables.Summary;
import org.lethe.store.RunIds;
import org.lethe.store.TableStore;

/**
 * From a run's {@code eval_samples} (and a retain run's, for the comparisons) to its {@code
 * eval_summary} rows: per eval set the mean of every per-sample metric (TOFU's truth-ratio
 * aggregates for {@code truth_ratio}), MUSE's VerbMem / KnowMem rows (NULL when not evaluated),
 * then forget quality, model utility, forget efficacy and privleak. Shared by {@code evaluate} and {@code import-eval}, so imported logs and Lethe's own
 * evaluations are aggregated by the same code.
 *
 * <p>Aggregates are small: the per-sample vectors of one run are collected to the driver.
 */
public final class EvalAggregation {

    /** The per-sample metrics whose aggregates make up model utility, per eval set. */
    private static final List<String> UTILITY_METRICS = List.of(PROBABILITY, ROUGE_L_RECALL, TRUTH_RATIO);
    private static final List<String> UTILITY_SPLITS = List.of(RETAIN, REAL_AUTHORS, WORLD_FACTS);
    /** The forget-set measures of knowledge that forget efficacy averages (truth ratio as 1 - aggregate). */
    private static final List<String> EFFICACY_METRICS =
            List.of(ROUGE_L_RECALL, PROBABILITY, TRUTH_RATIO, COSINE_SIMILARITY, ENTAILMENT);
    private static final List<String> SPLIT_ORDER = List.of(FORGET, RETAIN, REAL_AUTHORS, WORLD_FACTS, HOLDOUT);

    private EvalAggregation() {}

    /**
     * The retain run's per-sample values that forget quality and privleak compare against.
     *
     * @param step the retain run's step these samples are from; null when it has none for the dataset
     */
    public record RetainReference(String runId, Long step, List<Sample> samples) {

        public RetainReference {
            RunIds.validate(runId, "retain run id");
            samples = List.copyOf(samples);
        }

        /** A retain run that has no eval samples for the dataset. */
        public static RetainReference absent(String runId) {
            return new RetainReference(runId, null, List.of());
        }

        String ref(String split, String metric) {
            return runId + "@" + step + ":" + split + "." + metric;
        }
    }

    /**
     * The {@code eval_summary} rows of every step and dataset of {@code runId} in {@code evalSamples}.
     * Each (step, dataset) is compared with the retain run's samples of the same dataset at the same
     * step, or at its last step when it has no eval at that step (a retain model is usually evaluated
     * once); {@code depends_on} names the step used.
     *
     * @param retainRunId the retain run, or null (forget quality is then NULL, privleak uses AUC' 0.5)
     * @throws IllegalArgumentException when the run has no rows, or a sample has two values of a metric
     */
    public static List<Summary> summarize(Dataset<Row> evalSamples, String runId, String retainRunId) {
        RunIds.validate(runId);
        if (retainRunId != null) {
            RunIds.validate(retainRunId, "retain run id");
        }
        Object[] runs = retainRunId == null ? new Object[] {runId} : new Object[] {runId, retainRunId};
        List<Row> rows = evalSamples.filter(col("run_id").isin(runs))
                .select("run_id", "step", "dataset", "split", "sample_id", "metric", "value")
                .collectAsList();
        // (step, dataset) -> samples, for this run and for the retain run
        Map<Long, Map<String, List<Sample>>> own = new TreeMap<>();
        Map<String, TreeMap<Long, List<Sample>>> retainByDataset = new TreeMap<>();
        for (Row row : rows) {
            Sample s = Sample.fromRow(row);
            if (s.runId().equals(runId)) {
                own.computeIfAbsent(s.step(), k -> new TreeMap<>()).computeIfAbsent(s.dataset(), k -> new ArrayList<>())
                        .add(s);
            }
            if (s.runId().equals(retainRunId)) {
                retainByDataset.computeIfAbsent(s.dataset(), k -> new TreeMap<>())
                        .computeIfAbsent(s.step(), k -> new ArrayList<>()).add(s);
            }
        }
        if (own.isEmpty()) {
            throw new IllegalArgumentException("eval_samples has no rows of run " + runId);
        }
        List<Summary> out = new ArrayList<>();
        own.forEach((step, byDataset) -> byDataset.forEach((dataset, samples) -> {
            RetainReference retain = null;
            if (retainRunId != null) {
                TreeMap<Long, List<Sample>> steps = retainByDataset.get(dataset);
                if (steps == null) {
                    retain = RetainReference.absent(retainRunId);
                } else {
                    long retainStep = steps.containsKey(step) ? step : steps.lastKey();
                    retain = new RetainReference(retainRunId, retainStep, steps.get(retainStep));
                }
            }
            out.addAll(aggregate(runId, step, dataset, samples, retain));
        }));
        return out;
    }

    /**
     * Reads {@code eval_samples} from {@code store}, aggregates {@code runId} with {@link #summarize}
     * and replaces the run's {@code eval_summary} rows (all its steps and datasets at once, since a
     * write replaces the whole run); returns the rows written.
     */
    public static List<Summary> summarizeToStore(TableStore store, String runId, String retainRunId) {
        return summarizeToStore(store, runId, retainRunId, java.util.function.UnaryOperator.identity());
    }

    /**
     * As {@link #summarizeToStore(TableStore, String, String)}, with the rows amended by {@code
     * amend} (e.g. a NULL's reason rewritten) before they are written, in one commit.
     */
    public static List<Summary> summarizeToStore(TableStore store, String runId, String retainRunId,
            java.util.function.UnaryOperator<List<Summary>> amend) {
        Dataset<Row> samples = store.read(EvalTables.EVAL_SAMPLES);
        List<Summary> rows = amend.apply(summarize(samples, runId, retainRunId));
        EvalTables.writeSummary(store, EvalTables.summaries(samples.sparkSession(), rows));
        return rows;
    }

    /**
     * The {@code eval_summary} rows of one (run, step, dataset).
     *
     * @param samples this run's per-sample values at that step and dataset (the {@code generation} is not read)
     * @param retain the retain run's values of the same dataset, or null when no retain run is given
     * @throws IllegalArgumentException when a sample belongs to another key, or has two values of one metric
     */
    public static List<Summary> aggregate(String runId, long step, String dataset, List<Sample> samples,
                                          RetainReference retain) {
        Values own = Values.of(samples, runId, step, dataset);
        Values reference = retain == null || retain.step() == null ? null
                : Values.of(retain.samples(), retain.runId(), retain.step(), dataset);
        Builder b = new Builder(runId, step, dataset);

        // Per eval set: the mean of each metric, TOFU's aggregates for the truth ratio
        Map<String, Double> setAggregates = new LinkedHashMap<>();
        for (String split : own.splits()) {
            for (String metric : own.metrics(split)) {
                Summary row = setAggregate(b, split, metric, own.get(split, metric));
                setAggregates.put(split + "." + metric, row.value());
                b.add(row);
            }
        }
        // MUSE's memorization rows exist even when not evaluated, so a missing one reads as "not run", never as 0
        for (EvalTables.MuseAggregate m : EvalTables.MUSE_AGGREGATES) {
            String ref = m.split() + "." + m.metric();
            if (!setAggregates.containsKey(ref)) {
                b.add(b.missing(m.split(), m.name(), null, "not evaluated: no " + ref + " values (lethe.eval.muse."
                        + m.configKey() + " is not set)", ref));
            }
        }
        b.add(forgetQuality(b, own, retain, reference));
        b.add(modelUtility(b, setAggregates));
        b.add(forgetEfficacy(b, setAggregates));
        b.add(privLeak(b, own, retain, reference));
        return b.rows;
    }

    private static Summary setAggregate(Builder b, String split, String metric, TreeMap<String, Double> bySample) {
        String name = split + "_" + metric;
        String ref = split + "." + metric;
        double[] values = nonNull(bySample);
        if (values.length == 0) {
            String why = metric.equals(EvalTables.VERBMEM_ROUGE_L_F1)
                    ? " (passages of at most lethe.eval.muse.prompt_tokens tokens have no continuation)" : "";
            return b.missing(split, name, null, "all " + bySample.size() + " samples have a NULL " + metric + why, ref);
        }
        double value;
        if (metric.equals(TRUTH_RATIO)) {
            try {
                // Forget: closeness to 1, min(R, 1/R); elsewhere: preference for the true answer, max(0, 1 - R)
                value = split.equals(FORGET) ? TruthRatio.forgetAggregate(values) : TruthRatio.retainAggregate(values);
            } catch (IllegalArgumentException e) {
                return b.missing(split, name, null, "invalid truth ratios: " + e.getMessage(), ref);
            }
        } else {
            value = mean(values);
        }
        return b.row(split, name, value, values.length, null, ref);
    }

    private static Summary forgetQuality(Builder b, Values own, RetainReference retain, Values reference) {
        String ownRef = FORGET + "." + TRUTH_RATIO;
        if (retain == null) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, null, "no retain run given", ownRef);
        }
        String retainId = retain.runId();
        if (reference == null) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, retainId,
                    "retain run " + retainId + " has no eval_samples for dataset " + b.dataset, ownRef);
        }
        String deps = ownRef + ", " + retain.ref(FORGET, TRUTH_RATIO);
        TreeMap<String, Double> mine = own.get(FORGET, TRUTH_RATIO);
        TreeMap<String, Double> theirs = reference.get(FORGET, TRUTH_RATIO);
        if (mine.isEmpty()) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, retainId, "no forget truth_ratio in this run", deps);
        }
        if (theirs.isEmpty()) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, retainId, "retain run " + retainId + " step "
                    + retain.step() + " has no forget truth_ratio", deps);
        }
        // TOFU compares the same forget items; only items both runs scored count
        List<Double> a = new ArrayList<>();
        List<Double> r = new ArrayList<>();
        mine.forEach((id, v) -> {
            Double w = theirs.get(id);
            if (v != null && w != null) {
                a.add(v);
                r.add(w);
            }
        });
        if (a.isEmpty()) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, retainId, "no forget sample has a truth_ratio in both"
                    + " runs (" + nonNull(mine).length + " here, " + nonNull(theirs).length + " in " + retainId + ")", deps);
        }
        try {
            double p = KolmogorovSmirnov.twoSamplePValue(toArray(a), toArray(r));
            return b.row(FORGET, EvalTables.FORGET_QUALITY, p, a.size(), retainId, deps);
        } catch (IllegalArgumentException e) {
            return b.missing(FORGET, EvalTables.FORGET_QUALITY, retainId, "invalid truth ratios: " + e.getMessage(), deps);
        }
    }

    private static Summary modelUtility(Builder b, Map<String, Double> setAggregates) {
        List<String> refs = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        double[] values = new double[UTILITY_SPLITS.size() * UTILITY_METRICS.size()];
        int i = 0;
        for (String split : UTILITY_SPLITS) {
            for (String metric : UTILITY_METRICS) {
                String ref = split + "." + metric;
                refs.add(ref);
                Double v = setAggregates.get(ref);
                if (v == null) {
                    missing.add(ref);
                } else {
                    values[i++] = v;
                }
            }
        }
        String deps = String.join(", ", refs);
        if (!missing.isEmpty()) {
            return b.missing(null, EvalTables.MODEL_UTILITY, null, "missing " + String.join(", ", missing), deps);
        }
        try {
            return b.row(null, EvalTables.MODEL_UTILITY, Aggregates.harmonicMean(values), values.length, null, deps);
        } catch (IllegalArgumentException e) {
            return b.missing(null, EvalTables.MODEL_UTILITY, null, "invalid component: " + e.getMessage(), deps);
        }
    }

    private static Summary forgetEfficacy(Builder b, Map<String, Double> setAggregates) {
        List<String> used = new ArrayList<>();
        double sum = 0;
        for (String metric : EFFICACY_METRICS) {
            String ref = FORGET + "." + metric;
            Double v = setAggregates.get(ref);
            if (v != null) {
                // A forget truth ratio near 1 means forgotten: 1 - aggregate measures what is still known
                sum += metric.equals(TRUTH_RATIO) ? 1 - v : v;
                used.add(ref);
            }
        }
        if (used.isEmpty()) {
            List<String> all = EFFICACY_METRICS.stream().map(m -> FORGET + "." + m).toList();
            return b.missing(FORGET, EvalTables.FORGET_EFFICACY, null,
                    "none of " + String.join(", ", all) + " has a value", String.join(", ", all));
        }
        return b.row(FORGET, EvalTables.FORGET_EFFICACY, 1 - sum / used.size(), used.size(), null,
                String.join(", ", used));
    }

    private static Summary privLeak(Builder b, Values own, RetainReference retain, Values reference) {
        String forgetRef = FORGET + "." + MIA_MIN_K;
        String holdoutRef = HOLDOUT + "." + MIA_MIN_K;
        double[] forget = nonNull(own.get(FORGET, MIA_MIN_K));
        double[] holdout = nonNull(own.get(HOLDOUT, MIA_MIN_K));
        String ownDeps = forgetRef + ", " + holdoutRef;
        if (forget.length == 0 || holdout.length == 0) {
            return b.missing(null, EvalTables.PRIVLEAK, null, "no " + (forget.length == 0 ? forgetRef : holdoutRef)
                    + " values in this run", ownDeps);
        }
        double modelAuc;
        try {
            modelAuc = PrivLeak.aucPrime(forget, holdout);
        } catch (IllegalArgumentException e) {
            return b.missing(null, EvalTables.PRIVLEAK, null, "invalid mia_min_k: " + e.getMessage(), ownDeps);
        }
        double retainAuc = PrivLeak.DEFAULT_RETAIN_AUC;
        String deps;
        String retainId = null;
        double[] rf = reference == null ? new double[0] : nonNull(reference.get(FORGET, MIA_MIN_K));
        double[] rh = reference == null ? new double[0] : nonNull(reference.get(HOLDOUT, MIA_MIN_K));
        if (rf.length > 0 && rh.length > 0) {
            try {
                retainAuc = PrivLeak.aucPrime(rf, rh);
            } catch (IllegalArgumentException e) {
                return b.missing(null, EvalTables.PRIVLEAK, retain.runId(),
                        "invalid mia_min_k in retain run " + retain.runId() + ": " + e.getMessage(), ownDeps);
            }
            retainId = retain.runId();
            deps = ownDeps + ", " + retain.ref(FORGET, MIA_MIN_K) + ", " + retain.ref(HOLDOUT, MIA_MIN_K);
        } else {
            String why = retain == null ? "no retain run given"
                    : "retain run " + retain.runId() + " has no forget and holdout mia_min_k";
            deps = ownDeps + ", retain_auc=" + PrivLeak.DEFAULT_RETAIN_AUC + " (" + why + ")";
        }
        if (retainAuc == 0) {
            return b.missing(null, EvalTables.PRIVLEAK, retainId, "the retain run's AUC' is 0", deps);
        }
        return b.row(null, EvalTables.PRIVLEAK, PrivLeak.privLeak(modelAuc, retainAuc), forget.length + holdout.length,
                retainId, deps);
    }

    /** The arithmetic mean, summed in sample-id order (no finiteness check: an infinity stays visible). */
    private static double mean(double[] values) {
        double sum = 0.0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }

    private static double[] nonNull(TreeMap<String, Double> bySample) {
        return bySample.values().stream().filter(Objects::nonNull).mapToDouble(Double::doubleValue).toArray();
    }

    private static double[] toArray(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Builds the rows of one (run, step, dataset). */
    private static final class Builder {
        final String runId;
        final long step;
        final String dataset;
        final List<Summary> rows = new ArrayList<>();

        Builder(String runId, long step, String dataset) {
            this.runId = runId;
            this.step = step;
            this.dataset = dataset;
        }

        Summary row(String split, String metric, double value, long n, String retainRunId, String dependsOn) {
            return new Summary(runId, step, dataset, split, metric, value, n, retainRunId, null, dependsOn);
        }

        Summary missing(String split, String metric, String retainRunId, String reason, String dependsOn) {
            return new Summary(runId, step, dataset, split, metric, null, 0, retainRunId, reason, dependsOn);
        }

        void add(Summary row) {
            rows.add(row);
        }
    }

    /** One run's per-sample values at one (step, dataset): split -> metric -> sample id -> value. */
    private static final class Values {
        private final Map<String, Map<String, TreeMap<String, Double>>> bySplit = new TreeMap<>(
                Comparator.comparingInt((String s) -> SPLIT_ORDER.contains(s) ? SPLIT_ORDER.indexOf(s) : SPLIT_ORDER.size())
                        .thenComparing(Comparator.naturalOrder()));

        static Values of(List<Sample> samples, String runId, long step, String dataset) {
            Values v = new Values();
            for (Sample s : samples) {
                if (!s.runId().equals(runId) || s.step() != step || !s.dataset().equals(dataset)) {
                    throw new IllegalArgumentException("sample " + s.sampleId() + " is from run " + s.runId() + " step "
                            + s.step() + " dataset " + s.dataset() + ", expected run " + runId + " step " + step
                            + " dataset " + dataset);
                }
                TreeMap<String, Double> values = v.bySplit
                        .computeIfAbsent(s.split(), k -> new TreeMap<>(
                                Comparator.comparingInt((String m) -> EvalTables.SAMPLE_METRICS.contains(m)
                                        ? EvalTables.SAMPLE_METRICS.indexOf(m) : EvalTables.SAMPLE_METRICS.size())
                                        .thenComparing(Comparator.naturalOrder())))
                        .computeIfAbsent(s.metric(), k -> new TreeMap<>());
                if (values.containsKey(s.sampleId())) {
                    throw new IllegalArgumentException("eval_samples of run " + runId + " step " + step + " dataset "
                            + dataset + ": sample " + s.sampleId() + " has two values of " + s.split() + "." + s.metric());
                }
                values.put(s.sampleId(), s.value());
            }
            return v;
        }

        Iterable<String> splits() {
            return bySplit.keySet();
        }

        Iterable<String> metrics(String split) {
            return bySplit.get(split).keySet();
        }

        TreeMap<String, Double> get(String split, String metric) {
            Map<String, TreeMap<String, Double>> metrics = bySplit.get(split);
            TreeMap<String, Double> values = metrics == null ? null : metrics.get(metric);
            return values == null ? new TreeMap<>() : values;
        }
    }
}
