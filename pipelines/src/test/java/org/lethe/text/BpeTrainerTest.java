package org.lethe.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;

/** The BPE trainer: greedy merges with deterministic ties, and files HF tokenizers encodes exactly as we do. */
class BpeTrainerTest {

    @Test
    void mergesTheMostFrequentPairFirstAndBreaksTiesByTokenOrder() {
        // Words: "low" x2, " low", " lower", " lowest". (l,o) and (o,w) both occur 5 times: "l" sorts
        // first. Then "lo"+"w" (5), space+"low" (3), " low"+"e" (2); every other pair occurs once.
        BpeTokenizer tok = BpeTrainer.train(List.of("low lower lowest", "low low"), 300);
        assertEquals(List.of("l o", "lo w", "Ġ low", "Ġlow e"), tok.merges());
        assertEquals(ByteLevelTokenizer.VOCAB_SIZE + 4, tok.vocabSize(), "stops when no pair occurs twice");
        assertArrayEquals(new int[] {259 + 1, 259 + 3, 3 + 'r'}, tok.encode("low lower"));
    }

    @Test
    void reachesTheTargetSizeWhateverTheOrderOfTheTexts() {
        List<String> texts = corpus();
        BpeTokenizer a = BpeTrainer.train(texts, 320);
        List<String> reversed = new ArrayList<>(texts);
        Collections.reverse(reversed);
        BpeTokenizer b = BpeTrainer.train(reversed, 320);
        assertEquals(320, a.vocabSize());
        assertEquals(a.merges(), b.merges());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BpeTrainer.train(texts, 100));
        assertTrue(e.getMessage().contains("vocab size 100"), e.getMessage());
    }

    @Test
    void theWrittenFileEncodesInHfTokenizersExactlyAsTheTrainerDoes(@TempDir Path dir) throws Exception {
        List<String> texts = corpus();
        BpeTokenizer bpe = BpeTrainer.train(texts, 320);
        Path file = bpe.write(dir);
        JsonNode json = new ObjectMapper().readTree(file.toFile());
        assertEquals("BPE", json.at("/model/type").asText());
        assertEquals(bpe.mergeCount(), json.at("/model/merges").size());
        for (JsonNode merge : json.at("/model/merges")) {
            String[] parts = merge.asText().split(" ");
            assertEquals(2, parts.length, merge.asText());
            assertTrue(json.at("/model/vocab").has(parts[0] + parts[1]), merge.asText());
        }
        assertEquals(1, json.at("/model/vocab/<s>").asInt());
        assertEquals(3 + 'A', json.at("/model/vocab/A").asInt(), "byte ids are those of the byte-level tokenizer");
        assertEquals(320, LmTokenizer.vocabularySize(file));
        LlamaConfig config = LlamaConfig.builder().setVocabSize(320).setHiddenSize(8).setIntermediateSize(8)
                .setNumHiddenLayers(1).setNumAttentionHeads(2).build();
        List<String> probes = new ArrayList<>(texts);
        probes.addAll(List.of("Ünïcödé 漢字 🙂 never seen", "  leading\tand trailing  \n", "it's 1984, isn't it?",
                "lantern-lit    gaps", ""));
        try (LmTokenizer hf = LmTokenizer.load(file, config)) {
            for (String text : probes) {
                long[] ids = hf.encode(text, false);
                assertArrayEquals(Arrays.stream(bpe.encode(text)).asLongStream().toArray(), ids, text);
                assertEquals(text, hf.decode(ids), "round trip");
            }
            long[] one = hf.encode("lanterns lanterns lanterns", false);
            assertTrue(one.length < 9, "a frequent word is a few tokens, not one per byte: " + one.length);
        }
    }

    /** Sentences with repeated words, so that there is plenty to merge. */
    private static List<String> corpus() {
        String[] words = {"lantern", "harbour", "bell", "orchard", "salt", "merchant", "river", "Kelvora",
            "Ostrevia", "the", "of", "and", "in", "1962", "born"};
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            StringBuilder sb = new StringBuilder();
            for (int j = 0; j < 6; j++) {
                sb.append(j == 0 ? "" : " ").append(words[(i * 7 + j * 3 + i / 5) % words.length]);
            }
            texts.add(sb.append(i % 3 == 0 ? "." : ", it's said.").toString());
        }
        return texts;
    }
}
