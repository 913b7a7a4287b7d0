package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lethe.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The model against Hugging Face transformers' own outputs on a real pretrained checkpoint
 * (stories260K reference.json): logits, token NLL, greedy tokens, loss and gradients.
 */
class HfReferenceTest {

    private static Path dir;
    private static JsonNode reference;
    private static LanguageModel lm;

    @BeforeAll
    static void load() throws IOException {
        dir = Fixtures.stories260k();
        reference = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        lm = LanguageModel.load(dir, ModelSettings.defaults());
    }

    @AfterAll
    static void close() {
        if (lm != null) {
            lm.close();
        }
    }

    static long[] longs(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }

    private static List<long[]> promptIds() {
        List<long[]> ids = new ArrayList<>();
        reference.get("cases").forEach(c -> ids.add(longs(c.get("input_ids"))));
        return ids;
    }

    @Test
    void tokenizerMatchesHfInputIds() {
        for (JsonNode c : reference.get("cases")) {
            assertArrayEquals(longs(c.get("input_ids")),
                    lm.tokenizer().encode(c.get("prompt").asText(), true), c.get("prompt").asText());
        }
    }

    @Test
    void logitsMatchAtEveryPosition() {
        for (JsonNode c : reference.get("cases")) {
            long[] ids = longs(c.get("input_ids"));
            JsonNode expected = c.get("logits");
            try (NDManager m = lm.manager().newSubManager()) {
                NDArray idArr = m.create(ids, new Shape(1, ids.length));
                NDArray mask = m.ones(new Shape(1, ids.length), DataType.INT64);
                NDArray pos = m.arange(0, ids.length, 1, DataType.INT64).expandDims(0);
                float[] logits = lm.block().logits(lm.parameterStore(), idArr, pos, mask, null, false)
                        .toFloatArray();
                int vocab = lm.config().vocabSize();
                double worst = 0;
                for (int t = 0; t < ids.length; t++) {
                    for (int v = 0; v < vocab; v++) {
                        worst = Math.max(worst,
                                Math.abs(logits[t * vocab + v] - expected.get(t).get(v).asDouble()));
                    }
                }
                assertTrue(worst < 1e-4, c.get("prompt") + ": max |logit - HF| = " + worst);
            }
        }
    }

    @Test
    void tokenNllMatchesInOnePaddedBatch() {
        List<float[]> logProbs = LmScorer.tokenLogProbs(lm, promptIds());
        int i = 0;
        for (JsonNode c : reference.get("cases")) {
            float[] lp = logProbs.get(i++);
            JsonNode nll = c.get("token_nll");
            assertEquals(nll.size(), lp.length);
            double sum = 0;
            for (int t = 0; t < lp.length; t++) {
                assertEquals(nll.get(t).asDouble(), -lp[t], 3e-5, "token " + t + " of " + c.get("prompt"));
                sum += -lp[t];
            }
            assertEquals(c.get("mean_nll").asDouble(), sum / lp.length, 3e-5);
        }
    }

    @Test
    void greedyTokensMatchWithAndWithoutCacheAndInALeftPaddedBatch() {
        List<long[]> prompts = promptIds();
        List<long[]> batchCached = GreedyDecoder.generate(lm, prompts, 48, true);
        List<long[]> batchUncached = GreedyDecoder.generate(lm, prompts, 48, false);
        int i = 0;
        for (JsonNode c : reference.get("cases")) {
            long[] expected = longs(c.get("greedy_48"));
            long[] alone = GreedyDecoder.generate(lm, List.of(prompts.get(i)), 48, true).get(0);
            assertArrayEquals(expected, alone, "one prompt, cached: " + c.get("prompt"));
            assertArrayEquals(expected, GreedyDecoder.generate(lm, List.of(prompts.get(i)), 48, false)
                    .get(0), "one prompt, no cache: " + c.get("prompt"));
            assertArrayEquals(expected, batchCached.get(i), "left-padded batch, cached");
            assertArrayEquals(expected, batchUncached.get(i), "left-padded batch, no cache");
            assertEquals(c.get("greedy_48_text").asText(), lm.tokenizer().decode(alone));
            i++;
        }
    }

    @Test
    void lossAndEveryGradientNormMatch() {
        JsonNode g = reference.get("grad_case");
        List<long[]> seqs = new ArrayList<>();
        List<long[]> labels = new ArrayList<>();
        for (int r = 0; r < g.get("input_ids").size(); r++) {
            long[] ids = longs(g.get("input_ids").get(r));
            long[] mask = longs(g.get("attention_mask").get(r));
            int n = 0;
            while (n < mask.length && mask[n] == 1) {
                n++;
            }
            seqs.add(java.util.Arrays.copyOf(ids, n));
            labels.add(java.util.Arrays.copyOf(longs(g.get("labels").get(r)), n));
        }
        try (LmTrainer trainer = new LmTrainer(lm, AdamW.Settings.defaults(), 0)) {
            trainer.zeroGradients();
            LmTrainer.StepResult r = trainer.accumulate(seqs, labels);
            assertEquals(g.get("loss").asDouble(), r.loss(), 3e-5);
            Map<String, NDArray> grads = trainer.gradients();
            try {
                JsonNode norms = g.get("grad_l2_norm");
                assertEquals(norms.size(), grads.size());
                norms.fields().forEachRemaining(e -> {
                    NDArray grad = grads.get(e.getKey());
                    assertTrue(grad != null, "no gradient for " + e.getKey());
                    double norm = grad.norm().getFloat();
                    double want = e.getValue().asDouble();
                    assertEquals(want, norm, 1e-4 * want, e.getKey());
                });
                float[] first8 = grads.get("model.layers.0.self_attn.q_proj.weight").toFloatArray();
                JsonNode ref8 = g.get("grad_first8").get("model.layers.0.self_attn.q_proj.weight");
                for (int k = 0; k < 8; k++) {
                    assertEquals(ref8.get(k).asDouble(), first8[k], 1e-6);
                }
            } finally {
                grads.values().forEach(NDArray::close);
                trainer.zeroGradients();
            }
        }
    }
}
