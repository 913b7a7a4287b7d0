package org.lethe.model.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The tensors of a Hugging Face model directory, whether stored in one {@code model.safetensors}
 * or sharded behind {@code model.safetensors.index.json}, read one tensor at a time.
 *
 * <p>{@link #write} saves tensors in the same layout, replacing any previous checkpoint in the
 * directory without ever leaving a half-written one behind. Other files of the directory
 * ({@code config.json}, the tokenizer) are never touched.
 */
public final class CheckpointTensors implements AutoCloseable {

    /** The file of an unsharded checkpoint. */
    public static final String SINGLE_FILE = "model.safetensors";

    /** The index of a sharded checkpoint: which shard holds each tensor. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    /** Shards as Hugging Face names them; matches of this are replaced by a new save. */
    private static final Pattern SHARD_FILE = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private static final String STAGING_PREFIX = ".lethe-staging-";

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path dir;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> fileOf;
    private final List<String> names;

    private CheckpointTensors(Path dir, List<SafetensorsFile> files, Map<String, SafetensorsFile> fileOf) {
        this.dir = dir;
        this.files = List.copyOf(files);
        this.fileOf = Collections.unmodifiableMap(fileOf);
        this.names = List.copyOf(fileOf.keySet());
    }

    /**
     * Opens the checkpoint of a model directory: {@code model.safetensors} if present (as
     * transformers prefers it), else the shards listed by {@code model.safetensors.index.json},
     * checking that every shard exists and holds the tensors the index assigns to it.
     *
     * @param modelDir the model directory
     * @return the open checkpoint; close it when done
     * @throws ModelFormatException if the directory holds no valid checkpoint
     */
    public static CheckpointTensors open(Path modelDir) {
        if (!Files.isDirectory(modelDir)) {
            throw new ModelFormatException(
                    modelDir
                            + ": model directory "
                            + (Files.exists(modelDir) ? "is not a directory" : "does not exist"));
        }
        Path single = modelDir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafetensorsFile file = SafetensorsFile.open(single);
            Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
            for (String name : file.names()) {
                fileOf.put(name, file);
            }
            return new CheckpointTensors(modelDir, List.of(file), fileOf);
        }
        Path index = modelDir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(modelDir, index);
        }
        throw new ModelFormatException(
                modelDir
                        + ": no checkpoint found: neither "
                        + SINGLE_FILE
                        + " nor "
                        + INDEX_FILE
                        + " is in this directory (expected a Hugging Face model directory)");
    }

    private static CheckpointTensors openSharded(Path dir, Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(index + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException(index + ": cannot read (" + e + ")", e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
            throw new ModelFormatException(
                    index + ": expected a non-empty \"weight_map\" object of tensor name to shard file");
        }

        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String tensor = e.getKey();
                String shardName = e.getValue().isTextual() ? e.getValue().asText() : null;
                if (!isPlainFileName(shardName)) {
                    throw new ModelFormatException(
                            String.format(
                                    "%s: tensor '%s' is mapped to %s, expected the file name of a"
                                            + " shard in the same directory",
                                    index, tensor, e.getValue()));
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    Path shardPath = dir.resolve(shardName);
                    if (!Files.isRegularFile(shardPath)) {
                        throw new ModelFormatException(
                                String.format(
                                        "%s: tensor '%s' is mapped to shard '%s', which does not"
                                                + " exist in %s",
                                        index, tensor, shardName, dir));
                    }
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.has(tensor)) {
                    throw new ModelFormatException(
                            String.format(
                                    "%s: tensor '%s' is mapped to shard '%s', but that shard has no"
                                            + " such tensor (it has %d tensors)",
                                    index, tensor, shardName, shard.names().size()));
                }
                fileOf.put(tensor, shard);
            }
        } catch (RuntimeException ex) {
            for (SafetensorsFile f : shards.values()) {
                try {
                    f.close();
                } catch (RuntimeException closeFailure) {
                    ex.addSuppressed(closeFailure);
                }
            }
            throw ex;
        }
        return new CheckpointTensors(dir, new ArrayList<>(shards.values()), fileOf);
    }

    /** The model directory. */
    public Path directory() {
        return dir;
    }

    /** The safetensors files of this checkpoint (one, or the shards in index order). */
    public List<Path> files() {
        return files.stream().map(SafetensorsFile::path).toList();
    }

    /** All tensor names: file order for a single file, index order for shards. */
    public List<String> names() {
        return names;
    }

    /** Whether the checkpoint has a tensor of this name. */
    public boolean has(String name) {
        return fileOf.containsKey(name);
    }

    /**
     * The header's description of one tensor.
     *
     * @throws IllegalArgumentException if there is no such tensor
     */
    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** The total size of all tensors' data in bytes (the index's {@code total_size}). */
    public long totalBytes() {
        long total = 0;
        for (String name : names) {
            total += info(name).byteSize();
        }
        return total;
    }

    /**
     * Reads one tensor as a new array of {@code computeType} owned by {@code manager}.
     *
     * @see SafetensorsFile#read(NDManager, String, DataType)
     */
    public NDArray read(NDManager manager, String name, DataType computeType) {
        return file(name).read(manager, name, computeType);
    }

    /**
     * Reads one tensor in its own type (BF16 widened to FLOAT32).
     *
     * @see SafetensorsFile#read(NDManager, String)
     */
    public NDArray read(NDManager manager, String name) {
        return file(name).read(manager, name);
    }

    /** Closes every file; arrays already read stay valid. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile f : files) {
            try {
                f.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    @Override
    public String toString() {
        return "CheckpointTensors["
                + dir + ", " + names.size() + " tensors in " + files.size() + " file(s)]";
    }

    private SafetensorsFile file(String name) {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new IllegalArgumentException(
                    String.format(
                            "%s: the checkpoint has no tensor named '%s' (it has %d tensors)",
                            dir, name, names.size()));
        }
        return f;
    }

    /**
     * Saves tensors as a checkpoint, each in its own type.
     *
     * @see #write(Path, LinkedHashMap, Map, DataType, long)
     */
    public static List<Path> write(
            Path dir, LinkedHashMap<String, ? extends NDArray> tensors, long maxShardBytes) {
        return write(dir, tensors, Map.of(), null, maxShardBytes);
    }

    /**
     * Saves tensors into {@code dir} in the Hugging Face layout: one {@code model.safetensors}
     * when their data fits in {@code maxShardBytes}, else shards {@code
     * model-00001-of-0000K.safetensors} filled in order up to that size (a larger tensor gets a
     * shard of its own) plus {@code model.safetensors.index.json}.
     *
     * <p>Everything is first written into a staging directory inside {@code dir} (so the final
     * renames stay on one file system even when {@code dir} is a mount point). If anything
     * fails there, the previous checkpoint is untouched. Only then are the previous checkpoint's
     * files removed, entry point first, and the new ones renamed in, entry point last: a crash
     * in that short window leaves a directory that {@link #open} rejects with a clear message,
     * never one that mixes two checkpoints.
     *
     * @param dir the model directory, created if missing
     * @param tensors the tensors in file order
     * @param metadata extra {@code __metadata__} entries for every file
     * @param floatStorage the type floating-point tensors are stored as, or null for their own
     * @param maxShardBytes the largest data size of one file
     * @return the files written: the single file, or the shards followed by the index
     */
    public static List<Path> write(
            Path dir,
            LinkedHashMap<String, ? extends NDArray> tensors,
            Map<String, String> metadata,
            DataType floatStorage,
            long maxShardBytes) {
        Objects.requireNonNull(tensors, "tensors");
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException(dir + ": refusing to save a checkpoint with no tensors");
        }

        List<LinkedHashMap<String, NDArray>> shards = new ArrayList<>();
        LinkedHashMap<String, NDArray> current = new LinkedHashMap<>();
        long currentBytes = 0;
        long totalBytes = 0;
        for (Map.Entry<String, ? extends NDArray> e : tensors.entrySet()) {
            SafetensorsWriter.requireWritable(e.getKey(), e.getValue());
            long bytes = SafetensorsWriter.storedBytes(e.getValue(), floatStorage);
            if (!current.isEmpty() && currentBytes + bytes > maxShardBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                currentBytes = 0;
            }
            current.put(e.getKey(), e.getValue());
            currentBytes += bytes;
            totalBytes += bytes;
        }
        shards.add(current);

        try {
            Files.createDirectories(dir);
            Path staging = Files.createDirectory(dir.resolve(STAGING_PREFIX + UUID.randomUUID()));
            try {
                List<String> written = new ArrayList<>();
                if (shards.size() == 1) {
                    SafetensorsWriter.write(staging.resolve(SINGLE_FILE), tensors, metadata, floatStorage);
                    written.add(SINGLE_FILE);
                } else {
                    ObjectNode index = JSON.createObjectNode();
                    index.putObject("metadata").put("total_size", totalBytes);
                    ObjectNode weightMap = index.putObject("weight_map");
                    for (int i = 0; i < shards.size(); i++) {
                        String shardName =
                                String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                        SafetensorsWriter.write(
                                staging.resolve(shardName), shards.get(i), metadata, floatStorage);
                        for (String tensor : shards.get(i).keySet()) {
                            weightMap.put(tensor, shardName);
                        }
                        written.add(shardName);
                    }
                    JSON.writerWithDefaultPrettyPrinter()
                            .writeValue(staging.resolve(INDEX_FILE).toFile(), index);
                    written.add(INDEX_FILE);
                }
                commit(dir, staging, written);
                return written.stream().map(dir::resolve).toList();
            } finally {
                LocalFiles.deleteTree(staging); // a leftover hidden staging dir is never opened
            }
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot save the checkpoint (" + e + ")", e);
        }
    }

    /** Replaces the previous checkpoint's files by the staged ones; the last name is the entry point. */
    private static void commit(Path dir, Path staging, List<String> staged) throws IOException {
        Files.deleteIfExists(dir.resolve(INDEX_FILE));
        Files.deleteIfExists(dir.resolve(SINGLE_FILE));
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (SHARD_FILE.matcher(p.getFileName().toString()).matches()) {
                    Files.delete(p);
                }
            }
        }
        for (String name : staged) {
            Files.move(staging.resolve(name), dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        }
        syncDirectory(dir);
    }

    /** Makes the renames durable where the platform allows fsync on a directory (Linux does). */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // best effort: not every platform can open a directory as a channel
        }
    }

    private static boolean isPlainFileName(String name) {
        return name != null
                && !name.isBlank()
                && !name.equals(".")
                && !name.equals("..")
                && name.indexOf('/') < 0
                && name.indexOf('\\') < 0;
    }
}
