package org.lethe.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Token entropy of a generation as "A Closer Look at Machine Unlearning for LLMs" computes it
 * ({@code compute_token_entropy}): the entropy of the unigram frequency distribution of the
 * generated tokens divided by its maximum log(count); low values flag repetitive, degenerate output.
 */
public final class TokenEntropy {

    private TokenEntropy() {}

    /**
     * H / log(n) over the n tokens of {@code tokenIds} (the tokenizer's tokens of the decoded
     * generation, without special tokens), in [0, 1]; 0 when n <= 1, including an empty generation.
     *
     * @throws IllegalArgumentException when {@code tokenIds} is null
     */
    public static double normalized(long[] tokenIds) {
        if (tokenIds == null) {
            throw new IllegalArgumentException("tokenIds must not be null");
        }
        int n = tokenIds.length;
        if (n <= 1) {
            return 0.0;
        }
        return bits(tokenIds) / (Math.log(n) / Math.log(2));
    }

    /**
     * The unnormalized entropy in bits, -sum f log2 f over the token frequencies f (0 for no tokens).
     *
     * @throws IllegalArgumentException when {@code tokenIds} is null
     */
    public static double bits(long[] tokenIds) {
        if (tokenIds == null) {
            throw new IllegalArgumentException("tokenIds must not be null");
        }
        // First-appearance order, as nltk's FreqDist (a Counter) sums them
        Map<Long, Integer> counts = new LinkedHashMap<>();
        for (long id : tokenIds) {
            counts.merge(id, 1, Integer::sum);
        }
        double log2 = Math.log(2);
        double entropy = 0.0;
        for (int count : counts.values()) {
            double f = (double) count / tokenIds.length;
            entropy += -f * Math.log(f) / log2;
        }
        return entropy;
    }
}
