package org.lethe.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;

/**
 * Learns a byte-level BPE tokenizer from a corpus: GPT-2 pre-tokenization and byte alphabet, then
 * greedy merges of the most frequent adjacent pair until the vocabulary reaches its target size.
 *
 * <p>Deterministic: ties between equally frequent pairs go to the pair whose left token, then
 * right token, sorts first (Java string order), so the same corpus always gives the same file,
 * whatever order the texts come in.
 */
public final class BpeTrainer {

    /** Default target vocabulary size: small enough for a model trained from scratch on 2 cores. */
    public static final int DEFAULT_VOCAB_SIZE = 1024;

    private BpeTrainer() {}

    /**
     * Learns merges from {@code texts} until there are {@code vocabSize} ids, or earlier when no
     * adjacent pair occurs twice (a merge seen once only memorizes, it does not compress).
     */
    public static BpeTokenizer train(Iterable<String> texts, int vocabSize) {
        if (vocabSize < ByteLevelTokenizer.VOCAB_SIZE) {
            throw new IllegalArgumentException("vocab size " + vocabSize + " is below the "
                    + ByteLevelTokenizer.VOCAB_SIZE + " ids of the specials and bytes");
        }
        // Sorted, so that the word indices (and with them every later step) do not depend on hashing.
        TreeMap<String, Integer> wordCounts = new TreeMap<>();
        for (String text : texts) {
            for (String word : BpeTokenizer.preTokenize(text)) {
                wordCounts.merge(word, 1, Integer::sum);
            }
        }
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        for (int b = 0; b < 256; b++) {
            tokens.add(BpeTokenizer.byteSymbol(b));
        }
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < tokens.size(); i++) {
            ids.put(tokens.get(i), i);
        }

        int[][] words = new int[wordCounts.size()][];
        int[] freq = new int[wordCounts.size()];
        Map<Long, Integer> pairCounts = new HashMap<>();
        Map<Long, Set<Integer>> pairWords = new HashMap<>();
        int w = 0;
        for (Map.Entry<String, Integer> e : wordCounts.entrySet()) {
            String symbols = BpeTokenizer.byteSymbols(e.getKey());
            int[] word = new int[symbols.codePointCount(0, symbols.length())];
            int i = 0;
            for (int offset = 0; offset < symbols.length(); ) {
                int cp = symbols.codePointAt(offset);
                word[i++] = ids.get(new String(Character.toChars(cp)));
                offset += Character.charCount(cp);
            }
            words[w] = word;
            freq[w] = e.getValue();
            count(word, freq[w], w, pairCounts, pairWords, null);
            w++;
        }

        // Most frequent pair first, then by token strings; entries whose count has changed since
        // they were queued are stale and skipped (every change queues the new count).
        PriorityQueue<Candidate> queue = new PriorityQueue<>((a, b) -> {
            if (a.count != b.count) {
                return Integer.compare(b.count, a.count);
            }
            int cmp = tokens.get(left(a.pair)).compareTo(tokens.get(left(b.pair)));
            return cmp != 0 ? cmp : tokens.get(right(a.pair)).compareTo(tokens.get(right(b.pair)));
        });
        pairCounts.forEach((p, c) -> queue.add(new Candidate(p, c)));
        List<int[]> merges = new ArrayList<>();
        while (tokens.size() < vocabSize) {
            Candidate next = queue.poll();
            if (next == null || next.count < 2) {
                break; // no pair occurs twice
            }
            if (pairCounts.getOrDefault(next.pair, 0) != next.count) {
                continue;
            }
            int left = left(next.pair);
            int right = right(next.pair);
            String merged = tokens.get(left) + tokens.get(right);
            Integer id = ids.get(merged);
            if (id == null) { // two different pairs can spell the same token: it keeps one id
                id = tokens.size();
                tokens.add(merged);
                ids.put(merged, id);
            }
            merges.add(new int[] {left, right});
            Set<Long> changed = new HashSet<>();
            for (int wi : pairWords.remove(next.pair)) {
                int[] word = words[wi];
                if (!contains(word, left, right)) {
                    continue; // a stale entry: an earlier merge already took this pair apart
                }
                count(word, -freq[wi], -1, pairCounts, null, changed);
                words[wi] = merge(word, left, right, id);
                count(words[wi], freq[wi], wi, pairCounts, pairWords, changed);
            }
            for (long p : changed) {
                Integer c = pairCounts.get(p);
                if (c != null && c >= 2) {
                    queue.add(new Candidate(p, c));
                }
            }
        }
        return new BpeTokenizer(tokens, merges);
    }

    private record Candidate(long pair, int count) {}

    private static int left(long pair) {
        return (int) (pair >>> 32);
    }

    private static int right(long pair) {
        return (int) pair;
    }

    /** Adds {@code weight} to the count of every adjacent pair of {@code word}; records where and what changed. */
    private static void count(int[] word, int weight, int wordIndex, Map<Long, Integer> pairCounts,
            Map<Long, Set<Integer>> pairWords, Set<Long> changed) {
        for (int i = 0; i + 1 < word.length; i++) {
            long p = BpeTokenizer.pair(word[i], word[i + 1]);
            pairCounts.merge(p, weight, (a, b) -> a + b == 0 ? null : a + b);
            if (pairWords != null) {
                pairWords.computeIfAbsent(p, k -> new HashSet<>()).add(wordIndex);
            }
            if (changed != null) {
                changed.add(p);
            }
        }
    }

    private static boolean contains(int[] word, int left, int right) {
        for (int i = 0; i + 1 < word.length; i++) {
            if (word[i] == left && word[i + 1] == right) {
                return true;
            }
        }
        return false;
    }

    /** Replaces every non-overlapping (left, right), scanning left to right as HF's trainer does. */
    private static int[] merge(int[] word, int left, int right, int id) {
        int[] out = new int[word.length];
        int n = 0;
        for (int i = 0; i < word.length; i++) {
            if (i + 1 < word.length && word[i] == left && word[i + 1] == right) {
                out[n++] = id;
                i++;
            } else {
                out[n++] = word[i];
            }
        }
        return Arrays.copyOf(out, n);
    }
}
