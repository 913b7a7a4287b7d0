package org.lethe.model;

import ai.djl.ndarray.NDArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The training step on a small fresh model: AdamW by hand, clipping, masking, learning, seeds. */
class LmTrainerTest {

    static LlamaConfig tiny() {
        return LlamaConfig.builder().setVocabSize(40).setHiddenSize(16).setIntermediateSize(24)
                .setNumHiddenLayers(2).setNumAttentionHeads(4).optNumKeyValueHeads(2)
                .optTieWordEmbeddings(false).optAttentionBias(true).build();
    }

    private static LanguageModel lm;

    @BeforeAll
    static void create() {
        lm = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 11, null);
    }

    @AfterAll
    static void close() {
        lm.close();
    }

    private static final List<long[]> SEQS = List.of(
            new long[] {1, 5, 9, 13, 17, 21, 25, 29}, new long[] {1, 6, 10, 14, 3});

    @Test
    void firstAdamWStepMatchesHandComputation() {
        try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 3, null);
                LmTrainer trainer = new LmTrainer(model, new AdamW.Settings(0.9, 0.999, 1e-8, 0.1), 0)) {
            String matrix = "model.layers.0.self_attn.q_proj.weight";
            String vector = "model.layers.0.input_layernorm.weight";
            float[] p0 = model.block().hfParameters().get(matrix).getArray().toFloatArray();
            float[] n0 = model.block().hfParameters().get(vector).getArray().toFloatArray();
            trainer.zeroGradients();
            trainer.accumulate(SEQS, SEQS);
            Map<String, NDArray> grads = trainer.gradients();
            float[] g = grads.get(matrix).toFloatArray();
            float[] gn = grads.get(vector).toFloatArray();
            grads.values().forEach(NDArray::close);
            double lr = 0.01;
            trainer.step(SEQS, SEQS, lr);
            float[] p1 = model.block().hfParameters().get(matrix).getArray().toFloatArray();
            float[] n1 = model.block().hfParameters().get(vector).getArray().toFloatArray();
            // Step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps); decay only on matrices.
            for (int i = 0; i < p0.length; i++) {
                double want = p0[i] * (1 - lr * 0.1) - lr * g[i] / (Math.abs(g[i]) + 1e-8);
                assertEquals(want, p1[i], 1e-6, "q_proj element " + i);
            }
            for (int i = 0; i < n0.length; i++) {
                double want = n0[i] - lr * gn[i] / (Math.abs(gn[i]) + 1e-8);
                assertEquals(want, n1[i], 1e-6, "norm element " + i);
            }
        }
    }

    @Test
    void anUpdateAppliesOnAThreadWhoseGradModeIsOn() throws Exception {
        // PyTorch's grad mode is per thread and on by default: a continual run driven from a
        // scheduler's thread once failed here with "a leaf Variable that requires grad is being
        // used in an in-place operation".
        try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 3, null);
                ai.djl.ndarray.NDManager grads = model.manager().newSubManager()) {
            String name = "model.layers.0.input_layernorm.weight";
            NDArray p = model.block().hfParameters().get(name).getArray();
            assertTrue(p.hasGradient(), "a parameter is a leaf that requires grad");
            float[] before = p.toFloatArray();
            AdamW adamW = new AdamW(model.manager(), AdamW.Settings.defaults());
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean gradModeAfter = new java.util.concurrent.atomic.AtomicBoolean();
            Thread fresh = new Thread(() -> {
                try {
                    ai.djl.pytorch.jni.JniUtils.setGradMode(true);
                    adamW.update(Map.of(name, p), Map.of(name, grads.ones(p.getShape())), 0.01);
                    gradModeAfter.set(ai.djl.pytorch.jni.JniUtils.isGradMode());
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            fresh.start();
            fresh.join();
            if (failure.get() != null) {
                throw new AssertionError("the update failed on a thread with grad mode on", failure.get());
            }
            assertTrue(gradModeAfter.get(), "the thread's grad mode is restored");
            float[] after = p.toFloatArray();
            for (int i = 0; i < before.length; i++) {
                // Step 1 with gradient 1: the update is lr * 1 / (1 + eps); no decay on vectors.
                assertEquals(before[i] - 0.01 / (1 + 1e-8), after[i], 1e-6, "element " + i);
            }
        }
    }

    @Test
    void reportedNormIsTheGlobalNormAndClippingScalesToTheLimit() {
        try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0.05)) {
            trainer.zeroGradients();
            trainer.accumulate(SEQS, SEQS);
            Map<String, NDArray> grads = trainer.gradients();
            double sum = 0;
            for (NDArray g : grads.values()) {
                float n = g.norm().getFloat();
                sum += (double) n * n;
            }
            double global = Math.sqrt(sum);
            assertTrue(global > 0.05, "test needs a gradient above the clip limit, got " + global);
            float reported = trainer.clip(grads);
            assertEquals(global, reported, global * 1e-5);
            double after = 0;
            for (NDArray g : grads.values()) {
                float n = g.norm().getFloat();
                after += (double) n * n;
            }
            assertEquals(0.05, Math.sqrt(after), 1e-5);
            grads.values().forEach(NDArray::close);
            trainer.zeroGradients();
        }
    }

    @Test
    void lossCoversOnlyLabelledTargetsAndAgreesWithTheScorer() {
        long[] ids = {1, 5, 9, 13, 17, 21};
        long[] labels = {-100, -100, -100, 13, 17, 21}; // train on the last three tokens only
        List<float[]> lp = LmScorer.tokenLogProbs(lm, List.of(ids));
        double want = -(lp.get(0)[2] + lp.get(0)[3] + lp.get(0)[4]) / 3;
        try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
            trainer.zeroGradients();
            LmTrainer.StepResult r = trainer.accumulate(List.of(ids), List.of(labels));
            trainer.zeroGradients();
            assertEquals(3, r.targetTokens());
            assertEquals(want, r.loss(), 1e-5);
        }
    }

    @Test
    void trainingMemorizesASentence() {
        try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 5, null);
                LmTrainer trainer = new LmTrainer(model, AdamW.Settings.defaults(), 1.0)) {
            List<Float> losses = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                losses.add(trainer.step(SEQS, SEQS, 1e-2).loss());
            }
            assertTrue(losses.get(39) < 0.25 * losses.get(0), "loss " + losses.get(0) + " -> " + losses.get(39));
            long[] continuation = GreedyDecoder.generate(model, List.of(new long[] {1, 5, 9}), 5, true).get(0);
            assertArrayEquals(new long[] {13, 17, 21, 25, 29}, continuation);
        }
    }

    @Test
    void generationStopsAtEosPerRowAndLeavesItOut() {
        List<long[]> data = List.of(new long[] {1, 6, 10, 14, 2}, new long[] {1, 7, 11, 15, 19, 23, 27, 31});
        try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 8, null);
                LmTrainer trainer = new LmTrainer(model, AdamW.Settings.defaults(), 1.0)) {
            for (int i = 0; i < 60; i++) {
                trainer.step(data, data, 1e-2);
            }
            for (boolean cache : new boolean[] {true, false}) {
                List<long[]> out = GreedyDecoder.generate(model,
                        List.of(new long[] {1, 6}, new long[] {1, 7, 11}), 5, cache);
                assertArrayEquals(new long[] {10, 14}, out.get(0), "row 0 stops at EOS (id 2), cache=" + cache);
                assertArrayEquals(new long[] {15, 19, 23, 27, 31}, out.get(1), "row 1 runs to 5 tokens");
            }
        }
    }

    @Test
    void sameSeedSameModelAndSameSteps() {
        float[][] losses = new float[2][];
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 21, null);
                    LmTrainer trainer = new LmTrainer(model, AdamW.Settings.defaults(), 1.0)) {
                losses[run] = new float[3];
                for (int i = 0; i < 3; i++) {
                    losses[run][i] = trainer.step(SEQS, SEQS, 1e-3).loss();
                }
                weights[run] = model.block().hfParameters().get("lm_head.weight").getArray().toFloatArray();
            }
        }
        assertArrayEquals(losses[0], losses[1]);
        assertArrayEquals(weights[0], weights[1]);
        try (LanguageModel other = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 22, null)) {
            assertNotEquals(lm.block().hfParameters().get("lm_head.weight").getArray().getFloat(0, 0),
                    other.block().hfParameters().get("lm_head.weight").getArray().getFloat(0, 0));
        }
    }

    @Test
    void garbageCollectionDuringStepsDoesNotChangeGradients() throws Exception {
        // Scalars saved by autograd must not live in GC-managed buffers (see Scalars).
        float[][] weights = new float[2][];
        for (int run = 0; run < 2; run++) {
            Thread collector = null;
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            if (run == 1) {
                collector = new Thread(() -> {
                    while (!stop.get()) {
                        System.gc();
                    }
                });
                collector.setDaemon(true);
                collector.start();
            }
            try (LanguageModel model = LanguageModel.fresh(tiny(), ModelSettings.defaults(), 31, null);
                    LmTrainer trainer = new LmTrainer(model, AdamW.Settings.defaults(), 1.0)) {
                for (int i = 0; i < 25; i++) {
                    trainer.step(SEQS, SEQS, 1e-2);
                }
                weights[run] = model.block().hfParameters().get("model.layers.0.self_attn.q_proj.weight")
                        .getArray().toFloatArray();
            } finally {
                stop.set(true);
                if (collector != null) {
                    collector.join();
                }
            }
        }
        assertArrayEquals(weights[0], weights[1]);
    }

    @Test
    void freshInitFollowsHfLlamaInit() {
        NDArray w = lm.block().hfParameters().get("model.layers.1.mlp.up_proj.weight").getArray();
        float[] v = w.toFloatArray();
        double mean = 0;
        double sq = 0;
        for (float x : v) {
            mean += x;
            sq += (double) x * x;
        }
        mean /= v.length;
        double std = Math.sqrt(sq / v.length - mean * mean);
        assertEquals(0.0, mean, 0.004);
        assertEquals(0.02, std, 0.002);
        for (float x : lm.block().hfParameters().get("model.norm.weight").getArray().toFloatArray()) {
            assertEquals(1f, x);
        }
        for (float x : lm.block().hfParameters().get("model.layers.0.self_attn.q_proj.bias").getArray().toFloatArray()) {
            assertEquals(0f, x);
        }
    }

    @Test
    void layerOutputsAreTheResidualStreamBeforeTheFinalNorm() {
        try (ai.djl.ndarray.NDManager m = lm.manager().newSubManager()) {
            long[] seq = SEQS.get(0);
            NDArray ids = m.create(seq, new ai.djl.ndarray.types.Shape(1, seq.length));
            NDArray mask = m.ones(ids.getShape(), ai.djl.ndarray.types.DataType.INT64);
            NDArray pos = m.arange(0, seq.length, 1, ai.djl.ndarray.types.DataType.INT64).expandDims(0);
            LlamaBlock block = lm.block();
            float[] want = block.hiddenStates(lm.parameterStore(), ids, pos, mask, null, false).toFloatArray();
            NDArray last = block.layerOutput(lm.parameterStore(), ids, pos, mask, 1, false);
            assertArrayEquals(want, block.finalNorm(lm.parameterStore(), last, false).toFloatArray());
            NDArray first = block.layerOutput(lm.parameterStore(), ids, pos, mask, 0, false);
            assertEquals(last.getShape(), first.getShape());
            assertNotEquals(first.getFloat(0, 0, 0), last.getFloat(0, 0, 0));
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> block.layerOutput(lm.parameterStore(), ids, pos, mask, 2, false));
            assertTrue(e.getMessage().contains("layer 2") && e.getMessage().contains("2 decoder layers"), e.getMessage());
        }
    }
}
