package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lethe.model.io.ModelFormatException;
import org.lethe.model.io.SafetensorsFile;
import org.lethe.model.io.SafetensorsWriter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The PEFT LoRA adapter directory layout: {@code adapter_config.json} (what PEFT's
 * {@code LoraConfig} writes) beside {@code adapter_model.safetensors} (float32, PEFT names).
 */
final class PeftAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(PeftAdapter.class);
    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    static final String CONFIG_FILE = "adapter_config.json";
    static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PEFT's shorthand for every linear layer but the output head. */
    private static final String ALL_LINEAR = "all-linear";
    /** PEFT options this implementation does not carry out: each must be absent, null, false or empty. */
    private static final List<String> UNSUPPORTED = List.of("use_rslora", "use_dora", "fan_in_fan_out",
            "modules_to_save", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern");

    private PeftAdapter() {}

    /** What an adapter_config.json says: the adapter settings and the base model directory. */
    record Config(LoraSettings settings, Path baseDir) {}

    /** Whether {@code dir} is an adapter directory rather than a full model. */
    static boolean isAdapterDir(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG_FILE));
    }

    /**
     * Reads and validates {@code dir/adapter_config.json}; the base directory is
     * {@code base_model_name_or_path}, absolute or relative to {@code dir}.
     */
    static Config readConfig(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file + ": expected a JSON object");
        }
        String peftType = root.path("peft_type").asText(null);
        if (!"LORA".equals(peftType)) {
            throw new ModelFormatException(file + ": 'peft_type' is " + root.get("peft_type")
                    + ", expected \"LORA\"");
        }
        JsonNode task = root.get("task_type");
        if (task != null && !task.isNull() && !"CAUSAL_LM".equals(task.asText())) {
            throw new ModelFormatException(file + ": 'task_type' is " + task + ", expected \"CAUSAL_LM\"");
        }
        JsonNode r = root.get("r");
        if (r == null || !r.canConvertToInt() || !r.isIntegralNumber() || r.intValue() <= 0) {
            throw new ModelFormatException(file + ": 'r' must be a positive integer, got " + r);
        }
        JsonNode alpha = root.get("lora_alpha");
        if (alpha == null || !alpha.isNumber() || !(alpha.doubleValue() > 0)) {
            throw new ModelFormatException(file + ": 'lora_alpha' must be a number > 0, got " + alpha);
        }
        List<String> targets = targetModules(root.get("target_modules"), file);
        JsonNode bias = root.get("bias");
        if (bias != null && !bias.isNull() && !"none".equals(bias.asText())) {
            throw new ModelFormatException(file + ": 'bias' is " + bias
                    + ", but only \"none\" is supported (no bias terms are trained)");
        }
        for (String key : UNSUPPORTED) {
            JsonNode v = root.get(key);
            boolean unset = v == null || v.isNull() || (v.isBoolean() && !v.booleanValue())
                    || (v.isContainerNode() && v.isEmpty());
            if (!unset) {
                throw new ModelFormatException(file + ": '" + key + "' = " + v + " is not supported");
            }
        }
        JsonNode dropout = root.get("lora_dropout");
        if (dropout != null && !dropout.isNull() && (!dropout.isNumber() || dropout.doubleValue() < 0)) {
            throw new ModelFormatException(file + ": 'lora_dropout' must be a number >= 0, got " + dropout);
        }
        if (dropout != null && dropout.doubleValue() > 0) {
            LOG.warn("{}: lora_dropout = {} is ignored (adapters here train without dropout)", file, dropout);
        }
        JsonNode seed = root.get("lethe_seed");
        if (seed != null && !seed.isNull() && !seed.canConvertToLong()) {
            throw new ModelFormatException(file + ": 'lethe_seed' must be an integer, got " + seed);
        }
        LoraSettings settings = new LoraSettings(r.intValue(), alpha.doubleValue(), targets,
                seed == null || seed.isNull() ? 0 : seed.longValue());
        return new Config(settings, baseDir(root.get("base_model_name_or_path"), dir, file));
    }

    private static List<String> targetModules(JsonNode node, Path file) {
        List<String> names = new ArrayList<>();
        if (node != null && node.isTextual()) {
            // A string is a regex in PEFT; only the names that match exactly one projection are supported.
            if (node.asText().equals(ALL_LINEAR)) {
                return LoraSettings.PROJECTIONS;
            }
            names.add(node.asText());
        } else if (node != null && node.isArray() && !node.isEmpty()) {
            for (JsonNode n : node) {
                if (!n.isTextual()) {
                    throw new ModelFormatException(file + ": 'target_modules' holds " + n
                            + ", expected module names");
                }
                if (!names.contains(n.asText())) {
                    names.add(n.asText());
                }
            }
        } else {
            throw new ModelFormatException(file + ": 'target_modules' must be a non-empty list of"
                    + " module names, got " + node);
        }
        for (String n : names) {
            if (!LoraSettings.PROJECTIONS.contains(n)) {
                throw new ModelFormatException(file + ": 'target_modules' names unknown module '" + n
                        + "' (expected among " + String.join(", ", LoraSettings.PROJECTIONS)
                        + ", or \"" + ALL_LINEAR + "\")");
            }
        }
        // Canonical order: PEFT stores target_modules as an unordered set.
        List<String> ordered = new ArrayList<>(LoraSettings.PROJECTIONS);
        ordered.retainAll(names);
        return ordered;
    }

    private static Path baseDir(JsonNode node, Path dir, Path file) {
        if (node == null || !node.isTextual() || node.asText().isBlank()) {
            throw new ModelFormatException(file + ": 'base_model_name_or_path' must name the base"
                    + " model directory, got " + node);
        }
        Path named = Path.of(node.asText());
        Path base = named.isAbsolute() ? named : dir.resolve(named).normalize();
        if (!Files.isDirectory(base)) {
            throw new ModelFormatException(file + ": 'base_model_name_or_path' = '" + node.asText()
                    + "' is not a directory (resolved to " + base.toAbsolutePath() + ")");
        }
        if (isAdapterDir(base)) {
            throw new ModelFormatException(file + ": 'base_model_name_or_path' = '" + node.asText()
                    + "' is itself an adapter directory; the base must be a full model");
        }
        return base;
    }

    /**
     * Checks that {@code weights} holds exactly the adapter tensors {@code expected} (PEFT name to
     * shape) with those shapes.
     */
    static void checkTensors(SafetensorsFile weights, Map<String, Shape> expected, Config config) {
        Path file = weights.path();
        LoraSettings s = config.settings();
        for (Map.Entry<String, Shape> e : expected.entrySet()) {
            if (!weights.has(e.getKey())) {
                throw new ModelFormatException(file + ": missing tensor '" + e.getKey() + "' (expected shape "
                        + e.getValue() + " for target_modules " + s.targetModules() + ")");
            }
            Shape actual = new Shape(weights.info(e.getKey()).shape());
            if (!actual.equals(e.getValue())) {
                throw new ModelFormatException(file + ": tensor '" + e.getKey() + "' has shape " + actual
                        + " but r = " + s.rank() + " and the base model " + config.baseDir()
                        + " imply " + e.getValue());
            }
        }
        for (String name : weights.names()) {
            if (!expected.containsKey(name)) {
                throw new ModelFormatException(file + ": unexpected tensor '" + name
                        + "' (not a LoRA matrix of the target_modules " + s.targetModules()
                        + " in " + CONFIG_FILE + ")");
            }
        }
    }

    /**
     * Writes both files into {@code dir}: the adapter matrices (by PEFT name, in order) as float32
     * and the config naming {@code baseModel}.
     */
    static void write(Path dir, LoraSettings settings, String baseModel, Map<String, NDArray> tensors)
            throws IOException {
        SafetensorsWriter.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of(), DataType.FLOAT32);
        ObjectNode cfg = JSON.createObjectNode();
        // PEFT's LoraConfig fields with their values for this adapter (defaults where Lethe has none).
        cfg.putObject("alpha_pattern");
        cfg.putNull("auto_mapping");
        cfg.put("base_model_name_or_path", baseModel);
        cfg.put("bias", "none");
        cfg.put("fan_in_fan_out", false);
        cfg.put("inference_mode", true);
        cfg.put("init_lora_weights", true);
        cfg.putNull("layers_pattern");
        cfg.putNull("layers_to_transform");
        cfg.put("lethe_seed", settings.seed());
        double alpha = settings.alpha();
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < Integer.MAX_VALUE) {
            cfg.put("lora_alpha", (int) alpha); // PEFT declares lora_alpha an int
        } else {
            cfg.put("lora_alpha", alpha);
        }
        cfg.put("lora_dropout", 0.0);
        cfg.putNull("modules_to_save");
        cfg.put("peft_type", "LORA");
        cfg.put("r", settings.rank());
        cfg.putObject("rank_pattern");
        cfg.putNull("revision");
        ArrayNode targets = cfg.putArray("target_modules");
        settings.targetModules().forEach(targets::add);
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("use_dora", false);
        cfg.put("use_rslora", false);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(CONFIG_FILE).toFile(), cfg);
    }
}
