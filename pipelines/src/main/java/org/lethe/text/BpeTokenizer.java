package org.lethe.text;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A byte-level BPE vocabulary and merge list (as learned by {@link BpeTrainer}) that encodes text
 * the way Hugging Face tokenizers does with the {@code tokenizer.json} it writes.
 *
 * <p>Ids 0-258 are those of {@link ByteLevelTokenizer} (three specials, then the 256 bytes); merged
 * tokens follow from 259 in the order they were learned.
 */
public final class BpeTokenizer {

    /**
     * GPT-2's pre-tokenizer, as HF's ByteLevel pre-tokenizer applies it ({@code use_regex}): words
     * keep their leading space, so merges never cross a word boundary.
     */
    static final Pattern PRE_TOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] BYTE_SYMBOLS = byteSymbols();

    private final List<String> tokens;
    private final Map<String, Integer> ids;
    private final List<int[]> merges;
    private final Map<Long, Integer> ranks;

    /**
     * @param tokens every token by id: the 259 ids of {@link ByteLevelTokenizer} then merged tokens
     * @param merges {left id, right id} in rank order; each concatenation must be a token
     */
    BpeTokenizer(List<String> tokens, List<int[]> merges) {
        this.tokens = List.copyOf(tokens);
        this.ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            if (ids.putIfAbsent(tokens.get(i), i) != null) {
                throw new IllegalArgumentException("token '" + tokens.get(i) + "' appears twice in the vocabulary");
            }
        }
        this.merges = List.copyOf(merges);
        this.ranks = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            int[] m = merges.get(r);
            String merged = tokens.get(m[0]) + tokens.get(m[1]);
            if (!ids.containsKey(merged)) {
                throw new IllegalArgumentException("merge " + r + " makes '" + merged + "', which is not in the vocabulary");
            }
            ranks.putIfAbsent(pair(m[0], m[1]), r);
        }
    }

    /** Number of ids (specials, bytes and merged tokens). */
    public int vocabSize() {
        return tokens.size();
    }

    /** Number of merges (can exceed the merged tokens: two pairs may spell the same token). */
    public int mergeCount() {
        return merges.size();
    }

    /** The merges in rank order, each {@code "left right"} as tokenizer.json lists them. */
    public List<String> merges() {
        List<String> out = new ArrayList<>(merges.size());
        for (int[] m : merges) {
            out.add(tokens.get(m[0]) + " " + tokens.get(m[1]));
        }
        return out;
    }

    /** Token ids of {@code text} (no BOS / EOS), as HF tokenizers encodes it with {@link #write}'s file. */
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        for (String word : preTokenize(text)) {
            List<Integer> symbols = new ArrayList<>();
            for (byte b : word.getBytes(StandardCharsets.UTF_8)) {
                symbols.add(ByteLevelTokenizer.VOCAB_SIZE - 256 + (b & 0xFF));
            }
            // HF merges the lowest-ranked adjacent pair first, the leftmost one on ties.
            while (symbols.size() > 1) {
                int best = -1;
                int bestRank = Integer.MAX_VALUE;
                for (int i = 0; i + 1 < symbols.size(); i++) {
                    Integer r = ranks.get(pair(symbols.get(i), symbols.get(i + 1)));
                    if (r != null && r < bestRank) {
                        bestRank = r;
                        best = i;
                    }
                }
                if (best < 0) {
                    break;
                }
                int[] m = merges.get(bestRank);
                symbols.set(best, ids.get(tokens.get(m[0]) + tokens.get(m[1])));
                symbols.remove(best + 1);
            }
            out.addAll(symbols);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Writes {@code tokenizer.json} into {@code dir} (the layout of {@link ByteLevelTokenizer}) and returns it. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve("tokenizer.json");
        // Compact JSON: the pretty printer's line separator is the platform's, and the file must be
        // byte-identical wherever the same corpus is fitted.
        Files.writeString(file, JSON.writeValueAsString(
                ByteLevelTokenizer.json(tokens.subList(ByteLevelTokenizer.VOCAB_SIZE, tokens.size()), merges())) + "\n");
        return file;
    }

    /** The pieces HF's ByteLevel pre-tokenizer splits {@code text} into (before the byte mapping). */
    static List<String> preTokenize(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = PRE_TOKENIZER.matcher(text);
        while (m.find()) {
            words.add(m.group());
        }
        return words;
    }

    /** A piece in GPT-2's byte alphabet: one visible character per UTF-8 byte. */
    static String byteSymbols(String piece) {
        StringBuilder sb = new StringBuilder();
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            sb.append(BYTE_SYMBOLS[b & 0xFF]);
        }
        return sb.toString();
    }

    static String byteSymbol(int b) {
        return BYTE_SYMBOLS[b];
    }

    static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static String[] byteSymbols() {
        int[] map = ByteLevelTokenizer.byteToUnicode();
        String[] out = new String[256];
        for (int b = 0; b < 256; b++) {
            out[b] = new String(Character.toChars(map[b]));
        }
        return out;
    }
}
