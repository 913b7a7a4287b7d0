package org.lethe.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Named architectures for models trained from scratch (there is no model hub): each preset maps
 * a vocabulary size to a Llama config.
 */
public final class ModelPresets {

    private static final Map<String, IntFunction<LlamaConfig>> PRESETS = new LinkedHashMap<>();
    private static final Map<String, String> DESCRIPTIONS = new LinkedHashMap<>();

    static {
        register("tiny", "2 layers x 64 hidden, GQA 4/2 heads: unit tests",
                v -> base(v).setHiddenSize(64).setIntermediateSize(172).setNumHiddenLayers(2)
                        .setNumAttentionHeads(4).optNumKeyValueHeads(2).build());
        register("demo", "4 layers x 128 hidden, GQA 4/2 heads (~0.8M + embeddings): the embedded demo",
                v -> base(v).setHiddenSize(128).setIntermediateSize(344).setNumHiddenLayers(4)
                        .setNumAttentionHeads(4).optNumKeyValueHeads(2).build());
        register("bench-25m", "8 layers x 512 hidden, GQA 8/4 heads (~23M + embeddings): benchmarks",
                v -> base(v).setHiddenSize(512).setIntermediateSize(1376).setNumHiddenLayers(8)
                        .setNumAttentionHeads(8).optNumKeyValueHeads(4).build());
    }

    private ModelPresets() {}

    private static void register(String name, String description, IntFunction<LlamaConfig> f) {
        PRESETS.put(name, f);
        DESCRIPTIONS.put(name, description);
    }

    private static LlamaConfig.Builder base(int vocab) {
        return LlamaConfig.builder().setVocabSize(vocab).optMaxPositionEmbeddings(1024)
                .optTieWordEmbeddings(true).optRmsNormEps(1e-5);
    }

    /** The config of preset {@code name} for a vocabulary of {@code vocabSize} ids. */
    public static LlamaConfig config(String name, int vocabSize) {
        IntFunction<LlamaConfig> f = PRESETS.get(name);
        if (f == null) {
            throw new IllegalArgumentException("unknown model preset '" + name + "' (known: "
                    + String.join(", ", PRESETS.keySet()) + ")");
        }
        return f.apply(vocabSize);
    }

    /** Preset names with a one-line description, in registration order. */
    public static Map<String, String> descriptions() {
        return DESCRIPTIONS;
    }
}
