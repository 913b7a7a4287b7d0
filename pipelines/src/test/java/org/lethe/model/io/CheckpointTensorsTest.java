package org.lethe.model.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lethe.model.io.SafetensorsFileTest.assertMentions;
import static org.lethe.model.io.SafetensorsTestSupport.newManager;
import static org.lethe.model.io.SafetensorsTestSupport.stories260K;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

class CheckpointTensorsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir Path tmp;

    /**
     * Five tensors of 64, 40, 12, 16 and 256 bytes; with 100-byte shards: [a], [b, c, d], [e]
     * (e alone, as it is larger than a shard).
     */
    private static LinkedHashMap<String, NDArray> fiveTensors(NDManager manager) {
        LinkedHashMap<String, NDArray> t = new LinkedHashMap<>();
        t.put("a.weight", manager.arange(0f, 16f).reshape(4, 4));
        t.put("b.bias", manager.arange(0f, 10f).mul(-0.25f));
        t.put("c.half", manager.create(new float[] {1f, -2f, 0.5f, 4f, 8f, -16f}, new Shape(3, 2)).toType(DataType.FLOAT16, false));
        t.put("d.ids", manager.create(new long[] {7, -7}));
        t.put("e.big", manager.arange(0f, 64f).reshape(8, 8).div(4f));
        return t;
    }

    private static void assertSameTensors(
            Map<String, NDArray> expected, CheckpointTensors checkpoint, NDManager manager) {
        assertEquals(List.copyOf(expected.keySet()), checkpoint.names());
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            NDArray read = checkpoint.read(manager, e.getKey());
            assertEquals(e.getValue().getDataType(), read.getDataType(), e.getKey());
            assertEquals(e.getValue().getShape(), read.getShape(), e.getKey());
            assertTrue(e.getValue().contentEquals(read), e.getKey());
        }
    }

    @Test
    void opensTheSingleFileFixture() {
        try (CheckpointTensors checkpoint = CheckpointTensors.open(stories260K());
                NDManager manager = newManager()) {
            assertEquals(47, checkpoint.names().size());
            assertEquals(List.of(stories260K().resolve("model.safetensors")), checkpoint.files());
            assertEquals(1040128, checkpoint.totalBytes());
            assertTrue(checkpoint.has("model.layers.4.mlp.up_proj.weight"));
            assertFalse(checkpoint.has("lm_head.weight"));
            assertArrayEquals(new long[] {512, 64}, checkpoint.info("model.embed_tokens.weight").shape());
            NDArray norm = checkpoint.read(manager, "model.norm.weight", DataType.FLOAT32);
            assertEquals(new Shape(64), norm.getShape());
            assertEquals(2.4583089351654053f, norm.getFloat(0));
        }
    }

    @Test
    void shardedWriteAndReadRoundTrip() throws IOException {
        Path dir = tmp.resolve("model");
        try (NDManager manager = newManager()) {
            LinkedHashMap<String, NDArray> tensors = fiveTensors(manager);
            List<Path> written = CheckpointTensors.write(dir, tensors, 100);
            assertEquals(
                    List.of(
                            dir.resolve("model-00001-of-00003.safetensors"),
                            dir.resolve("model-00002-of-00003.safetensors"),
                            dir.resolve("model-00003-of-00003.safetensors"),
                            dir.resolve("model.safetensors.index.json")),
                    written);

            JsonNode index = JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
            assertEquals(64 + 40 + 12 + 16 + 256, index.get("metadata").get("total_size").asLong());
            JsonNode map = index.get("weight_map");
            assertEquals("model-00001-of-00003.safetensors", map.get("a.weight").asText());
            assertEquals("model-00002-of-00003.safetensors", map.get("b.bias").asText());
            assertEquals("model-00002-of-00003.safetensors", map.get("c.half").asText());
            assertEquals("model-00002-of-00003.safetensors", map.get("d.ids").asText());
            assertEquals("model-00003-of-00003.safetensors", map.get("e.big").asText());

            try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
                assertEquals(written.subList(0, 3), checkpoint.files());
                assertEquals(388, checkpoint.totalBytes());
                assertEquals(new TensorInfo("c.half", "F16", new long[] {3, 2}, 12), checkpoint.info("c.half"));
                assertSameTensors(tensors, checkpoint, manager);
                assertFalse(checkpoint.has("f.missing"));
                assertMentions(
                        assertThrows(IllegalArgumentException.class, () -> checkpoint.info("f.missing")),
                        dir.toString(), "'f.missing'");
            }
            try (SafetensorsFile shard = SafetensorsFile.open(written.get(1))) {
                assertEquals(List.of("b.bias", "c.half", "d.ids"), shard.names());
                assertEquals("pt", shard.metadata().get("format"));
            }
        }
    }

    @Test
    void savingAgainReplacesTheOldCheckpointFilesAndNothingElse() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(dir.resolve("config.json"), "{}");
        try (NDManager manager = newManager()) {
            LinkedHashMap<String, NDArray> tensors = fiveTensors(manager);
            CheckpointTensors.write(dir, tensors, 100);
            assertEquals(
                    List.of("config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                            "model-00003-of-00003.safetensors", "model.safetensors.index.json"),
                    listing(dir));

            // everything fits: one file, and the old shards and index are gone
            CheckpointTensors.write(dir, tensors, 1L << 30);
            assertEquals(List.of("config.json", "model.safetensors"), listing(dir));
            try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
                assertSameTensors(tensors, checkpoint, manager);
            }

            // sharded again, differently: the single file is gone
            CheckpointTensors.write(dir, tensors, 200);
            assertEquals(
                    List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                            "model.safetensors.index.json"),
                    listing(dir));
            try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
                assertSameTensors(tensors, checkpoint, manager);
            }
        }
    }

    @Test
    void aFailedSaveLeavesThePreviousCheckpointIntact() throws IOException {
        Path dir = tmp.resolve("model");
        try (NDManager manager = newManager()) {
            LinkedHashMap<String, NDArray> tensors = fiveTensors(manager);
            CheckpointTensors.write(dir, tensors, 100);
            List<String> before = listing(dir);
            byte[] firstShard = Files.readAllBytes(dir.resolve("model-00001-of-00003.safetensors"));

            LinkedHashMap<String, NDArray> other = new LinkedHashMap<>();
            other.put("x", manager.create(new float[] {1f}));
            // fails inside the staging directory, while writing the first file
            assertThrows(
                    IllegalArgumentException.class,
                    () -> CheckpointTensors.write(dir, other, Map.of("format", "flax"), null, 100));
            NDArray closed = manager.create(new float[] {1f});
            closed.close();
            other.put("y", closed);
            assertMentions(
                    assertThrows(IllegalArgumentException.class, () -> CheckpointTensors.write(dir, other, 100)),
                    "'y'", "closed");

            assertEquals(before, listing(dir), "no staging directory or partial file may remain");
            assertArrayEquals(firstShard, Files.readAllBytes(dir.resolve("model-00001-of-00003.safetensors")));
            try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
                assertSameTensors(tensors, checkpoint, manager);
            }
        }
    }

    @Test
    void floatStorageAppliesToEveryShard() throws IOException {
        Path dir = tmp.resolve("model");
        try (NDManager manager = newManager()) {
            CheckpointTensors.write(dir, fiveTensors(manager), Map.of("source", "test"), DataType.BFLOAT16, 60);
            try (CheckpointTensors checkpoint = CheckpointTensors.open(dir)) {
                assertEquals("BF16", checkpoint.info("a.weight").dtype());
                assertEquals("BF16", checkpoint.info("c.half").dtype());
                assertEquals("I64", checkpoint.info("d.ids").dtype());
                assertArrayEquals(
                        new float[] {1f, -2f, 0.5f, 4f, 8f, -16f},
                        checkpoint.read(manager, "c.half", DataType.FLOAT32).toFloatArray());
                assertArrayEquals(
                        manager.arange(0f, 64f).div(4f).toFloatArray(),
                        checkpoint.read(manager, "e.big", DataType.FLOAT32).toFloatArray());
                for (Path f : checkpoint.files()) {
                    try (SafetensorsFile shard = SafetensorsFile.open(f)) {
                        assertEquals(Map.of("format", "pt", "source", "test"), shard.metadata());
                    }
                }
            }
        }
    }

    // ---- invalid directories: each error names the index or directory, the tensor and the shard

    @Test
    void missingShardFileIsNamed() throws IOException {
        Path dir = shardedCheckpoint();
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir));
        assertMentions(
                e,
                dir.resolve("model.safetensors.index.json").toString(),
                "tensor 'b.bias'",
                "shard 'model-00002-of-00003.safetensors'",
                "does not exist");
    }

    @Test
    void tensorMissingFromItsShardIsNamed() throws IOException {
        Path dir = shardedCheckpoint();
        Path indexFile = dir.resolve("model.safetensors.index.json");
        ObjectNode index = (ObjectNode) JSON.readTree(indexFile.toFile());
        ((ObjectNode) index.get("weight_map")).put("lm_head.weight", "model-00001-of-00003.safetensors");
        JSON.writeValue(indexFile.toFile(), index);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir));
        assertMentions(
                e,
                indexFile.toString(),
                "tensor 'lm_head.weight'",
                "shard 'model-00001-of-00003.safetensors'",
                "has no such tensor");
    }

    @Test
    void shardOutsideTheDirectoryAndBadIndexJsonAreRejected() throws IOException {
        Path dir = shardedCheckpoint();
        Path indexFile = dir.resolve("model.safetensors.index.json");
        ObjectNode index = (ObjectNode) JSON.readTree(indexFile.toFile());
        ((ObjectNode) index.get("weight_map")).put("a.weight", "../elsewhere.safetensors");
        JSON.writeValue(indexFile.toFile(), index);
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir)),
                indexFile.toString(), "tensor 'a.weight'", "../elsewhere.safetensors", "same directory");

        Files.writeString(indexFile, "{\"weight_map\": {\"a.weight\": ");
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir)),
                indexFile.toString(), "not valid JSON");

        Files.writeString(indexFile, "{\"metadata\": {}}");
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir)),
                indexFile.toString(), "weight_map");
    }

    @Test
    void truncatedShardIsNamed() throws IOException {
        Path dir = shardedCheckpoint();
        Path shard = dir.resolve("model-00003-of-00003.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(shard.toFile(), "rw")) {
            raf.setLength(raf.length() - 10);
        }
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir)),
                shard.toString(), "tensor 'e.big'", "truncated");
    }

    @Test
    void directoryWithoutACheckpointNamesBothFiles() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty-model"));
        Files.writeString(dir.resolve("config.json"), "{}");
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(dir)),
                dir.toString(), "model.safetensors", "model.safetensors.index.json");
        assertMentions(
                assertThrows(ModelFormatException.class, () -> CheckpointTensors.open(tmp.resolve("nowhere"))),
                "nowhere", "does not exist");
    }

    private Path shardedCheckpoint() {
        Path dir = tmp.resolve("sharded");
        try (NDManager manager = newManager()) {
            CheckpointTensors.write(dir, fiveTensors(manager), 100);
        }
        return dir;
    }

    /** File and directory names in the directory, sorted. */
    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
