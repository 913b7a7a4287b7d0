package org.lethe.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvCacheTest {

    /** GQA (4 query heads on 2 kv heads), q/k/v/o biases, head dim 16: scale 1/4 folds into q. */
    private static LlamaConfig config() {
        return LlamaConfig.builder().setVocabSize(40).setHiddenSize(64).setIntermediateSize(48)
                .setNumHiddenLayers(2).setNumAttentionHeads(4).optNumKeyValueHeads(2).optHeadDim(16)
                .optAttentionBias(true).optInitializerRange(0.2).build();
    }

    // Row 1 is left-padded by one position (pad id 2, mask 0).
    private static final long[] PROMPT = {1, 5, 9, 13, 2, 1, 7, 3};
    private static final long[] PROMPT_MASK = {1, 1, 1, 1, 0, 1, 1, 1};
    private static final long[][] STEPS = {{20, 21}, {22, 23}, {24, 25}};

    @Test
    void everyCachedStepHasTheLogitsOfTheFullRecomputeInALeftPaddedBatch() {
        try (LanguageModel lm = LanguageModel.fresh(config(), ModelSettings.defaults(), 7, null);
                NDManager m = lm.manager().newSubManager();
                KvCache cache = new KvCache(m, 2, 4 + STEPS.length)) {
            long[] ids = PROMPT;
            long[] mask = PROMPT_MASK;
            NDArray promptMask = m.create(mask, new Shape(2, 4));
            lm.block().logits(lm.parameterStore(), m.create(ids, new Shape(2, 4)),
                    GreedyDecoder.positions(promptMask), promptMask, cache, false);
            assertEquals(4, cache.length());
            for (long[] step : STEPS) {
                ids = append(ids, step);
                mask = append(mask, new long[] {1, 1});
                int len = ids.length / 2;
                NDArray fullMask = m.create(mask, new Shape(2, len));
                NDArray positions = GreedyDecoder.positions(fullMask);
                float[] want = lastLogits(lm.block().logits(lm.parameterStore(),
                        m.create(ids, new Shape(2, len)), positions, fullMask, null, false));
                float[] got = lastLogits(lm.block().logits(lm.parameterStore(),
                        m.create(step, new Shape(2, 1)), positions.get(":, {}:", len - 1), fullMask, cache, false));
                assertTrue(maxAbsDiff(want, got) < 1e-5, "step at length " + len + ": " + maxAbsDiff(want, got));
                assertEquals(len, cache.length());
            }
        }
    }

    @Test
    void aSinglePromptDecodesItsCachedStepsOnOneThreadAndRestoresTheSetting() {
        int before = JniUtils.getNumThreads();
        try (LanguageModel lm = LanguageModel.fresh(config(), ModelSettings.defaults(), 7, null)) {
            JniUtils.setNumThreads(2);
            long[] prompt = {1, 5, 9, 13};
            long[] cached = GreedyDecoder.generate(lm, List.of(prompt), 8, true).get(0);
            assertEquals(2, JniUtils.getNumThreads(), "the caller's thread setting after decoding");
            assertArrayEquals(GreedyDecoder.generate(lm, List.of(prompt), 8, false).get(0), cached);
            assertEquals(8, cached.length);
        } finally {
            JniUtils.setNumThreads(before);
        }
    }

    @Test
    void aStepAtTheWrongPositionIsCaughtByTheSameComparison() {
        // The control for the test above: one position off moves the logits far beyond 1e-5.
        try (LanguageModel lm = LanguageModel.fresh(config(), ModelSettings.defaults(), 7, null);
                NDManager m = lm.manager().newSubManager();
                KvCache cache = new KvCache(m, 2, 6)) {
            NDArray promptMask = m.create(PROMPT_MASK, new Shape(2, 4));
            lm.block().logits(lm.parameterStore(), m.create(PROMPT, new Shape(2, 4)),
                    GreedyDecoder.positions(promptMask), promptMask, cache, false);
            long[] ids = append(PROMPT, STEPS[0]);
            NDArray fullMask = m.create(append(PROMPT_MASK, new long[] {1, 1}), new Shape(2, 5));
            NDArray positions = GreedyDecoder.positions(fullMask);
            float[] want = lastLogits(lm.block().logits(lm.parameterStore(), m.create(ids, new Shape(2, 5)),
                    positions, fullMask, null, false));
            float[] got = lastLogits(lm.block().logits(lm.parameterStore(), m.create(STEPS[0], new Shape(2, 1)),
                    positions.get(":, 4:").add(1L), fullMask, cache, false));
            assertTrue(maxAbsDiff(want, got) > 1e-3, "off by one position: " + maxAbsDiff(want, got));
        }
    }

    @Test
    void aPassBeyondTheCapacityFailsNamingIt() {
        try (LanguageModel lm = LanguageModel.fresh(config(), ModelSettings.defaults(), 7, null);
                NDManager m = lm.manager().newSubManager();
                KvCache cache = new KvCache(m, 2, 4)) {
            NDArray promptMask = m.create(PROMPT_MASK, new Shape(2, 4));
            lm.block().logits(lm.parameterStore(), m.create(PROMPT, new Shape(2, 4)),
                    GreedyDecoder.positions(promptMask), promptMask, cache, false);
            NDArray fullMask = m.create(append(PROMPT_MASK, new long[] {1, 1}), new Shape(2, 5));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> lm.block().logits(
                    lm.parameterStore(), m.create(STEPS[0], new Shape(2, 1)), m.create(new long[] {4, 3},
                            new Shape(2, 1)), fullMask, cache, false));
            assertTrue(e.getMessage().contains("holds 4 positions; this pass needs 5"), e.getMessage());
        }
    }

    /** Appends one token per row to a (2, n) row-major array. */
    private static long[] append(long[] rows2, long[] col) {
        int n = rows2.length / 2;
        long[] out = new long[2 * (n + 1)];
        for (int r = 0; r < 2; r++) {
            System.arraycopy(rows2, r * n, out, r * (n + 1), n);
            out[r * (n + 1) + n] = col[r];
        }
        return out;
    }

    /** The (2, vocab) logits of the last position of (2, seq, vocab), flattened. */
    private static float[] lastLogits(NDArray logits) {
        long seq = logits.getShape().get(1);
        return logits.get(":, {}, :", seq - 1).toFloatArray();
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
