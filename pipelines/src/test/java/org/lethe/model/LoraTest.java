package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.io.ModelFormatException;
import org.lethe.model.io.SafetensorsFile;
import org.lethe.model.io.SafetensorsWriter;
import org.lethe.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA adapters: PEFT init and names, frozen base, gradients, merge, and the PEFT adapter directory. */
class LoraTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long[] PROBE = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376};
    private static final long[] TINY_PROBE = {1, 5, 9, 13, 17, 21, 25};
    private static final List<long[]> SEQS = List.of(
            new long[] {1, 5, 9, 13, 17, 21, 25, 29}, new long[] {1, 6, 10, 14, 3});
    private static final String Q0_A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
    private static final String Q0_B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";

    private static LoraSettings all(int rank, double alpha, long seed) {
        return new LoraSettings(rank, alpha, LoraSettings.PROJECTIONS, seed);
    }

    private static LanguageModel tiny(long seed) {
        return LanguageModel.fresh(LmTrainerTest.tiny(), ModelSettings.defaults(), seed, null);
    }

    private static Map<String, float[]> snapshot(Map<String, Parameter> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    /** Sets every lora_B to seeded values in +-range (B starts at zero, which hides A's gradient). */
    private static void randomizeB(LanguageModel lm, long seed, double range) {
        SplittableRandom rng = new SplittableRandom(seed);
        lm.block().trainableParameters().forEach((k, p) -> {
            if (k.endsWith("lora_B.weight")) {
                float[] v = new float[Math.toIntExact(p.getShape().size())];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((2 * rng.nextDouble() - 1) * range);
                }
                p.getArray().set(v);
            }
        });
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

    // ---- settings

    @Test
    void settingsNameTheOffendingField() {
        List<String> ok = List.of("q_proj");
        String rank = assertThrows(IllegalArgumentException.class, () -> new LoraSettings(0, 8, ok, 1)).getMessage();
        assertTrue(rank.contains("rank") && rank.contains("0"), rank);
        String alpha = assertThrows(IllegalArgumentException.class, () -> new LoraSettings(4, -1, ok, 1)).getMessage();
        assertTrue(alpha.contains("alpha"), alpha);
        String nan = assertThrows(IllegalArgumentException.class,
                () -> new LoraSettings(4, Double.NaN, ok, 1)).getMessage();
        assertTrue(nan.contains("alpha"), nan);
        String unknown = assertThrows(IllegalArgumentException.class,
                () -> new LoraSettings(4, 8, List.of("q_proj", "lm_head"), 1)).getMessage();
        assertTrue(unknown.contains("targetModules") && unknown.contains("'lm_head'"), unknown);
        String twice = assertThrows(IllegalArgumentException.class,
                () -> new LoraSettings(4, 8, List.of("v_proj", "v_proj"), 1)).getMessage();
        assertTrue(twice.contains("targetModules") && twice.contains("'v_proj'"), twice);
        String empty = assertThrows(IllegalArgumentException.class,
                () -> new LoraSettings(4, 8, List.of(), 1)).getMessage();
        assertTrue(empty.contains("targetModules"), empty);
        assertEquals(4.0, new LoraSettings(4, 16, ok, 1).scale());
    }

    // ---- attaching

    @Test
    void freshAdapterKeepsTheRealModelsLogitsBitwiseAndUsesPeftNames() {
        try (LanguageModel lm = LanguageModel.load(Fixtures.stories260k(), ModelSettings.defaults())) {
            float[] base = ModelIoTest.logits(lm, PROBE);
            Map<String, Parameter> before = lm.block().trainableParameters();
            assertEquals(lm.block().hfParameters(), before, "a plain model trains every HF parameter");
            lm.attachLora(all(8, 16, 3));
            assertArrayEquals(base, ModelIoTest.logits(lm, PROBE));
            List<String> names = new ArrayList<>(lm.block().trainableParameters().keySet());
            assertEquals(5 * 7 * 2, names.size());
            assertEquals(List.of(Q0_A, Q0_B,
                    "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                    "base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight"), names.subList(0, 4));
            assertEquals("base_model.model.model.layers.4.mlp.down_proj.lora_B.weight", names.get(names.size() - 1));
            Map<String, Parameter> p = lm.block().trainableParameters();
            // stories260K: hidden 64, 8 query heads x 8 = 64, 4 kv heads x 8 = 32, intermediate 172
            assertEquals(new Shape(8, 64), p.get(Q0_A).getShape());
            assertEquals(new Shape(64, 8), p.get(Q0_B).getShape());
            assertEquals(new Shape(32, 8),
                    p.get("base_model.model.model.layers.2.self_attn.v_proj.lora_B.weight").getShape());
            assertEquals(new Shape(8, 172),
                    p.get("base_model.model.model.layers.2.mlp.down_proj.lora_A.weight").getShape());
            for (Map.Entry<String, Parameter> e : p.entrySet()) {
                if (e.getKey().endsWith("lora_B.weight")) {
                    for (float v : e.getValue().getArray().toFloatArray()) {
                        assertEquals(0f, v, e.getKey());
                    }
                }
            }
            assertTrue(lm.loraSettings().isPresent());
        }
    }

    @Test
    void initialAIsPeftsKaimingUniformAndSeeded() {
        float[][] a = new float[3][];
        long[] seeds = {7, 7, 8};
        for (int run = 0; run < 3; run++) {
            try (LanguageModel lm = tiny(1)) {
                lm.attachLora(new LoraSettings(4, 8, List.of("q_proj", "down_proj"), seeds[run]));
                a[run] = lm.block().trainableParameters()
                        .get("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").getArray().toFloatArray();
            }
        }
        assertArrayEquals(a[0], a[1], "same seed, same A");
        assertFalse(java.util.Arrays.equals(a[0], a[2]), "another seed, another A");
        // down_proj: in = intermediate 24, so U(-1/sqrt(24), 1/sqrt(24)); variance bound^2 / 3.
        double bound = 1 / Math.sqrt(24);
        double sq = 0;
        double max = 0;
        for (float v : a[0]) {
            assertTrue(Math.abs(v) <= bound, "A value " + v + " outside +-" + bound);
            sq += (double) v * v;
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max > 0.9 * bound, "max " + max);
        assertEquals(bound / Math.sqrt(3), Math.sqrt(sq / a[0].length), 0.25 * bound / Math.sqrt(3));
    }

    @Test
    void attachingTwiceIsRefused() {
        try (LanguageModel lm = tiny(1)) {
            lm.attachLora(all(2, 4, 1));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> lm.attachLora(all(2, 4, 1)));
            assertTrue(e.getMessage().contains("already attached"), e.getMessage());
        }
    }

    @Test
    void greedyDecodingWithAnAdapterIsTheSameWithAndWithoutTheKvCache() {
        try (LanguageModel lm = tiny(5)) {
            lm.attachLora(all(4, 8, 2));
            randomizeB(lm, 8, 0.3);
            List<long[]> prompts = List.of(new long[] {1, 5, 9}, new long[] {1, 7});
            List<long[]> cached = GreedyDecoder.generate(lm, prompts, 6, true);
            List<long[]> uncached = GreedyDecoder.generate(lm, prompts, 6, false);
            for (int i = 0; i < prompts.size(); i++) {
                assertArrayEquals(uncached.get(i), cached.get(i), "row " + i);
            }
        }
    }

    // ---- merging

    private static void checkMergeMatchesAdapter(LanguageModel lm, long[] probe, String module) {
        float[] base = ModelIoTest.logits(lm, probe);
        randomizeB(lm, 99, 0.01);
        float[] adapted = ModelIoTest.logits(lm, probe);
        assertTrue(maxAbsDiff(base, adapted) > 1e-3, "B != 0 must change the logits");
        LoraSettings s = lm.loraSettings().orElseThrow();
        float[] w = lm.block().hfParameters().get(module + ".weight").getArray().toFloatArray();
        float[] a = lm.block().trainableParameters().get("base_model.model." + module + ".lora_A.weight")
                .getArray().toFloatArray();
        NDArray bArr = lm.block().trainableParameters().get("base_model.model." + module + ".lora_B.weight").getArray();
        float[] b = bArr.toFloatArray();
        int out = (int) bArr.getShape().get(0);
        int in = w.length / out;
        int r = s.rank();

        lm.mergeLora();
        assertTrue(lm.loraSettings().isEmpty());
        assertEquals(lm.block().hfParameters(), lm.block().trainableParameters());
        float[] merged = lm.block().hfParameters().get(module + ".weight").getArray().toFloatArray();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) {
                    ba += (double) b[o * r + k] * a[k * in + i];
                }
                assertEquals(w[o * in + i] + s.scale() * ba, merged[o * in + i], 1e-6,
                        module + " [" + o + ", " + i + "]");
            }
        }
        double diff = maxAbsDiff(adapted, ModelIoTest.logits(lm, probe));
        double largest = 0;
        for (float v : adapted) {
            largest = Math.max(largest, Math.abs(v));
        }
        // Both paths round differently in float32: 1e-5, relative to logits above 1 (stories260K's
        // reach ~19, where one ulp is 2e-6; measured there: 8e-6).
        assertTrue(diff <= 1e-5 * Math.max(1, largest), "adapter vs merged logits differ by " + diff
                + " (largest logit " + largest + ")");
        for (Parameter p : lm.block().hfParameters().values()) {
            assertTrue(p.requiresGradient() && p.getArray().hasGradient(), "merged weights train again");
        }
    }

    @Test
    void mergedTinyModelMatchesTheAdapterAndSavesAsAPlainModel(@TempDir Path tmp) {
        Path out = tmp.resolve("merged");
        float[] merged;
        try (LanguageModel lm = tiny(4)) {
            lm.attachLora(all(4, 8, 5));
            checkMergeMatchesAdapter(lm, TINY_PROBE, "model.layers.1.self_attn.o_proj");
            merged = ModelIoTest.logits(lm, TINY_PROBE);
            lm.save(out);
        }
        assertTrue(Files.exists(out.resolve("config.json")) && Files.exists(out.resolve("model.safetensors")));
        assertFalse(Files.exists(out.resolve(PeftAdapter.CONFIG_FILE)));
        try (LanguageModel again = LanguageModel.load(out, ModelSettings.defaults())) {
            assertTrue(again.loraSettings().isEmpty());
            assertArrayEquals(merged, ModelIoTest.logits(again, TINY_PROBE));
        }
    }

    @Test
    void mergedRealModelMatchesTheAdapter() {
        try (LanguageModel lm = LanguageModel.load(Fixtures.stories260k(), ModelSettings.defaults())) {
            lm.attachLora(new LoraSettings(4, 8, List.of("q_proj", "v_proj", "up_proj", "down_proj"), 2));
            checkMergeMatchesAdapter(lm, PROBE, "model.layers.3.mlp.down_proj");
        }
    }

    // ---- training

    @Test
    void aTrainerStepMovesOnlyTheAdapters() {
        try (LanguageModel lm = tiny(6)) {
            lm.attachLora(all(4, 8, 1));
            Map<String, float[]> base = snapshot(lm.block().hfParameters());
            Map<String, float[]> adapters = snapshot(lm.block().trainableParameters());
            try (LmTrainer trainer = new LmTrainer(lm, new AdamW.Settings(0.9, 0.999, 1e-8, 0.0), 0)) {
                trainer.zeroGradients();
                trainer.accumulate(SEQS, SEQS);
                Map<String, NDArray> grads = trainer.gradients();
                assertEquals(List.copyOf(lm.block().trainableParameters().keySet()), List.copyOf(grads.keySet()));
                for (Parameter p : lm.block().hfParameters().values()) {
                    assertFalse(p.requiresGradient() || p.getArray().hasGradient(), p.getName() + " is frozen");
                }
                // With B = 0 the update scale * B (A x) has no gradient in A; B's is (dL/dy)^T (A x) * scale.
                for (Map.Entry<String, NDArray> g : grads.entrySet()) {
                    float[] v = g.getValue().toFloatArray();
                    double norm = 0;
                    for (float x : v) {
                        norm += Math.abs(x);
                    }
                    if (g.getKey().endsWith("lora_A.weight")) {
                        assertEquals(0.0, norm, g.getKey());
                    } else {
                        assertTrue(norm > 0, g.getKey() + " has a zero gradient");
                    }
                }
                grads.values().forEach(NDArray::close);
                trainer.zeroGradients();
                LmTrainer.StepResult r = trainer.step(SEQS, SEQS, 1e-2);
                assertTrue(r.gradNorm() > 0);
            }
            Map<String, float[]> baseAfter = snapshot(lm.block().hfParameters());
            for (String k : base.keySet()) {
                assertArrayEquals(base.get(k), baseAfter.get(k), k + " changed");
            }
            snapshot(lm.block().trainableParameters()).forEach((k, v) -> {
                if (k.endsWith("lora_A.weight")) {
                    assertArrayEquals(adapters.get(k), v, k + ": zero gradient and no decay, so unchanged");
                } else {
                    assertTrue(maxAbsDiff(adapters.get(k), v) > 1e-3, k + " did not move");
                }
            });
        }
    }

    @Test
    void adapterGradientsMatchFiniteDifferences() {
        try (LanguageModel lm = tiny(12)) {
            lm.attachLora(new LoraSettings(3, 6, List.of("q_proj", "v_proj", "o_proj", "gate_proj", "down_proj"), 4));
            randomizeB(lm, 5, 0.1); // non-zero B, so A has a gradient too
            Map<String, Parameter> params = lm.block().trainableParameters();
            Map<String, float[]> grads = new HashMap<>();
            try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
                trainer.zeroGradients();
                trainer.accumulate(SEQS, SEQS);
                Map<String, NDArray> g = trainer.gradients();
                g.forEach((k, v) -> grads.put(k, v.toFloatArray()));
                g.values().forEach(NDArray::close);
                trainer.zeroGradients();
                for (String which : new String[] {"lora_A.weight", "lora_B.weight"}) {
                    // Directional derivative along a seeded direction over all A (or all B) matrices.
                    SplittableRandom rng = new SplittableRandom(which.hashCode());
                    Map<String, float[]> dir = new HashMap<>();
                    double analytic = 0;
                    for (String k : params.keySet()) {
                        if (k.endsWith(which)) {
                            float[] d = new float[grads.get(k).length];
                            for (int i = 0; i < d.length; i++) {
                                d[i] = (float) (2 * rng.nextDouble() - 1);
                                analytic += (double) d[i] * grads.get(k)[i];
                            }
                            dir.put(k, d);
                        }
                    }
                    double eps = 1e-3;
                    double plus = lossAt(lm, trainer, params, dir, eps);
                    double minus = lossAt(lm, trainer, params, dir, -eps);
                    double numeric = (plus - minus) / (2 * eps);
                    assertTrue(Math.abs(analytic) > 1e-2,
                            which + ": directional derivative too small to test: " + analytic);
                    assertEquals(analytic, numeric, 1e-2 * Math.abs(analytic),
                            which + ": analytic vs finite difference");
                }
            }
        }
    }

    /** The mean loss at params + t * dir, restoring the params exactly afterwards. */
    private static double lossAt(LanguageModel lm, LmTrainer trainer, Map<String, Parameter> params,
            Map<String, float[]> dir, double t) {
        Map<String, float[]> saved = new HashMap<>();
        for (Map.Entry<String, float[]> e : dir.entrySet()) {
            NDArray p = params.get(e.getKey()).getArray();
            float[] v = p.toFloatArray();
            saved.put(e.getKey(), v.clone());
            for (int i = 0; i < v.length; i++) {
                v[i] += (float) (t * e.getValue()[i]);
            }
            p.set(v);
        }
        try {
            return trainer.accumulate(SEQS, SEQS).loss();
        } finally {
            trainer.zeroGradients();
            saved.forEach((k, v) -> params.get(k).getArray().set(v));
        }
    }

    // ---- the PEFT adapter directory

    @Test
    void savedAdapterReloadsBitwiseInPeftLayout(@TempDir Path tmp) throws IOException {
        Path src = Fixtures.stories260k().toAbsolutePath();
        Path out = tmp.resolve("adapter");
        LoraSettings settings = new LoraSettings(4, 8, List.of("q_proj", "v_proj", "down_proj"), 17);
        float[] before;
        List<String> names;
        Map<String, float[]> weights;
        try (LanguageModel lm = LanguageModel.load(src, ModelSettings.defaults());
                LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 1.0)) {
            lm.attachLora(settings);
            randomizeB(lm, 3, 0.05);
            trainer.step(List.of(PROBE), List.of(PROBE), 1e-2);
            before = ModelIoTest.logits(lm, PROBE);
            names = List.copyOf(lm.block().trainableParameters().keySet());
            weights = snapshot(lm.block().trainableParameters());
            lm.save(out);
        }
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(Set.of("adapter_config.json", "adapter_model.safetensors"),
                    files.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
        }
        JsonNode cfg = JSON.readTree(out.resolve("adapter_config.json").toFile());
        assertEquals("LORA", cfg.get("peft_type").asText());
        assertEquals("CAUSAL_LM", cfg.get("task_type").asText());
        assertTrue(cfg.get("r").isInt());
        assertEquals(4, cfg.get("r").asInt());
        assertTrue(cfg.get("lora_alpha").isInt(), "PEFT's lora_alpha is an int");
        assertEquals(8, cfg.get("lora_alpha").asInt());
        assertEquals(List.of("q_proj", "v_proj", "down_proj"),
                JSON.convertValue(cfg.get("target_modules"), List.class));
        assertEquals(0.0, cfg.get("lora_dropout").asDouble());
        assertEquals("none", cfg.get("bias").asText());
        assertEquals(src.toString(), cfg.get("base_model_name_or_path").asText());
        assertEquals(17, cfg.get("lethe_seed").asLong());
        assertFalse(cfg.get("use_rslora").asBoolean());
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertEquals(names, f.names());
            assertEquals(5 * 3 * 2, names.size());
            assertEquals(Q0_A, names.get(0));
            assertEquals("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight", names.get(5));
            assertEquals("F32", f.info(Q0_A).dtype());
            assertArrayEquals(new long[] {4, 64}, f.info(Q0_A).shape());
            assertArrayEquals(new long[] {64, 4}, f.info(Q0_B).shape());
        }
        try (LanguageModel again = LanguageModel.load(out, ModelSettings.defaults())) {
            assertEquals(settings, again.loraSettings().orElseThrow());
            assertArrayEquals(before, ModelIoTest.logits(again, PROBE));
            Map<String, float[]> reloaded = snapshot(again.block().trainableParameters());
            assertEquals(weights.keySet(), reloaded.keySet());
            weights.forEach((k, v) -> assertArrayEquals(v, reloaded.get(k), k));
            assertEquals(src, again.sourceDir(), "tokenizer and side files come from the base");
            again.tokenizer();
            for (Parameter p : again.block().hfParameters().values()) {
                assertFalse(p.getArray().hasGradient(), "base frozen after loading an adapter");
            }
        }
    }

    @Test
    void aRelativeBaseIsWrittenRelativeToTheAdapterDirectory(@TempDir Path tmp) throws IOException {
        Path base = tmp.resolve("models").resolve("base");
        try (LanguageModel lm = tiny(2)) {
            lm.save(base);
        }
        Path relativeBase = Path.of("").toAbsolutePath().relativize(base);
        Path adapter = tmp.resolve("runs").resolve("a1");
        float[] want;
        try (LanguageModel lm = LanguageModel.load(relativeBase, ModelSettings.defaults())) {
            lm.attachLora(all(2, 2, 9));
            randomizeB(lm, 4, 0.1);
            want = ModelIoTest.logits(lm, TINY_PROBE);
            lm.save(adapter);
        }
        JsonNode cfg = JSON.readTree(adapter.resolve("adapter_config.json").toFile());
        assertEquals(Path.of("..", "..", "models", "base").toString(), cfg.get("base_model_name_or_path").asText());
        try (LanguageModel again = LanguageModel.load(adapter, ModelSettings.defaults())) {
            assertArrayEquals(want, ModelIoTest.logits(again, TINY_PROBE));
        }
    }

    @Test
    void anAdapterOfAFreshModelCannotNameItsBase(@TempDir Path tmp) {
        try (LanguageModel lm = tiny(2)) {
            lm.attachLora(all(2, 2, 9));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> lm.save(tmp.resolve("a")));
            assertTrue(e.getMessage().contains("base_model_name_or_path"), e.getMessage());
            assertFalse(Files.exists(tmp.resolve("a")));
        }
    }

    @Test
    void peftTargetModulesAsAnUnorderedListOrAllLinearAreRead(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.putArray("target_modules").add("up_proj").add("q_proj"));
        try (LanguageModel lm = LanguageModel.load(adapter, ModelSettings.defaults())) {
            assertEquals(List.of("q_proj", "up_proj"), lm.loraSettings().orElseThrow().targetModules());
        }
        editConfig(adapter, c -> c.put("target_modules", "all-linear"));
        rewriteAdapter(adapter, null, null, true);
        try (LanguageModel lm = LanguageModel.load(adapter, ModelSettings.defaults())) {
            assertEquals(LoraSettings.PROJECTIONS, lm.loraSettings().orElseThrow().targetModules());
        }
    }

    // ---- errors: each names the file and the key or tensor

    /** A tiny base at tmp/base and an adapter (r = 2, q_proj + up_proj) of it at tmp/adapter. */
    private static Path tinyAdapter(Path tmp) {
        Path base = tmp.resolve("base");
        try (LanguageModel lm = tiny(3)) {
            lm.save(base);
        }
        Path adapter = tmp.resolve("adapter");
        try (LanguageModel lm = LanguageModel.load(base, ModelSettings.defaults())) {
            lm.attachLora(new LoraSettings(2, 4, List.of("q_proj", "up_proj"), 1));
            lm.save(adapter);
        }
        return adapter;
    }

    private static void editConfig(Path adapter, Consumer<ObjectNode> edit) throws IOException {
        Path f = adapter.resolve(PeftAdapter.CONFIG_FILE);
        ObjectNode cfg = (ObjectNode) JSON.readTree(f.toFile());
        edit.accept(cfg);
        JSON.writeValue(f.toFile(), cfg);
    }

    /** Rewrites the adapter tensors without {@code drop}, plus {@code extra} (a 2x2 tensor), or all linear targets. */
    private static void rewriteAdapter(Path adapter, String drop, String extra, boolean allLinear) {
        Path file = adapter.resolve(PeftAdapter.WEIGHTS_FILE);
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            LinkedHashMap<String, NDArray> arrays = new LinkedHashMap<>();
            if (allLinear) {
                new LlamaBlock(LlamaConfig.read(adapter.resolveSibling("base"))).loraShapes(all(2, 4, 1))
                        .forEach((k, s) -> arrays.put(k, m.zeros(s, DataType.FLOAT32)));
            } else {
                try (SafetensorsFile f = SafetensorsFile.open(file)) {
                    for (String n : f.names()) {
                        if (!n.equals(drop)) {
                            arrays.put(n, f.read(m, n));
                        }
                    }
                }
            }
            if (extra != null) {
                arrays.put(extra, m.zeros(new Shape(2, 2)));
            }
            SafetensorsWriter.write(file, arrays, Map.of());
        }
    }

    private static String loadError(Path dir) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LanguageModel.load(dir, ModelSettings.defaults()).close());
        return e.getMessage();
    }

    @Test
    void missingBaseIsNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.put("base_model_name_or_path", "../no-such-model"));
        String msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'base_model_name_or_path'")
                && msg.contains("no-such-model"), msg);
        editConfig(adapter, c -> c.remove("base_model_name_or_path"));
        msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'base_model_name_or_path'"), msg);
    }

    @Test
    void badRankIsNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.put("r", 0));
        String msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'r'") && msg.contains("0"), msg);
        editConfig(adapter, c -> c.put("r", "two"));
        msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'r'"), msg);
    }

    @Test
    void unknownTargetModuleIsNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.putArray("target_modules").add("q_proj").add("lm_head"));
        String msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'target_modules'")
                && msg.contains("'lm_head'"), msg);
    }

    @Test
    void unsupportedPeftOptionsAreNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.put("use_dora", true));
        String msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'use_dora'"), msg);
        editConfig(adapter, c -> {
            c.put("use_dora", false);
            c.put("peft_type", "IA3");
        });
        msg = loadError(adapter);
        assertTrue(msg.contains("adapter_config.json") && msg.contains("'peft_type'") && msg.contains("IA3"), msg);
    }

    @Test
    void tensorShapeMismatchIsNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        editConfig(adapter, c -> c.put("r", 3));
        String msg = loadError(adapter);
        // tiny: hidden 16; the file holds r = 2
        assertTrue(msg.contains("adapter_model.safetensors") && msg.contains("'" + Q0_A + "'")
                && msg.contains("(2, 16)") && msg.contains("(3, 16)"), msg);
    }

    @Test
    void missingAndUnexpectedTensorsAreNamed(@TempDir Path tmp) throws IOException {
        Path adapter = tinyAdapter(tmp);
        String dropped = "base_model.model.model.layers.1.mlp.up_proj.lora_B.weight";
        rewriteAdapter(adapter, dropped, null, false);
        String msg = loadError(adapter);
        assertTrue(msg.contains("adapter_model.safetensors") && msg.contains("missing")
                && msg.contains("'" + dropped + "'"), msg);

        Path other = tinyAdapter(tmp.resolve("second"));
        String extra = "base_model.model.lm_head.lora_A.weight";
        rewriteAdapter(other, null, extra, false);
        msg = loadError(other);
        assertTrue(msg.contains("adapter_model.safetensors") && msg.contains("unexpected")
                && msg.contains("'" + extra + "'"), msg);

        Files.delete(other.resolve("adapter_model.safetensors"));
        msg = loadError(other);
        assertTrue(msg.contains("adapter_model.safetensors") && msg.contains("not found"), msg);
    }
}
