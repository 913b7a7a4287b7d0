package org.lethe.text;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * ROUGE-1 and ROUGE-L exactly as Google's {@code rouge_score} computes them with
 * {@code RougeScorer(['rouge1', 'rougeL'], use_stemmer).score(target, prediction)}.
 */
public final class Rouge {

    // TOFU and open-unlearning score with stemming on, MUSE's ROUGE-L F1 with stemming off.
    // Tokens are the maximal runs of [a-z0-9] in the lowercased text: rouge_score replaces
    // [^a-z0-9]+ by a space and splits on whitespace, which is the same thing. Pure static
    // functions, so thread-safe inside Spark tasks with nothing to serialize.

    private Rouge() {}

    /** Precision, recall and their harmonic mean (rouge_score's {@code Score}; F1 is its {@code fmeasure}). */
    public record Scores(double precision, double recall, double f1) implements Serializable {

        /** All zero: what rouge_score returns when the target or the prediction has no token. */
        public static final Scores ZERO = new Scores(0, 0, 0);

        /** Scores from precision and recall, F1 = 2PR/(P+R), or 0 when both are 0. */
        public static Scores of(double precision, double recall) {
            // Same operation order as rouge_score's fmeasure, so results match bit for bit
            double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
            return new Scores(precision, recall, f1);
        }
    }

    /** ROUGE-L of {@code prediction} against {@code target}: LCS length over each side's token count. */
    public static Scores rougeL(String target, String prediction, boolean stem) {
        return rougeL(tokenize(target, stem), tokenize(prediction, stem));
    }

    /** ROUGE-1 of {@code prediction} against {@code target}: clipped unigram overlap over each side's token count. */
    public static Scores rouge1(String target, String prediction, boolean stem) {
        return rouge1(tokenize(target, stem), tokenize(prediction, stem));
    }

    /** ROUGE-L on tokens already produced by {@link #tokenize}. */
    public static Scores rougeL(List<String> target, List<String> prediction) {
        if (target.isEmpty() || prediction.isEmpty()) {
            return Scores.ZERO;
        }
        Map<String, Integer> ids = new HashMap<>();
        int[] t = ids(target, ids);
        int[] p = ids(prediction, ids);
        int lcs = lcsLength(t, p);
        return Scores.of((double) lcs / p.length, (double) lcs / t.length);
    }

    /** ROUGE-1 on tokens already produced by {@link #tokenize}. */
    public static Scores rouge1(List<String> target, List<String> prediction) {
        Map<String, int[]> counts = new HashMap<>();
        for (String token : target) {
            counts.computeIfAbsent(token, k -> new int[2])[0]++;
        }
        for (String token : prediction) {
            int[] c = counts.get(token);
            if (c != null) {
                c[1]++;
            }
        }
        int overlap = 0;
        for (int[] c : counts.values()) {
            overlap += Math.min(c[0], c[1]);
        }
        // rouge_score divides by max(count, 1): an empty side scores 0, not NaN
        return Scores.of((double) overlap / Math.max(prediction.size(), 1),
                (double) overlap / Math.max(target.size(), 1));
    }

    /** rouge_score's tokenizer: lowercase, {@code [a-z0-9]+} runs, Porter-stemmed when longer than 3 and asked. */
    public static List<String> tokenize(String text, boolean stem) {
        String lower = text.toLowerCase(Locale.ROOT);
        List<String> tokens = new ArrayList<>();
        int start = -1;
        for (int i = 0; i <= lower.length(); i++) {
            boolean word = i < lower.length() && isTokenChar(lower.charAt(i));
            if (word && start < 0) {
                start = i;
            } else if (!word && start >= 0) {
                String token = lower.substring(start, i);
                if (stem && token.length() > 3) {
                    token = PorterStemmer.INSTANCE.stem(token);
                }
                // rouge_score's final ^[a-z0-9]+$ filter: a stem stays in that alphabet but could be empty
                if (!token.isEmpty()) {
                    tokens.add(token);
                }
                start = -1;
            }
        }
        return tokens;
    }

    private static boolean isTokenChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    private static int[] ids(List<String> tokens, Map<String, Integer> ids) {
        int[] out = new int[tokens.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = ids.computeIfAbsent(tokens.get(i), k -> ids.size());
        }
        return out;
    }

    /** Length of the longest common subsequence, two rows of the DP table over the shorter side. */
    static int lcsLength(int[] a, int[] b) {
        if (a.length < b.length) {
            int[] swap = a;
            a = b;
            b = swap;
        }
        int[] previous = new int[b.length + 1];
        int[] current = new int[b.length + 1];
        for (int ai : a) {
            for (int j = 1; j <= b.length; j++) {
                current[j] = ai == b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length];
    }
}
