package org.lethe.distributed;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.io.CheckpointTensors;
import org.lethe.model.io.LocalFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Training checkpoints under an output directory: {@code checkpoint-<step>/} holds the model in the
 * Hugging Face layout, {@code optimizer.safetensors} (AdamW moments) and {@code trainer_state.json}
 * (global step, optimizer step, seed, config hash). Each is committed by one rename, so a crash
 * leaves either the whole checkpoint or none; batches are a pure function of (seed, epoch, sample
 * id), so the global step is the whole data cursor.
 */
public final class Checkpoints {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "checkpoint-";

    /** A checkpoint found on disk. */
    public record Found(Path dir, long globalStep, long optimizerStep, String configSha256) {}

    private Checkpoints() {}

    /**
     * The checkpoint directory of a run: {@code location} when set, else
     * {@code <table root>/checkpoints/<run id>}; a local path or file: URI (other file systems
     * later), else an error naming {@code setting} (the config key it came from).
     */
    public static Path output(org.lethe.store.TableStore store, String location, String setting, String runId) {
        return localDirectory(location.isEmpty() ? store.root() + "/checkpoints/" + runId : location, setting);
    }

    /** {@code location} as a local path when it is one (a path or a file: URI), else an error naming {@code setting}. */
    public static Path localDirectory(String location, String setting) {
        java.net.URI uri = new org.apache.hadoop.fs.Path(location).toUri();
        if (uri.getScheme() != null && !uri.getScheme().equals("file")) {
            throw new IllegalArgumentException(setting + " must be a local directory for now, got " + location);
        }
        return Path.of(uri.getPath());
    }

    /** The file that fingerprints a checkpoint's weights: the adapter, the single file or the shard index. */
    public static Path weightsFile(Path checkpoint) {
        for (String name : new String[] {"adapter_model.safetensors", "model.safetensors"}) {
            if (Files.exists(checkpoint.resolve(name))) {
                return checkpoint.resolve(name);
            }
        }
        return checkpoint.resolve("model.safetensors.index.json");
    }

    /** Writes {@code checkpoint-<step>} under {@code output}, replacing one of the same step. */
    public static Path save(Path output, LanguageModel model, AdamW optimizer, long globalStep, long seed,
            String configSha256, String runId) {
        Path dir = output.resolve(PREFIX + globalStep);
        Path staging = output.resolve(".staging-" + PREFIX + globalStep);
        try {
            Files.createDirectories(output);
            model.save(staging);
            LinkedHashMap<String, NDArray> moments = new LinkedHashMap<>();
            optimizer.firstMoments().forEach((k, v) -> moments.put("exp_avg." + k, v));
            optimizer.secondMoments().forEach((k, v) -> moments.put("exp_avg_sq." + k, v));
            if (!moments.isEmpty()) {
                CheckpointTensors.write(staging.resolve("optimizer"), moments, Long.MAX_VALUE);
            }
            ObjectNode state = JSON.createObjectNode();
            state.put("run_id", runId);
            state.put("global_step", globalStep);
            state.put("optimizer_step", optimizer.step());
            state.put("seed", seed);
            state.put("config_sha256", configSha256);
            JSON.writerWithDefaultPrettyPrinter().writeValue(staging.resolve("trainer_state.json").toFile(), state);
            if (!LocalFiles.deleteTree(dir)) {
                throw new IOException("cannot remove the previous " + dir);
            }
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            return dir;
        } catch (IOException e) {
            LocalFiles.deleteTree(staging);
            throw new UncheckedIOException("cannot write checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The checkpoint with the highest step under {@code output}, if any. */
    public static Optional<Found> latest(Path output) {
        if (!Files.isDirectory(output)) {
            return Optional.empty();
        }
        try (Stream<Path> dirs = Files.list(output)) {
            return dirs.filter(p -> p.getFileName().toString().matches(PREFIX + "[0-9]+"))
                    .filter(p -> Files.isRegularFile(p.resolve("trainer_state.json")))
                    .map(Checkpoints::read)
                    .max((a, b) -> Long.compare(a.globalStep(), b.globalStep()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + output + ": " + e.getMessage(), e);
        }
    }

    private static Found read(Path dir) {
        try {
            JsonNode s = JSON.readTree(dir.resolve("trainer_state.json").toFile());
            return new Found(dir, s.get("global_step").asLong(), s.get("optimizer_step").asLong(),
                    s.get("config_sha256").asText());
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(dir.resolve("trainer_state.json") + ": unreadable checkpoint state: "
                    + e.getMessage(), e);
        }
    }

    /** Loads a checkpoint's AdamW moments into {@code optimizer}. */
    public static void restoreOptimizer(Found checkpoint, AdamW optimizer, NDManager manager) {
        Path dir = checkpoint.dir().resolve("optimizer");
        Map<String, NDArray> first = new LinkedHashMap<>();
        Map<String, NDArray> second = new LinkedHashMap<>();
        if (Files.isDirectory(dir)) {
            try (NDManager m = manager.newSubManager(); CheckpointTensors t = CheckpointTensors.open(dir)) {
                for (String name : t.names()) {
                    NDArray a = t.read(m, name, DataType.FLOAT32);
                    if (name.startsWith("exp_avg_sq.")) {
                        second.put(name.substring("exp_avg_sq.".length()), a);
                    } else {
                        first.put(name.substring("exp_avg.".length()), a);
                    }
                }
                optimizer.restore(checkpoint.optimizerStep(), first, second);
            }
        } else {
            optimizer.restore(checkpoint.optimizerStep(), first, second);
        }
    }
}
