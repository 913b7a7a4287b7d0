package org.lethe.text;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a Hugging Face {@code tokenizer.json} for a byte-level BPE with no merges: ids 0-2 are
 * {@code <unk>}, {@code <s>}, {@code </s>}, ids 3-258 the 256 bytes (GPT-2's byte-to-unicode
 * alphabet). It encodes any UTF-8 text losslessly, so a model trained from scratch needs no corpus
 * to get a working tokenizer.
 */
public final class ByteLevelTokenizer {

    /** Ids of the special tokens, as in Llama. */
    public static final int UNK = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    /** Vocabulary size: 3 specials + 256 bytes. */
    public static final int VOCAB_SIZE = 259;

    private static final ObjectMapper JSON = new ObjectMapper();

    private ByteLevelTokenizer() {}

    /** Writes {@code tokenizer.json} into {@code dir} and returns its path. */
    public static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("tokenizer.json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), json());
        return file;
    }

    static ObjectNode json() {
        return json(List.of(), List.of());
    }

    /**
     * The tokenizer.json tree with {@code mergedTokens} as ids 259 upwards and {@code merges}
     * ({@code "left right"}, in rank order) in the BPE model; the byte ids and specials stay fixed
     * so a trained tokenizer keeps the byte-level one's ids.
     */
    static ObjectNode json(List<String> mergedTokens, List<String> merges) {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        String[] specials = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < specials.length; i++) {
            added.addObject().put("id", i).put("content", specials[i]).put("single_word", false)
                    .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
        }
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "ByteLevel").put("add_prefix_space", false)
                .put("trim_offsets", true).put("use_regex", true);
        root.putNull("post_processor");
        root.putObject("decoder").put("type", "ByteLevel").put("add_prefix_space", true)
                .put("trim_offsets", true).put("use_regex", true);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < specials.length; i++) {
            vocab.put(specials[i], i);
        }
        int[] alphabet = byteToUnicode();
        for (int b = 0; b < 256; b++) {
            vocab.put(new String(Character.toChars(alphabet[b])), 3 + b);
        }
        for (int i = 0; i < mergedTokens.size(); i++) {
            vocab.put(mergedTokens.get(i), VOCAB_SIZE + i);
        }
        ArrayNode mergeList = model.putArray("merges");
        merges.forEach(mergeList::add);
        return root;
    }

    /**
     * GPT-2's reversible byte-to-unicode map: printable Latin-1 bytes map to themselves, the rest
     * to code points from 256 upwards, so every byte is a visible, non-whitespace character.
     */
    static int[] byteToUnicode() {
        int[] map = new int[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 256;
        for (int b = 0; b < 256; b++) {
            map[b] = printable[b] ? b : next++;
        }
        return map;
    }
}
