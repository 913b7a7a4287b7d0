package org.lethe.distributed;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.lethe.config.LetheConfig;

/**
 * Which checkpoint a run may resume from. A checkpoint's {@code trainer_state.json} records its
 * run id and the settings that determine its weights ({@link #settings}: the job's section, {@code
 * lethe.lora}, {@code lethe.model.dtype}); a run resumes only its own checkpoints written under the
 * same settings, except {@code max_steps} and {@code checkpoint_every_steps} (where to stop and save),
 * {@code abort_grad_norm} (whether to stop) and, when both use {@code reduce = ordered}, {@code partitions} (ordered sums do not depend on
 * the partitioning). A longer {@code epochs} would change the learning-rate schedule, so it counts.
 */
public final class ResumeGuard {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Keys of the job's section that may change on resume: where it stops and saves, and the abort
     * threshold (it only decides whether to stop, never the weights). Where it writes ({@code
     * output}, {@code resume}) is not recorded at all.
     */
    static final Set<String> MAY_CHANGE = Set.of("max_steps", "checkpoint_every_steps", "abort_grad_norm");

    private ResumeGuard() {}

    /** The settings of {@code config} that determine the weights of a {@code section} ("train", "unlearn") run. */
    public static ObjectNode settings(LetheConfig config, String section) {
        JsonNode lethe;
        try {
            lethe = JSON.readTree(config.toJson()).path(LetheConfig.ROOT);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a config's JSON did not parse", e);
        }
        ObjectNode out = JSON.createObjectNode();
        ObjectNode job = lethe.path(section).deepCopy();
        job.remove(List.of("output", "resume")); // where it writes: no part of what it computes
        out.set(section, job);
        out.set("lora", lethe.path("lora").deepCopy());
        out.putObject("model").set("dtype", lethe.path("model").path("dtype").deepCopy());
        return out;
    }

    /**
     * Checks that run {@code runId}, with {@code settings} and config fingerprint {@code
     * configSha256}, may resume from {@code found}.
     *
     * @throws IllegalArgumentException naming the checkpoint, and the run id or every differing key
     *     with both values
     */
    public static void check(Checkpoints.Found found, String runId, String configSha256, JsonNode settings,
            String section) {
        String off = "; start over with lethe." + section + ".resume=false, or give this run its own lethe." + section
                + ".output";
        if (found.runId() != null && !found.runId().equals(runId)) {
            throw new IllegalArgumentException(found.dir() + " is a checkpoint of run '" + found.runId() + "', not of run '"
                    + runId + "': a run resumes only its own checkpoints" + off);
        }
        if (found.settings() == null) {
            if (!found.configSha256().equals(configSha256)) {
                throw new IllegalArgumentException(found.dir() + " was written under another config (config_sha256 "
                        + found.configSha256() + ", this run's " + configSha256 + "; it records no settings to compare"
                        + " key by key)" + off);
            }
            return;
        }
        Map<String, JsonNode> then = flat(found.settings());
        Map<String, JsonNode> now = flat(settings);
        boolean ordered = text(then.get(section + ".reduce")).equals("\"ordered\"")
                && text(now.get(section + ".reduce")).equals("\"ordered\"");
        List<String> differ = new ArrayList<>();
        TreeMap<String, JsonNode> keys = new TreeMap<>(then);
        now.forEach(keys::putIfAbsent);
        for (String key : keys.keySet()) {
            String leaf = key.startsWith(section + ".") ? key.substring(section.length() + 1) : null;
            if (leaf != null && (MAY_CHANGE.contains(leaf) || (ordered && leaf.equals("partitions")))) {
                continue;
            }
            if (!text(then.get(key)).equals(text(now.get(key)))) {
                differ.add("lethe." + key + " (" + text(then.get(key)) + " there, " + text(now.get(key)) + " here)");
            }
        }
        if (!differ.isEmpty()) {
            throw new IllegalArgumentException(found.dir() + " was written with other settings than this run's: "
                    + String.join(", ", differ) + "; only max_steps, checkpoint_every_steps, abort_grad_norm and,"
                    + " under reduce = ordered, partitions may change on resume" + off);
        }
    }

    private static String text(JsonNode n) {
        return n == null ? "unset" : n.toString();
    }

    private static Map<String, JsonNode> flat(JsonNode settings) {
        Map<String, JsonNode> out = new TreeMap<>();
        flat("", settings, out);
        return out;
    }

    private static void flat(String prefix, JsonNode node, Map<String, JsonNode> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                flat(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else {
            out.put(prefix, node);
        }
    }
}
