package org.lethe.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.lethe.model.io.ModelFormatException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** config.json parsing: both rope forms, llama3 scaling, and errors that name the key. */
class LlamaConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static ObjectNode minimal() {
        ObjectNode o = JSON.createObjectNode();
        o.put("model_type", "llama");
        o.put("vocab_size", 32);
        o.put("hidden_size", 16);
        o.put("intermediate_size", 24);
        o.put("num_hidden_layers", 2);
        o.put("num_attention_heads", 4);
        return o;
    }

    @Test
    void defaultsFollowTransformers() {
        LlamaConfig c = LlamaConfig.fromJson(minimal(), "config.json");
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(4, c.headDim());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(1e-6, c.rmsNormEps());
        assertNull(c.llama3Scaling());
        assertEquals(false, c.tieWordEmbeddings());
    }

    @Test
    void ropeThetaFromEitherForm() {
        ObjectNode old = minimal();
        old.put("rope_theta", 500000.0);
        assertEquals(500000.0, LlamaConfig.fromJson(old, "c").ropeTheta());
        ObjectNode v5 = minimal();
        v5.putObject("rope_parameters").put("rope_theta", 123.0).put("rope_type", "default");
        assertEquals(123.0, LlamaConfig.fromJson(v5, "c").ropeTheta());
    }

    @Test
    void llama3ScalingMatchesHandComputedFrequencies() {
        ObjectNode o = minimal();
        o.put("hidden_size", 64);
        o.put("num_attention_heads", 2); // head_dim 32: 16 frequencies
        o.put("rope_theta", 500000.0);
        o.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 8192);
        LlamaConfig c = LlamaConfig.fromJson(o, "c");
        float[] inv = Rope.inverseFrequencies(c);
        // Hand computation of HF's _compute_llama3_parameters for i = 0, 8, 15.
        double lowWavelen = 8192 / 1.0;
        double highWavelen = 8192 / 4.0;
        for (int i : new int[] {0, 8, 15}) {
            double base = 1.0 / Math.pow(500000.0, (2.0 * i) / 32);
            double wavelen = 2 * Math.PI / base;
            double want;
            if (wavelen < highWavelen) {
                want = base;
            } else if (wavelen > lowWavelen) {
                want = base / 8;
            } else {
                double smooth = (8192 / wavelen - 1.0) / (4.0 - 1.0);
                want = (1 - smooth) * base / 8 + smooth * base;
            }
            assertEquals(want, inv[i], Math.abs(want) * 1e-5, "frequency " + i);
        }
        assertEquals(1.0, inv[0], 1e-7); // highest frequency untouched
        assertTrue(inv[15] < 1.0 / Math.pow(500000.0, 30.0 / 32) / 7.9); // lowest divided by 8
    }

    @Test
    void rejectsUnsupportedModelTypeAndRopeTypeByName() {
        ObjectNode o = minimal();
        o.put("model_type", "mistral");
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LlamaConfig.fromJson(o, "dir/config.json"));
        assertTrue(e.getMessage().contains("dir/config.json") && e.getMessage().contains("mistral"),
                e.getMessage());
        ObjectNode r = minimal();
        r.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4.0);
        e = assertThrows(ModelFormatException.class, () -> LlamaConfig.fromJson(r, "config.json"));
        assertTrue(e.getMessage().contains("yarn") && e.getMessage().contains("rope_type"), e.getMessage());
    }

    @Test
    void missingAndMistypedKeysAreNamed() {
        ObjectNode o = minimal();
        o.remove("hidden_size");
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> LlamaConfig.fromJson(o, "m/config.json"));
        assertTrue(e.getMessage().contains("'hidden_size'") && e.getMessage().contains("m/config.json"),
                e.getMessage());
        ObjectNode t = minimal();
        t.put("num_hidden_layers", "two");
        e = assertThrows(ModelFormatException.class, () -> LlamaConfig.fromJson(t, "config.json"));
        assertTrue(e.getMessage().contains("'num_hidden_layers'"), e.getMessage());
        ObjectNode g = minimal();
        g.put("num_key_value_heads", 3);
        e = assertThrows(ModelFormatException.class, () -> LlamaConfig.fromJson(g, "config.json"));
        assertTrue(e.getMessage().contains("num_key_value_heads"), e.getMessage());
    }

    @Test
    void jsonRoundTripKeepsEveryField() {
        ObjectNode o = minimal();
        o.put("num_key_value_heads", 2);
        o.put("head_dim", 8);
        o.put("tie_word_embeddings", true);
        o.put("attention_bias", true);
        o.put("mlp_bias", true);
        o.putArray("eos_token_id").add(5).add(6);
        o.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 5e5)
                .put("factor", 32.0).put("low_freq_factor", 1.0).put("high_freq_factor", 4.0)
                .put("original_max_position_embeddings", 8192);
        LlamaConfig a = LlamaConfig.fromJson(o, "c");
        LlamaConfig b = LlamaConfig.fromJson(a.toJson(), "c2");
        assertEquals(a.toJson(), b.toJson());
        assertEquals(5, b.eosTokenId());
        assertEquals(32.0, b.llama3Scaling().factor());
        assertEquals(8, b.headDim());
    }
}
