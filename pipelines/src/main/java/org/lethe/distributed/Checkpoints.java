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
import org.lethe.storage.CommittedDirectory;
import org.lethe.storage.LocalModels;
import org.lethe.storage.Locations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.TreeMap;
import java.util.Map;
import java.util.Optional;

/**
 * Training checkpoints under an output location (a local directory or any Hadoop file system URI):
 * {@code checkpoint-<step>/} holds the model in the Hugging Face layout, {@code optimizer.safetensors}
 * (AdamW moments) and {@code trainer_state.json} (run id, global step, optimizer step, seed, config hash, the settings that determine the weights).
 * Each is written to local staging, then committed as a {@link CommittedDirectory} whose marker is
 * written last, so a crash leaves either a whole checkpoint or one no reader trusts; batches are a
 * pure function of (seed, epoch, sample id), so the global step is the whole data cursor.
 */
public final class Checkpoints {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
    private static final String PREFIX = "checkpoint-";

    /** A committed checkpoint: {@code dir} is its location as configs spell them (local path or URI). */
    /**
     * A committed checkpoint's state.
     *
     * @param runId the run that wrote it (null: an earlier Lethe did not record it)
     * @param settings the settings that determine its weights ({@link ResumeGuard#settings}; null: not
     *     recorded by an earlier Lethe)
     */
    public record Found(String dir, long globalStep, long optimizerStep, String configSha256, String runId,
            JsonNode settings) {}

    private Checkpoints() {}

    /**
     * The checkpoint location of a run: {@code location} when set, else
     * {@code <table root>/checkpoints/<run id>}; a local path, a file: URI or any Hadoop URI (checked
     * by {@link #location}, whose errors name {@code setting}, the config key it came from).
     */
    public static String output(org.lethe.store.TableStore store, String location, String setting, String runId) {
        return location(location.isEmpty() ? store.root() + "/checkpoints/" + runId : location, setting);
    }

    /**
     * {@code location} normalized: a local one (path or file: URI) as a local path, as before
     * checkpoints could live elsewhere; any other as its Hadoop path. An unparsable one is an error
     * naming {@code setting}.
     */
    public static String location(String location, String setting) {
        try {
            return Locations.isLocal(location) ? Locations.localPath(location).toString()
                    : new org.apache.hadoop.fs.Path(location).toString();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting + " must be a local directory or a Hadoop file system URI, got "
                    + location + ": " + e.getMessage(), e);
        }
    }

    /** The file that fingerprints a local checkpoint's weights: the adapter, the single file or the shard index. */
    public static Path weightsFile(Path checkpoint) {
        return checkpoint.resolve(weightsName(checkpoint));
    }

    private static String weightsName(Path checkpoint) {
        for (String name : new String[] {"adapter_model.safetensors", "model.safetensors"}) {
            if (Files.exists(checkpoint.resolve(name))) {
                return name;
            }
        }
        return "model.safetensors.index.json";
    }

    /**
     * The SHA-256 of a committed checkpoint's weights file (see {@link #weightsFile}), as its commit
     * marker lists it: the same value as hashing the file, without reading it again.
     */
    public static String weightsSha256(String checkpoint, Configuration conf) {
        org.apache.hadoop.fs.Path dir = Locations.hadoopPath(checkpoint);
        CommittedDirectory.Marker marker = CommittedDirectory.read(dir, conf).orElseThrow(
                () -> new IllegalStateException(checkpoint + ": no commit marker " + CommittedDirectory.MARKER));
        for (String name : new String[] {"adapter_model.safetensors", "model.safetensors",
                "model.safetensors.index.json"}) {
            Optional<CommittedDirectory.FileEntry> f = marker.file(name);
            if (f.isPresent()) {
                return f.get().sha256();
            }
        }
        throw new IllegalStateException(checkpoint + ": no adapter_model.safetensors, model.safetensors or"
                + " model.safetensors.index.json in its commit marker");
    }

    /**
     * Writes {@code checkpoint-<step>} under {@code output}, replacing one of the same step: to
     * {@code .staging-checkpoint-<step>} beside it when local (then renamed into place), else to a
     * local scratch directory whose files are copied up; committed by its marker, written last.
     *
     * @return the checkpoint's location
     */
    public static String save(String output, LanguageModel model, AdamW optimizer, long globalStep, long seed,
            String configSha256, String runId, JsonNode settings) {
        String dir = Locations.resolve(output, PREFIX + globalStep);
        return commit(dir, PREFIX + globalStep, staging -> {
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
            if (settings != null) {
                state.set("settings", settings);
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(staging.resolve("trainer_state.json").toFile(), state);
        });
    }

    /** What a committed directory's staging receives. */
    @FunctionalInterface
    public interface Writer {
        void write(Path staging) throws IOException;
    }

    /**
     * Writes a directory through {@code writer} into local staging and commits it as {@code target}
     * (see {@link #save}); {@code name} names the staging directory beside a local target.
     *
     * @return {@code target}
     */
    public static String commit(String target, String name, Writer writer) {
        boolean local = Locations.isLocal(target);
        Path staging = null;
        try {
            if (local) {
                Path dir = Locations.localPath(target);
                Files.createDirectories(dir.toAbsolutePath().getParent());
                staging = dir.resolveSibling(".staging-" + name);
                LocalFiles.deleteTree(staging);
            } else {
                staging = Files.createTempDirectory("lethe-staging-").resolve(name);
            }
            writer.write(staging);
            CommittedDirectory.commit(staging, Locations.hadoopPath(target), LocalModels.hadoopConfiguration());
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            if (staging != null) {
                LocalFiles.deleteTree(local ? staging : staging.getParent());
            }
        }
    }

    /**
     * The committed checkpoint with the highest step under {@code output}, if any (see
     * {@link #committedDirs}).
     */
    public static Optional<Found> latest(String output) {
        List<String> dirs = committedDirs(output);
        return dirs.isEmpty() ? Optional.empty() : Optional.of(read(dirs.get(dirs.size() - 1)));
    }

    /**
     * The committed {@code checkpoint-<step>} directories under {@code output}, in step order. One
     * without a commit marker (its writer stopped before committing it, or an earlier Lethe wrote it)
     * is skipped with a warning naming it.
     */
    public static List<String> committedDirs(String output) {
        Configuration conf = LocalModels.hadoopConfiguration();
        org.apache.hadoop.fs.Path root = Locations.hadoopPath(output);
        FileStatus[] children;
        try {
            FileSystem fs = root.getFileSystem(conf);
            if (!fs.exists(root)) {
                return List.of();
            }
            children = fs.listStatus(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + output + ": " + e.getMessage(), e);
        }
        TreeMap<Long, String> committed = new TreeMap<>();
        for (FileStatus child : children) {
            String name = child.getPath().getName();
            if (!child.isDirectory() || !name.matches(PREFIX + "[0-9]+")) {
                continue;
            }
            String dir = Locations.resolve(output, name);
            if (CommittedDirectory.read(child.getPath(), conf).isEmpty()) {
                LOG.warn("{}: no commit marker {} (its writer stopped before committing it, or an earlier Lethe"
                        + " wrote it): skipped", dir, CommittedDirectory.MARKER);
                continue;
            }
            committed.put(Long.parseLong(name.substring(PREFIX.length())), dir);
        }
        return new ArrayList<>(committed.values());
    }

    private static Found read(String dir) {
        org.apache.hadoop.fs.Path state = new org.apache.hadoop.fs.Path(Locations.hadoopPath(dir),
                "trainer_state.json");
        try (InputStream in = state.getFileSystem(LocalModels.hadoopConfiguration()).open(state)) {
            JsonNode s = JSON.readTree(in);
            return new Found(dir, s.get("global_step").asLong(), s.get("optimizer_step").asLong(),
                    s.get("config_sha256").asText(), s.hasNonNull("run_id") ? s.get("run_id").asText() : null,
                    s.hasNonNull("settings") ? s.get("settings") : null);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(state + ": unreadable checkpoint state: " + e.getMessage(), e);
        }
    }

    /** Loads a checkpoint's AdamW moments into {@code optimizer}. */
    public static void restoreOptimizer(Found checkpoint, AdamW optimizer, NDManager manager) {
        LocalModels.load(checkpoint.dir(), local -> {
            restoreOptimizer(local.resolve("optimizer"), checkpoint, optimizer, manager);
            return null;
        });
    }

    private static void restoreOptimizer(Path dir, Found checkpoint, AdamW optimizer, NDManager manager) {
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
