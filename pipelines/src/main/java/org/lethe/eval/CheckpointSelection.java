package org.lethe.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;
import org.lethe.distributed.Checkpoints;
import org.lethe.storage.CommittedDirectory;
import org.lethe.storage.LocalModels;
import org.lethe.store.TableStore;
import org.lethe.store.Tables;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;

/**
 * Which checkpoints {@code evaluate} scores and at which step (a model directory, or a training
 * output's {@code checkpoint-<step>} directories), and which evaluated step {@code --select best}
 * picks from a run's {@code eval_summary}.
 */
final class CheckpointSelection {

    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointSelection() {}

    /** Whether {@code dir} holds a model (or a PEFT adapter) rather than checkpoints. */
    static boolean isModelDir(String dir) {
        return LocalModels.hasFile(dir, "config.json") || LocalModels.hasFile(dir, "adapter_config.json");
    }

    /**
     * The model directories to evaluate for {@code --model dir}: {@code dir} itself when it is a
     * model directory, else its {@code checkpoint-<step>} subdirectories in step order, which
     * requires {@code step} -1 (each is evaluated at its own step).
     */
    static List<String> models(String dir, long step) {
        if (isModelDir(dir)) {
            return List.of(dir);
        }
        List<String> checkpoints = Checkpoints.committedDirs(dir);
        if (checkpoints.isEmpty()) {
            throw new IllegalArgumentException("--model: " + dir + " is neither a model directory (no config.json) nor"
                    + " a training output with committed checkpoint-<step> directories (each with "
                    + CommittedDirectory.MARKER + ")");
        }
        if (step != -1) {
            throw new IllegalArgumentException("lethe.eval.step must be -1 when --model holds several checkpoints"
                    + " (each is evaluated at its own step)");
        }
        return checkpoints;
    }

    /** {@code step} when >= 0, else (-1) the checkpoint's global step from its trainer_state.json, or 0. */
    static long step(long step, String modelDir) {
        if (step >= 0) {
            return step;
        }
        Optional<byte[]> state = LocalModels.readFile(modelDir, "trainer_state.json");
        if (state.isEmpty()) {
            return 0;
        }
        try {
            JsonNode s = JSON.readTree(state.get());
            return s.path("global_step").asLong(0);
        } catch (IOException e) {
            throw new UncheckedIOException(modelDir + "/trainer_state.json: unreadable: " + e.getMessage(), e);
        }
    }

    /**
     * The best evaluated step of {@code runId} by {@code rule}: the highest metric among the steps
     * whose model utility meets the condition; ties go to the earlier step.
     */
    static EvaluateJob.Selection best(TableStore store, EvaluateRequest.Select rule, String runId) {
        String metric = rule.metric();
        double ratio = rule.minUtilityRatio();
        String reference = rule.utilityReferenceRun();
        Double floor = null;
        String text = "max " + metric;
        if (reference != null) {
            List<Row> ref = store.read(Tables.EVAL_SUMMARY).filter(col("run_id").equalTo(reference)
                    .and(col("metric").equalTo(EvalTables.MODEL_UTILITY)).and(col("value").isNotNull()))
                    .orderBy(col("step").desc()).limit(1).collectAsList();
            if (ref.isEmpty()) {
                throw new IllegalArgumentException("lethe.eval.select.utility_reference_run: run '" + reference
                        + "' has no model_utility in eval_summary; evaluate it first");
            }
            floor = ratio * ref.get(0).getDouble(ref.get(0).fieldIndex("value"));
            text += " with model_utility >= " + ratio + " x " + reference + "'s (" + floor + ")";
        }
        Map<Long, Double> values = new TreeMap<>();
        Map<Long, Double> utility = new TreeMap<>();
        for (Row r : store.read(Tables.EVAL_SUMMARY).filter(col("run_id").equalTo(runId)
                .and(col("metric").isin(metric, EvalTables.MODEL_UTILITY))).collectAsList()) {
            long step = r.getLong(r.fieldIndex("step"));
            Double v = r.isNullAt(r.fieldIndex("value")) ? null : r.getDouble(r.fieldIndex("value"));
            if (r.getString(r.fieldIndex("metric")).equals(metric)) {
                if (v != null) {
                    values.put(step, v);
                }
            } else {
                utility.put(step, v);
            }
        }
        EvaluateJob.Selection best = null;
        for (Map.Entry<Long, Double> e : values.entrySet()) {
            Double u = utility.get(e.getKey());
            if (floor != null && (u == null || u < floor)) {
                continue;
            }
            if (best == null || e.getValue() > best.value()) {
                best = new EvaluateJob.Selection(e.getKey(), e.getValue(), u, text);
            }
        }
        if (best == null) {
            throw new IllegalStateException("evaluate --select best: no evaluated step of run " + runId + " satisfies "
                    + text + " (steps with " + metric + ": " + values.keySet() + ")");
        }
        return best;
    }
}
