package org.lethe.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads other tools' evaluation logs into per-sample values keyed by eval set and the log's own
 * sample index, with the prompt and ground truth each sample was logged with (to find its Lethe
 * sample id): TOFU's {@code *_eval_log_aggregated.json} and open-unlearning's {@code TOFU_EVAL.json}.
 */
final class EvalLogs {

    /** A logged sample's prompt as the model saw it (template included) and its ground-truth answer. */
    record Item(String input, String groundTruth) {}

    /** One per-sample value of an eval set; {@code index} is the log's key for the sample. */
    record Value(String split, String index, String metric, Double value, String generation) {}

    /**
     * A parsed log: its values, the logged items per eval set and index (where the log has them),
     * the aggregates it reports itself (not used, only echoed), and the entries it skipped.
     */
    record Parsed(List<Value> values, Map<String, Map<String, Item>> items, Map<String, Double> reported,
                  List<String> skipped) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** TOFU's eval sets and the eval set roles of Lethe. */
    private static final Map<String, String> TOFU_SETS = Map.of(
            TofuEvalLog.FORGET, EvalTables.FORGET,
            TofuEvalLog.RETAIN, EvalTables.RETAIN,
            TofuEvalLog.REAL_AUTHORS, EvalTables.REAL_AUTHORS,
            TofuEvalLog.WORLD_FACTS, EvalTables.WORLD_FACTS);

    /** open-unlearning's metric-name prefixes and the eval sets they are computed on. */
    private static final Map<String, String> OU_PREFIXES = orderedMap(
            "forget_", EvalTables.FORGET,
            "retain_", EvalTables.RETAIN,
            "ra_", EvalTables.REAL_AUTHORS,
            "wf_", EvalTables.WORLD_FACTS,
            "holdout_", EvalTables.HOLDOUT);

    /** open-unlearning's MIA metrics (each with forget and holdout scores) and Lethe's names. */
    private static final Map<String, String> OU_MIA = orderedMap(
            "mia_loss", EvalTables.MIA_LOSS,
            "mia_zlib", EvalTables.MIA_ZLIB,
            "mia_min_k", EvalTables.MIA_MIN_K,
            "mia_min_k_plus_plus", EvalTables.MIA_MIN_K_PLUS_PLUS,
            "mia_reference", EvalTables.MIA_REFERENCE,
            "mia_gradnorm", EvalTables.MIA_GRADIENT_NORM);

    private EvalLogs() {}

    /**
     * TOFU's aggregated eval log: forget, retain, real-author and world-fact sets, each sample with
     * {@code mean_nll} (avg_gt_loss), {@code probability} as TOFU aggregates it for that set (plain
     * on forget / retain, normalized against the perturbed answers elsewhere), {@code rouge_l_recall}
     * (with the generation), {@code paraphrased_mean_nll}, {@code perturbed_mean_nll} and the raw
     * {@code truth_ratio}. Numbers are read and checked by {@link TofuEvalLog}.
     */
    static Parsed tofuLog(Path file) {
        TofuEvalLog log = TofuEvalLog.read(file);
        JsonNode root = readJson(file);
        List<Value> values = new ArrayList<>();
        Map<String, Map<String, Item>> items = new LinkedHashMap<>();
        for (String setName : List.of(TofuEvalLog.FORGET, TofuEvalLog.RETAIN, TofuEvalLog.REAL_AUTHORS,
                TofuEvalLog.WORLD_FACTS)) {
            String split = TOFU_SETS.get(setName);
            TofuEvalLog.EvalSet set = log.set(setName);
            // As TofuEvalLog.EvalSet.metrics(): plain probability on the eval_log* sets only
            boolean plain = setName.contains("eval_log");
            JsonNode generated = root.get(setName).get("generated_text");
            Map<String, Item> setItems = new LinkedHashMap<>();
            double[] ratios = set.truthRatios();
            for (int i = 0; i < set.keys().size(); i++) {
                String key = set.keys().get(i);
                String where = file + " " + setName + " generated_text[\"" + key + "\"]";
                String generation = null;
                JsonNode triple = generated == null ? null : generated.get(key);
                if (triple != null) {
                    // TOFU logs (input with template, greedy generation, ground truth)
                    if (!triple.isArray() || triple.size() != 3 || !triple.get(0).isTextual()
                            || !triple.get(1).isTextual() || !triple.get(2).isTextual()) {
                        throw new IllegalArgumentException(where + ": expected [input, generation, ground truth]"
                                + " strings, got " + triple);
                    }
                    generation = triple.get(1).asText();
                    setItems.put(key, new Item(triple.get(0).asText(), triple.get(2).asText()));
                }
                double gt = set.avgGtLoss()[i];
                double[] perturbed = set.averagePerturbLoss()[i];
                double probability = plain ? AnswerProbability.fromMeanNll(gt)
                        : AnswerProbability.normalized(gt, perturbed);
                values.add(new Value(split, key, EvalTables.PROBABILITY, probability, null));
                values.add(new Value(split, key, EvalTables.ROUGE_L_RECALL, set.rougeLRecall()[i], generation));
                values.add(new Value(split, key, EvalTables.TRUTH_RATIO, ratios[i], null));
                values.add(new Value(split, key, EvalTables.MEAN_NLL, gt, null));
                values.add(new Value(split, key, EvalTables.PARAPHRASED_MEAN_NLL, set.avgParaphrasedLoss()[i], null));
                values.add(new Value(split, key, EvalTables.PERTURBED_MEAN_NLL, Aggregates.mean(perturbed), null));
            }
            items.put(split, setItems);
        }
        List<String> skipped = new ArrayList<>();
        root.fieldNames().forEachRemaining(name -> {
            if (!TOFU_SETS.containsKey(name)) {
                skipped.add(name);
            }
        });
        return new Parsed(values, items, Map.of(), skipped);
    }

    /**
     * open-unlearning's {@code TOFU_EVAL.json}: one entry per metric with {@code value_by_index}
     * ({@code {"<index>": {"prob", "avg_loss"} | {"score"} | {"rougeL_recall", "rougeL_f1", "input",
     * "ground_truth", "generation", ...}}}), MIA metrics with {@code forget} and {@code holdout}
     * sub-entries. Read: {@code <set>_Q_A_Prob} (probability on forget / retain, mean_nll),
     * {@code <set>_Q_A_Prob_normalised} (probability), {@code <set>_Q_A_ROUGE}, {@code
     * <set>_Q_A_PARA_Prob} / {@code _PERT_Prob} (mean NLLs), {@code <set>_truth_ratio} (any case),
     * extraction strength, exact memorization and the MIA scores, for sets forget, retain, ra
     * (real authors), wf (world facts). Aggregate-only entries (model_utility, forget_quality,
     * privleak) are reported; anything else is skipped and listed.
     */
    static Parsed openUnlearning(Path file) {
        JsonNode root = readJson(file);
        List<Value> values = new ArrayList<>();
        Map<String, Map<String, Item>> items = new LinkedHashMap<>();
        Map<String, Double> reported = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String name = entry.getKey();
            JsonNode metric = entry.getValue();
            String where = file + " " + name;
            if (!metric.isObject()) {
                skipped.add(name);
                continue;
            }
            if (OU_MIA.containsKey(name)) {
                for (String split : List.of(EvalTables.FORGET, EvalTables.HOLDOUT)) {
                    JsonNode side = metric.get(split);
                    if (side == null || !side.isObject()) {
                        throw new IllegalArgumentException(where + ": missing the " + split + " scores");
                    }
                    readByIndex(values, side, where + " " + split, split, Map.of("score", OU_MIA.get(name)), null);
                }
                continue;
            }
            Target target = target(name);
            if (target == null) {
                JsonNode agg = metric.get("agg_value");
                if (agg != null && agg.isNumber() && !metric.has("value_by_index")) {
                    reported.put(name, agg.asDouble());
                } else if (agg != null && agg.isNull() && !metric.has("value_by_index")) {
                    reported.put(name, null);
                } else {
                    skipped.add(name);
                }
                continue;
            }
            Map<String, Item> setItems = target.rouge() ? items.computeIfAbsent(target.split(), k -> new LinkedHashMap<>())
                    : null;
            readByIndex(values, metric, where, target.split(), target.fields(), setItems);
        }
        if (values.isEmpty()) {
            throw new IllegalArgumentException(file + ": no per-sample values found (expected open-unlearning's"
                    + " TOFU_EVAL.json with value_by_index entries; skipped " + skipped + ")");
        }
        return new Parsed(values, items, reported, skipped);
    }

    /** Where an open-unlearning metric goes: its eval set and field -> Lethe metric. */
    private record Target(String split, Map<String, String> fields, boolean rouge) {}

    private static Target target(String name) {
        // extraction_strength / exact_memorization without a prefix are computed on the forget set
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.equals("extraction_strength") || lower.equals("exact_memorization")) {
            return new Target(EvalTables.FORGET, Map.of("score", lower), false);
        }
        for (Map.Entry<String, String> prefix : OU_PREFIXES.entrySet()) {
            if (!lower.startsWith(prefix.getKey())) {
                continue;
            }
            String split = prefix.getValue();
            String rest = lower.substring(prefix.getKey().length());
            boolean plainProbability = split.equals(EvalTables.FORGET) || split.equals(EvalTables.RETAIN)
                    || split.equals(EvalTables.HOLDOUT);
            return switch (rest) {
                // On real authors and world facts Q_A_Prob is exp(-mean NLL), not TOFU's normalized probability
                case "q_a_prob" -> new Target(split, plainProbability
                        ? orderedMap("prob", EvalTables.PROBABILITY, "avg_loss", EvalTables.MEAN_NLL)
                        : Map.of("avg_loss", EvalTables.MEAN_NLL), false);
                case "q_a_prob_normalised" -> new Target(split, Map.of("prob", EvalTables.PROBABILITY), false);
                case "q_a_rouge" -> new Target(split, orderedMap("rougeL_recall", EvalTables.ROUGE_L_RECALL,
                        "rougeL_f1", EvalTables.ROUGE_L_F1), true);
                case "q_a_para_prob" -> new Target(split, Map.of("avg_loss", EvalTables.PARAPHRASED_MEAN_NLL), false);
                case "q_a_pert_prob" -> new Target(split, Map.of("avg_loss", EvalTables.PERTURBED_MEAN_NLL), false);
                case "truth_ratio" -> new Target(split, Map.of("score", EvalTables.TRUTH_RATIO), false);
                case "extraction_strength", "exact_memorization" -> new Target(split, Map.of("score", rest), false);
                default -> null;
            };
        }
        return null;
    }

    /**
     * Reads {@code value_by_index}: per index, each field of {@code fields} (a number, a list of
     * numbers averaged, or null) as the Lethe metric it maps to. A ROUGE entry's generation goes
     * with its {@code rouge_l_recall}; its input and ground truth go to {@code items}.
     */
    private static void readByIndex(List<Value> values, JsonNode metric, String where, String split,
                                    Map<String, String> fields, Map<String, Item> items) {
        JsonNode byIndex = metric.get("value_by_index");
        if (byIndex == null || !byIndex.isObject()) {
            throw new IllegalArgumentException(where + ": missing value_by_index");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = byIndex.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String index = e.getKey();
            JsonNode sample = e.getValue();
            String at = where + " value_by_index[\"" + index + "\"]";
            if (sample != null && !sample.isNull() && !sample.isObject()) {
                throw new IllegalArgumentException(at + ": expected an object, got " + sample);
            }
            boolean none = sample == null || sample.isNull();
            String generation = none ? null : text(sample, "generation", at);
            if (items != null && !none) {
                String input = text(sample, "input", at);
                String groundTruth = text(sample, "ground_truth", at);
                if (input != null && groundTruth != null) {
                    items.put(index, new Item(input, groundTruth));
                }
            }
            for (Map.Entry<String, String> field : fields.entrySet()) {
                Double value = none ? null : number(sample.get(field.getKey()), at + " " + field.getKey());
                String lethe = field.getValue();
                values.add(new Value(split, index, lethe, value,
                        lethe.equals(EvalTables.ROUGE_L_RECALL) ? generation : null));
            }
        }
    }

    /** A number, the mean of a list of numbers (one per perturbed answer), or null. */
    private static Double number(JsonNode node, String where) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isNumber()) {
            return node.asDouble();
        }
        if (node.isArray() && !node.isEmpty()) {
            double sum = 0;
            for (JsonNode v : node) {
                if (!v.isNumber()) {
                    throw new IllegalArgumentException(where + ": expected numbers, got " + node);
                }
                sum += v.asDouble();
            }
            return sum / node.size();
        }
        throw new IllegalArgumentException(where + ": expected a number or a list of numbers, got " + node);
    }

    private static String text(JsonNode sample, String field, String where) {
        JsonNode node = sample.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new IllegalArgumentException(where + " " + field + ": expected a string, got " + node);
        }
        return node.asText();
    }

    private static JsonNode readJson(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read eval log " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": expected a JSON object");
        }
        return root;
    }

    private static Map<String, String> orderedMap(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
