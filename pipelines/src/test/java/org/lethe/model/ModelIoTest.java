package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.io.CheckpointTensors;
import org.lethe.model.io.ModelFormatException;
import org.lethe.testing.Fixtures;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hugging Face directory IO: save / reload round trips and clear errors for broken directories. */
class ModelIoTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long[] PROBE = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};

    static float[] logits(LanguageModel lm, long[] ids) {
        try (NDManager m = lm.manager().newSubManager()) {
            NDArray idArr = m.create(ids, new Shape(1, ids.length));
            NDArray mask = m.ones(new Shape(1, ids.length), DataType.INT64);
            NDArray pos = m.arange(0, ids.length, 1, DataType.INT64).expandDims(0);
            return lm.block().logits(lm.parameterStore(), idArr, pos, mask, null, false).toFloatArray();
        }
    }

    static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
                to.resolve(f.getFileName()).toFile().setWritable(true);
            }
        }
    }

    @Test
    void savedModelReloadsWithIdenticalLogitsAndHfNames(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.stories260k();
        Path out = tmp.resolve("saved");
        float[] before;
        try (LanguageModel lm = LanguageModel.load(src, ModelSettings.defaults())) {
            before = logits(lm, PROBE);
            lm.save(out);
        }
        try (LanguageModel again = LanguageModel.load(out, ModelSettings.defaults());
                CheckpointTensors written = CheckpointTensors.open(out);
                CheckpointTensors original = CheckpointTensors.open(src)) {
            assertArrayEquals(before, logits(again, PROBE));
            assertEquals(new HashSet<>(original.names()), new HashSet<>(written.names()));
            assertTrue(written.has("model.layers.4.self_attn.k_proj.weight"));
            assertTrue(Files.exists(out.resolve("tokenizer.json")));
            assertEquals(LlamaConfig.read(src).toJson(), LlamaConfig.read(out).toJson());
        }
    }

    @Test
    void untiedBiasedGqaModelRoundTripsThroughShards(@TempDir Path tmp) {
        LlamaConfig c = LlamaConfig.builder().setVocabSize(48).setHiddenSize(24).setIntermediateSize(40)
                .setNumHiddenLayers(2).setNumAttentionHeads(6).optNumKeyValueHeads(2).optHeadDim(8)
                .optTieWordEmbeddings(false).optAttentionBias(true).optMlpBias(true).build();
        long[] ids = {1, 7, 9, 30, 41, 2};
        Path out = tmp.resolve("m");
        float[] before;
        try (LanguageModel lm = LanguageModel.fresh(c, ModelSettings.defaults(), 9, null)) {
            before = logits(lm, ids);
            lm.save(out, 4000); // a few KB per shard: several shards + index
        }
        assertTrue(Files.exists(out.resolve("model.safetensors.index.json")));
        assertFalse(Files.exists(out.resolve("model.safetensors")));
        try (LanguageModel again = LanguageModel.load(out, ModelSettings.defaults());
                CheckpointTensors t = CheckpointTensors.open(out)) {
            assertArrayEquals(before, logits(again, ids));
            assertTrue(t.has("lm_head.weight"));
            assertTrue(t.has("model.layers.1.self_attn.o_proj.bias"));
            assertTrue(t.has("model.layers.1.mlp.down_proj.bias"));
            assertArrayEquals(new long[] {16, 24}, t.info("model.layers.0.self_attn.k_proj.weight").shape());
        }
    }

    @Test
    void resavingOverAnExistingDirectoryReplacesIt(@TempDir Path tmp) {
        LlamaConfig c = LmTrainerTest.tiny();
        Path out = tmp.resolve("m");
        try (LanguageModel a = LanguageModel.fresh(c, ModelSettings.defaults(), 1, null)) {
            a.save(out, 2000);
        }
        float[] want;
        try (LanguageModel b = LanguageModel.fresh(c, ModelSettings.defaults(), 2, null)) {
            want = logits(b, new long[] {1, 2, 3});
            b.save(out);
        }
        assertFalse(Files.exists(out.resolve("model.safetensors.index.json")), "stale shards left");
        try (LanguageModel again = LanguageModel.load(out, ModelSettings.defaults())) {
            assertArrayEquals(want, logits(again, new long[] {1, 2, 3}));
        }
    }

    @Test
    void float16ComputeStaysCloseToFloat32AndBfloat16IsRefusedByName() {
        Path src = Fixtures.stories260k();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ModelSettings("cpu", "bfloat16", 0));
        assertTrue(e.getMessage().contains("lethe.model.dtype"), e.getMessage());
        try (LanguageModel f32 = LanguageModel.load(src, ModelSettings.defaults());
                LanguageModel bf16 = LanguageModel.load(src, new ModelSettings("cpu", "float16", 0))) {
            assertEquals(DataType.FLOAT16, bf16.dataType());
            List<float[]> a = LmScorer.tokenLogProbs(f32, List.of(PROBE));
            List<float[]> b = LmScorer.tokenLogProbs(bf16, List.of(PROBE));
            double meanA = 0;
            double meanB = 0;
            for (int i = 0; i < a.get(0).length; i++) {
                meanA += a.get(0)[i];
                meanB += b.get(0)[i];
            }
            meanA /= a.get(0).length;
            meanB /= a.get(0).length;
            assertEquals(meanA, meanB, 0.1, "mean log-prob float32 vs float16");
        }
    }

    @Test
    void halfPrecisionCheckpointsAreReadAndCastToTheComputeType(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.stories260k();
        float[] reference;
        try (LanguageModel lm = LanguageModel.load(src, ModelSettings.defaults())) {
            reference = logits(lm, PROBE);
        }
        for (DataType storage : new DataType[] {DataType.BFLOAT16, DataType.FLOAT16}) {
            Path dir = tmp.resolve(storage.name());
            copyDir(src, dir);
            try (NDManager m = NDManager.newBaseManager("PyTorch");
                    CheckpointTensors t = CheckpointTensors.open(src)) {
                LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
                for (String n : t.names()) {
                    arrays.put(n, t.read(m, n, DataType.FLOAT32));
                }
                CheckpointTensors.write(dir, arrays, java.util.Map.of(), storage, Long.MAX_VALUE);
            }
            try (CheckpointTensors t = CheckpointTensors.open(dir);
                    LanguageModel lm = LanguageModel.load(dir, ModelSettings.defaults())) {
                assertEquals(storage == DataType.BFLOAT16 ? "BF16" : "F16",
                        t.info("model.norm.weight").dtype());
                assertEquals(DataType.FLOAT32, lm.dataType());
                float[] got = logits(lm, PROBE);
                double worst = 0;
                for (int i = 0; i < got.length; i++) {
                    worst = Math.max(worst, Math.abs(got[i] - reference[i]));
                }
                // Rounding the weights to 8 (bf16) or 11 (f16) mantissa bits moves logits a little.
                assertTrue(worst > 0 && worst < (storage == DataType.BFLOAT16 ? 0.5 : 0.05),
                        storage + ": max logit change " + worst);
            }
        }
    }

    // ---- errors: each names the file and the key or tensor, and nothing is returned half-loaded

    private static Path brokenCopy(Path tmp) throws IOException {
        Path dir = tmp.resolve("broken");
        copyDir(Fixtures.stories260k(), dir);
        return dir;
    }

    private static void editConfig(Path dir, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode cfg = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(cfg);
        JSON.writeValue(dir.resolve("config.json").toFile(), cfg);
    }

    private static String loadError(Path dir) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LanguageModel.load(dir, ModelSettings.defaults()).close());
        return e.getMessage();
    }

    @Test
    void missingConfigKeyIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        editConfig(dir, c -> c.remove("num_attention_heads"));
        String msg = loadError(dir);
        assertTrue(msg.contains("config.json") && msg.contains("'num_attention_heads'"), msg);
    }

    @Test
    void unsupportedModelTypeIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        editConfig(dir, c -> c.put("model_type", "gpt2"));
        String msg = loadError(dir);
        assertTrue(msg.contains("config.json") && msg.contains("'gpt2'"), msg);
    }

    @Test
    void truncatedSafetensorsIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        Path st = dir.resolve("model.safetensors");
        try (RandomAccessFile f = new RandomAccessFile(st.toFile(), "rw")) {
            f.setLength(f.length() - 1000);
        }
        String msg = loadError(dir);
        assertTrue(msg.contains("model.safetensors") && msg.contains("trunc"), msg);
    }

    @Test
    void missingTensorIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        rewriteWeights(dir, "model.layers.3.mlp.up_proj.weight", null);
        String msg = loadError(dir);
        assertTrue(msg.contains("'model.layers.3.mlp.up_proj.weight'") && msg.contains("missing"), msg);
    }

    @Test
    void wrongShapeIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        rewriteWeights(dir, "model.norm.weight", new Shape(32));
        String msg = loadError(dir);
        assertTrue(msg.contains("'model.norm.weight'") && msg.contains("(32)") && msg.contains("(64)"), msg);
    }

    @Test
    void tokenizerThatDoesNotFitTheModelIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        ObjectNode tok = (ObjectNode) JSON.readTree(dir.resolve("tokenizer.json").toFile());
        ArrayNode added = (ArrayNode) tok.get("added_tokens");
        added.addObject().put("id", 600).put("content", "<extra>").put("single_word", false)
                .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        JSON.writeValue(dir.resolve("tokenizer.json").toFile(), tok);
        String msg = loadError(dir);
        assertTrue(msg.contains("tokenizer.json") && msg.contains("600") && msg.contains("512"), msg);
    }

    @Test
    void missingWeightsFileIsNamed(@TempDir Path tmp) throws IOException {
        Path dir = brokenCopy(tmp);
        Files.delete(dir.resolve("model.safetensors"));
        String msg = loadError(dir);
        assertTrue(msg.contains("model.safetensors"), msg);
    }

    /** Rewrites model.safetensors without {@code drop} (reshape == null) or with it cut to {@code reshape}. */
    private static void rewriteWeights(Path dir, String name, Shape reshape) throws IOException {
        Path staging = dir.resolveSibling("staging");
        try (NDManager m = NDManager.newBaseManager("PyTorch");
                CheckpointTensors t = CheckpointTensors.open(dir)) {
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            for (String n : t.names()) {
                NDArray a = t.read(m, n, DataType.FLOAT32);
                if (n.equals(name)) {
                    if (reshape == null) {
                        continue;
                    }
                    a = a.get("0:{}", reshape.get(0));
                }
                arrays.put(n, a);
            }
            CheckpointTensors.write(staging, arrays, Long.MAX_VALUE);
        }
        Files.move(staging.resolve("model.safetensors"), dir.resolve("model.safetensors"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Set<String> left = new HashSet<>();
        try (Stream<Path> s = Files.list(staging)) {
            s.forEach(p -> left.add(p.getFileName().toString()));
        }
        assertTrue(left.isEmpty(), "unexpected staging files " + left);
    }
}
