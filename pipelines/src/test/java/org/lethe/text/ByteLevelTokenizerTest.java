package org.lethe.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.model.LlamaConfig;
import org.lethe.model.LmTokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The byte-level tokenizer.json loads in DJL's HF tokenizers and round-trips any text. */
class ByteLevelTokenizerTest {

    @Test
    void encodesBytesAndDecodesLosslessly(@TempDir Path dir) throws Exception {
        Path file = ByteLevelTokenizer.write(dir);
        LlamaConfig config = LlamaConfig.builder().setVocabSize(ByteLevelTokenizer.VOCAB_SIZE)
                .setHiddenSize(8).setIntermediateSize(8).setNumHiddenLayers(1).setNumAttentionHeads(2).build();
        try (LmTokenizer tok = LmTokenizer.load(file, config)) {
            assertEquals(259, tok.vocabularySize());
            long[] ids = tok.encode("Hi é", true);
            byte[] utf8 = "Hi é".getBytes(StandardCharsets.UTF_8); // H i space 0xC3 0xA9
            long[] want = new long[utf8.length + 1];
            want[0] = ByteLevelTokenizer.BOS;
            for (int i = 0; i < utf8.length; i++) {
                want[i + 1] = 3 + (utf8[i] & 0xFF);
            }
            assertArrayEquals(want, ids);
            for (String text : new String[] {"Once upon a time, Lily's cat said: \"hello\".",
                    "  leading and\ttabs\nnewlines ", "Ünïcödé 漢字 🙂"}) {
                long[] enc = tok.encode(text, false);
                assertEquals(text.getBytes(StandardCharsets.UTF_8).length, enc.length, text);
                assertEquals(text, tok.decode(enc));
            }
        }
    }
}
