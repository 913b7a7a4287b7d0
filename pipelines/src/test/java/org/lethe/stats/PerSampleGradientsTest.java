package org.lethe.stats;

import ai.djl.ndarray.NDArray;
import org.junit.jupiter.api.Test;
import org.lethe.distributed.DataParallelTrainer;
import org.lethe.eval.MembershipScores;
import org.lethe.model.AdamW;
import org.lethe.model.LanguageModel;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmScorer;
import org.lethe.model.LmTrainer;
import org.lethe.model.LoraSettings;
import org.lethe.model.ModelPresets;
import org.lethe.model.ModelSettings;
import org.lethe.testing.Fixtures;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Per-sample gradients and statistics of a padded batch against one-sample batches. */
class PerSampleGradientsTest {

    /** Sequences of different lengths (so the batch is padded) with the first tokens masked as a prompt. */
    static List<long[][]> sequences(int count, int vocab, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<long[][]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int len = 4 + rng.nextInt(14);
            int prompt = 1 + rng.nextInt(len - 2);
            long[] ids = new long[len];
            long[] labels = new long[len];
            ids[0] = 1;
            for (int t = 1; t < len; t++) {
                ids[t] = 3 + rng.nextInt(vocab - 3);
            }
            for (int t = 0; t < len; t++) {
                labels[t] = t < prompt ? LmTrainer.IGNORE_INDEX : ids[t];
            }
            out.add(new long[][] {ids, labels});
        }
        return out;
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }

    /** max |a - b| over elements, relative to |b|. */
    private static double relativeMaxDiff(float[] a, float[] b) {
        assertEquals(b.length, a.length);
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs((double) a[i] - b[i]));
        }
        return d / norm(b);
    }

    /** Checks the padded batch against each sample alone; returns the worst relative differences. */
    private static double[] paddedMatchesOneSampleBatches(LanguageModel lm, List<String> names, List<long[][]> seqs) {
        List<long[]> ids = seqs.stream().map(s -> s[0]).toList();
        List<long[]> labels = seqs.stream().map(s -> s[1]).toList();
        List<PerSampleGradients.Sample> batch = PerSampleGradients.compute(lm, names, ids, labels, 0.4);
        double worstVector = 0;
        double worstNorm = 0;
        for (int i = 0; i < seqs.size(); i++) {
            PerSampleGradients.Sample alone = PerSampleGradients.compute(lm, names, List.of(ids.get(i)),
                    List.of(labels.get(i)), 0.4).get(0);
            PerSampleGradients.Sample padded = batch.get(i);
            assertTrue(alone.gradNorm() > 0, "sample " + i + " has a gradient");
            worstVector = Math.max(worstVector, relativeMaxDiff(padded.gradient(), alone.gradient()));
            worstNorm = Math.max(worstNorm, Math.abs(padded.gradNorm() - alone.gradNorm()) / alone.gradNorm());
            assertEquals(alone.answerTokens(), padded.answerTokens());
            assertEquals(alone.meanNll(), padded.meanNll(), 1e-5 * alone.meanNll());
            assertEquals(alone.minK(), padded.minK(), 1e-5 * Math.abs(alone.minK()));
            assertEquals(alone.meanEntropy(), padded.meanEntropy(), 1e-5 * alone.meanEntropy());

            // The one-sample gradient equals LmTrainer's (an independent code path: mean loss, one backward).
            try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
                trainer.zeroGradients();
                trainer.accumulate(List.of(ids.get(i)), List.of(labels.get(i)));
                Map<String, NDArray> grads = trainer.gradients();
                float[] reference = org.lethe.distributed.ParameterSnapshot.flatten(lm, names, grads::get);
                grads.values().forEach(NDArray::close);
                trainer.zeroGradients();
                assertTrue(relativeMaxDiff(alone.gradient(), reference) < 1e-6, "sample " + i + " vs LmTrainer");
            }
            // Loss statistics by hand from LmScorer's token log-probs of the answer tokens.
            float[] lp = LmScorer.tokenLogProbs(lm, List.of(ids.get(i))).get(0);
            List<Double> answer = new ArrayList<>();
            for (int t = 0; t < lp.length; t++) {
                if (labels.get(i)[t + 1] != LmTrainer.IGNORE_INDEX) {
                    answer.add((double) lp[t]);
                }
            }
            double[] a = answer.stream().mapToDouble(Double::doubleValue).toArray();
            double nll = -answer.stream().mapToDouble(Double::doubleValue).sum() / a.length;
            assertEquals(a.length, padded.answerTokens());
            assertEquals(nll, padded.meanNll(), 1e-5 * nll);
            assertEquals(answer.stream().mapToDouble(Double::doubleValue).min().orElseThrow(), padded.minLogProb(), 1e-5);
            assertEquals(MembershipScores.minK(a, 0.4), padded.minK(), 1e-5);
            assertTrue(padded.meanEntropy() > 0 && padded.meanEntropy() <= Math.log(lm.config().vocabSize()) + 1e-6);
        }
        return new double[] {worstVector, worstNorm};
    }

    @Test
    void paddedBatchGradientsOfEveryParameterMatchOneSampleBatches() {
        LlamaConfig config = ModelPresets.config("tiny", 300);
        try (LanguageModel lm = LanguageModel.fresh(config, ModelSettings.defaults(), 7, null)) {
            List<String> names = DataParallelTrainer.select(lm, List.of());
            double[] worst = paddedMatchesOneSampleBatches(lm, names, sequences(6, 300, 11));
            System.err.printf("tiny model, all %d parameter tensors: worst relative difference padded vs one-sample:"
                    + " vector %.3g, norm %.3g%n", names.size(), worst[0], worst[1]);
            assertTrue(worst[0] < 1e-5, "vector: " + worst[0]);
            assertTrue(worst[1] < 1e-5, "norm: " + worst[1]);
        }
    }

    @Test
    void paddedBatchGradientsOfLoraAdaptersAndOfSelectedLayersMatchOneSampleBatches() {
        try (LanguageModel lm = LanguageModel.load(Fixtures.stories260k(), ModelSettings.defaults())) {
            List<long[][]> seqs = sequences(5, lm.config().vocabSize(), 12);
            List<String> mlp = DataParallelTrainer.select(lm, List.of("model\\.layers\\.[0-9]+\\.mlp\\..*"));
            double[] worstMlp = paddedMatchesOneSampleBatches(lm, mlp, seqs);
            lm.attachLora(new LoraSettings(4, 16, List.of("q_proj", "v_proj"), 3));
            List<String> lora = DataParallelTrainer.select(lm, List.of());
            assertEquals(20, lora.size(), "A and B of q and v in 5 layers");
            double[] worstLora = paddedMatchesOneSampleBatches(lm, lora, seqs);
            System.err.printf("stories260K: worst relative difference padded vs one-sample: mlp vector %.3g norm %.3g;"
                    + " lora vector %.3g norm %.3g%n", worstMlp[0], worstMlp[1], worstLora[0], worstLora[1]);
            assertTrue(worstMlp[0] < 1e-5 && worstMlp[1] < 1e-5, java.util.Arrays.toString(worstMlp));
            assertTrue(worstLora[0] < 1e-5 && worstLora[1] < 1e-5, java.util.Arrays.toString(worstLora));
        }
    }
}
