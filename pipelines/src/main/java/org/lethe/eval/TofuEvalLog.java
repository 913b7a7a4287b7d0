package org.lethe.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One model's TOFU evaluation log ({@code *_eval_log_aggregated.json} of locuslab/TOFU: per eval
 * set, per-sample losses and ROUGE) and the benchmark's aggregates computed from it exactly as
 * TOFU's aggregate_eval_stat.py: per-set probability / ROUGE-L recall / truth ratio, model
 * utility, and forget quality against a retain model's log.
 */
public final class TofuEvalLog {

    /** The retain set (TOFU's "Retain"). */
    public static final String RETAIN = "eval_log.json";
    /** The forget set (TOFU's "Forget"). */
    public static final String FORGET = "eval_log_forget.json";
    /** Real authors, without options (TOFU's "Real Authors"). */
    public static final String REAL_AUTHORS = "eval_real_author_wo_options.json";
    /** World facts, without options (TOFU's "Real World"). */
    public static final String WORLD_FACTS = "eval_real_world_wo_options.json";

    private static final List<String> UTILITY_SETS = List.of(RETAIN, REAL_AUTHORS, WORLD_FACTS);

    /**
     * The per-sample values of one eval set that TOFU's aggregates read, aligned by sample key.
     *
     * @param keys the sample keys ("0", "1", ...) in file order
     * @param avgGtLoss mean per-token NLL of the ground-truth answer
     * @param avgParaphrasedLoss mean per-token NLL of the paraphrased answer
     * @param averagePerturbLoss mean per-token NLL of each perturbed answer
     * @param rougeLRecall ROUGE-L recall of the greedy generation against the answer
     */
    public record EvalSet(String name, List<String> keys, double[] avgGtLoss, double[] avgParaphrasedLoss,
                          double[][] averagePerturbLoss, double[] rougeLRecall) {

        /** Per-sample truth ratios R = P(perturbed) / P(paraphrased), see {@link TruthRatio#of}. */
        public double[] truthRatios() {
            double[] r = new double[keys.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = TruthRatio.of(avgParaphrasedLoss[i], averagePerturbLoss[i]);
            }
            return r;
        }

        /** TOFU's "Prob.", "ROUGE" and "Truth Ratio" of this set. */
        public SetMetrics metrics() {
            boolean forget = name.equals(FORGET);
            // aggregate_stat.py: plain probability on the eval_log* sets (retain, forget), normalized
            // against the perturbed answers on real authors and world facts
            boolean plain = name.contains("eval_log");
            double[] probs = new double[keys.size()];
            for (int i = 0; i < probs.length; i++) {
                probs[i] = plain ? AnswerProbability.fromMeanNll(avgGtLoss[i])
                        : AnswerProbability.normalized(avgGtLoss[i], averagePerturbLoss[i]);
            }
            double[] ratios = truthRatios();
            return new SetMetrics(Aggregates.mean(probs), Aggregates.mean(rougeLRecall),
                    forget ? TruthRatio.forgetAggregate(ratios) : TruthRatio.retainAggregate(ratios));
        }
    }

    /** One eval set's aggregates as TOFU reports them. */
    public record SetMetrics(double probability, double rougeLRecall, double truthRatio) {}

    /**
     * Model utility: the harmonic mean of the nine non-forget aggregates (probability, ROUGE-L
     * recall, truth ratio on retain, real authors and world facts), with those components.
     */
    public record ModelUtility(Map<String, SetMetrics> components, double value) {}

    private final Map<String, EvalSet> sets;

    private TofuEvalLog(Map<String, EvalSet> sets) {
        this.sets = sets;
    }

    /**
     * Reads an aggregated eval log. The four sets TOFU aggregates must be present; other sets and
     * other per-sample fields are ignored.
     *
     * @throws IllegalArgumentException naming the file, set, field and sample when a value is
     *     missing, not a finite number, or perturbed-answer lists differ in length within a set
     */
    public static TofuEvalLog read(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read TOFU eval log " + file, e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object of eval sets");
        }
        Map<String, EvalSet> sets = new LinkedHashMap<>();
        for (String name : List.of(RETAIN, FORGET, REAL_AUTHORS, WORLD_FACTS)) {
            JsonNode set = root.get(name);
            if (set == null || !set.isObject()) {
                throw new IllegalArgumentException(file + ": missing eval set " + name);
            }
            sets.put(name, readSet(file, name, set));
        }
        return new TofuEvalLog(sets);
    }

    private static EvalSet readSet(Path file, String name, JsonNode set) {
        String where = file + " " + name;
        JsonNode gt = field(set, "avg_gt_loss", where);
        List<String> keys = new ArrayList<>();
        for (Iterator<String> it = gt.fieldNames(); it.hasNext(); ) {
            keys.add(it.next());
        }
        if (keys.isEmpty()) {
            throw new IllegalArgumentException(where + ": avg_gt_loss has no samples");
        }
        double[] avgGtLoss = numbers(gt, keys, "avg_gt_loss", where);
        double[] paraphrased = numbers(field(set, "avg_paraphrased_loss", where), keys, "avg_paraphrased_loss", where);
        double[] rouge = numbers(field(set, "rougeL_recall", where), keys, "rougeL_recall", where);
        JsonNode perturb = field(set, "average_perturb_loss", where);
        double[][] perturbed = new double[keys.size()][];
        for (int i = 0; i < keys.size(); i++) {
            String key = keys.get(i);
            JsonNode list = perturb.get(key);
            String at = where + " average_perturb_loss[\"" + key + "\"]";
            if (list == null || !list.isArray() || list.isEmpty()) {
                throw new IllegalArgumentException(at + ": expected a non-empty list of numbers");
            }
            perturbed[i] = new double[list.size()];
            for (int j = 0; j < list.size(); j++) {
                perturbed[i][j] = number(list.get(j), at + "[" + j + "]");
            }
            // numpy needs a rectangular array for its mean over the last axis
            if (perturbed[i].length != perturbed[0].length) {
                throw new IllegalArgumentException(at + ": " + perturbed[i].length
                        + " perturbed answers, but sample \"" + keys.get(0) + "\" has " + perturbed[0].length);
            }
        }
        return new EvalSet(name, List.copyOf(keys), avgGtLoss, paraphrased, perturbed, rouge);
    }

    private static JsonNode field(JsonNode set, String field, String where) {
        JsonNode node = set.get(field);
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException(where + ": missing per-sample field " + field);
        }
        return node;
    }

    private static double[] numbers(JsonNode values, List<String> keys, String field, String where) {
        if (values.size() != keys.size()) {
            throw new IllegalArgumentException(where + " " + field + ": " + values.size()
                    + " samples, but avg_gt_loss has " + keys.size());
        }
        double[] out = new double[keys.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = number(values.get(keys.get(i)), where + " " + field + "[\"" + keys.get(i) + "\"]");
        }
        return out;
    }

    private static double number(JsonNode node, String where) {
        if (node == null || !node.isNumber() || !Double.isFinite(node.asDouble())) {
            throw new IllegalArgumentException(where + ": expected a finite number, got " + node);
        }
        return node.asDouble();
    }

    /** One eval set: {@link #RETAIN}, {@link #FORGET}, {@link #REAL_AUTHORS} or {@link #WORLD_FACTS}. */
    public EvalSet set(String name) {
        EvalSet set = sets.get(name);
        if (set == null) {
            throw new IllegalArgumentException("unknown eval set " + name + ", expected one of " + sets.keySet());
        }
        return set;
    }

    /** TOFU's model utility of this model. */
    public ModelUtility modelUtility() {
        Map<String, SetMetrics> components = new LinkedHashMap<>();
        double[] values = new double[3 * UTILITY_SETS.size()];
        int i = 0;
        for (String name : UTILITY_SETS) {
            SetMetrics m = set(name).metrics();
            components.put(name, m);
            values[i++] = m.probability();
            values[i++] = m.rougeLRecall();
            values[i++] = m.truthRatio();
        }
        return new ModelUtility(Collections.unmodifiableMap(components), Aggregates.harmonicMean(values));
    }

    /**
     * TOFU's forget quality: the two-sample KS test between the forget-set truth ratios of the
     * unlearned model and of the retain model (the p-value; high means indistinguishable).
     */
    public static KolmogorovSmirnov.Result forgetQuality(TofuEvalLog unlearned, TofuEvalLog retain) {
        return KolmogorovSmirnov.twoSample(unlearned.set(FORGET).truthRatios(), retain.set(FORGET).truthRatios());
    }
}
