package org.lethe.text;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.function.ToIntFunction;

/**
 * Packs a document's consecutive sentences greedily into passages of at most {@code maxTokens}
 * tokens, measured exactly on each passage's final text.
 *
 * <p>A passage is its sentences joined by one space, and its token count is that of this exact
 * string (the joining spaces included, no BOS/EOS), not a sum of per-sentence counts: subword
 * tokenizers merge across the join. Greedy: a passage takes sentences while the joined text
 * fits; the next passage starts with the first sentence that did not.
 *
 * <p>A sentence that alone exceeds the limit becomes passages of its own, cut between words
 * (where the text has a space) into the longest prefixes that still fit, each measured; only a
 * single word longer than the limit is cut inside the word, at a code-point boundary. Cutting
 * the text rather than decoding token chunks keeps every passage an exact substring of the
 * input, which decoding part of a byte-level or SentencePiece sequence does not. Passages joined
 * by single spaces give back the sentences joined by single spaces, except where a word was cut.
 *
 * <p>An instance is not thread-safe (it learns the tokenizer's join cost as it goes).
 */
public final class PassagePacker {

    /** A packed passage: its text, exact token count and number of sentences (a piece counts 1). */
    public record Passage(String text, int nTokens, int nSentences) {}

    private final ToIntFunction<String> tokens;
    private final int maxTokens;
    // Tokens a join adds beyond the sentences' own counts (byte-level: 1; SentencePiece: ~0),
    // learned from the last measured passage; it only steers the guess, never the result.
    private double joinCost;

    /** {@code tokens} counts the tokens of a text (no BOS/EOS). */
    public PassagePacker(ToIntFunction<String> tokens, int maxTokens) {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        this.tokens = tokens;
        this.maxTokens = maxTokens;
    }

    /** The passages of one document's sentences, in order; empty sentences are skipped. */
    public List<Passage> pack(List<String> sentences) {
        List<String> s = new ArrayList<>(sentences.size());
        for (String sentence : sentences) {
            if (!sentence.isEmpty()) {
                s.add(sentence);
            }
        }
        int n = s.size();
        int[] counts = new int[n];
        long[] prefix = new long[n + 1];
        for (int t = 0; t < n; t++) {
            counts[t] = tokens.applyAsInt(s.get(t));
            prefix[t + 1] = prefix[t] + counts[t];
        }
        List<Passage> out = new ArrayList<>();
        int i = 0;
        while (i < n) {
            if (counts[i] > maxTokens) {
                split(s.get(i), out);
                i++;
                continue;
            }
            // Guess the last sentence from the per-sentence counts plus the join cost seen so far,
            // then move the guess with exact measurements until s[i..j] fits and s[i..j+1] does
            // not: the passage sequential greedy packing gives (counts grow with the text), at
            // about two tokenizations per passage instead of one per sentence.
            int j = i;
            while (j + 1 < n && counts[j + 1] <= maxTokens
                    && prefix[j + 2] - prefix[i] + joinCost * (j + 1 - i) <= maxTokens) {
                j++;
            }
            int m = measure(s, i, j, counts);
            if (m > maxTokens) {
                do {
                    j--;
                    m = measure(s, i, j, counts);
                } while (m > maxTokens);
            } else {
                // A sentence over the limit alone cannot fit with others: never measure it joined.
                while (j + 1 < n && counts[j + 1] <= maxTokens) {
                    int next = measure(s, i, j + 1, counts);
                    if (next > maxTokens) {
                        break;
                    }
                    j++;
                    m = next;
                }
            }
            if (j > i) {
                joinCost = (double) (m - (prefix[j + 1] - prefix[i])) / (j - i);
            }
            out.add(new Passage(join(s, i, j), m, j - i + 1));
            i = j + 1;
        }
        return out;
    }

    /** Exact token count of sentences i..j joined by spaces. */
    private int measure(List<String> s, int i, int j, int[] counts) {
        return i == j ? counts[i] : tokens.applyAsInt(join(s, i, j));
    }

    private static String join(List<String> s, int i, int j) {
        return i == j ? s.get(i) : String.join(" ", s.subList(i, j + 1));
    }

    /** Cuts an over-long sentence into passages that each fit. */
    private void split(String sentence, List<Passage> out) {
        int length = sentence.length();
        int[] spaces = spaces(sentence);
        int firstSpace = 0; // index into spaces of the first space after start
        int start = 0;
        while (start < length) {
            while (firstSpace < spaces.length && spaces[firstSpace] <= start) {
                firstSpace++;
            }
            // Candidate ends: every later space (cut before it), then the end of the sentence.
            int from = firstSpace;
            int nWordCuts = spaces.length - from + 1;
            int[] fit = longestFit(sentence, start,
                    k -> from + k < spaces.length ? spaces[from + k] : length, nWordCuts);
            int end;
            int next;
            if (fit != null) {
                end = fit[0];
                next = end == length ? end : end + 1; // skip the space the cut falls on
            } else {
                // The first word alone is too long: cut inside it at code-point boundaries.
                int wordEnd = from < spaces.length ? spaces[from] : length;
                int s = start;
                fit = longestFit(sentence, start, k -> codePointEnd(sentence, s + k + 1), wordEnd - start);
                if (fit == null) {
                    // Not even one character fits (a limit below one character's token count):
                    // it becomes a passage of its own with its true count.
                    int one = sentence.offsetByCodePoints(start, 1);
                    fit = new int[] {one, tokens.applyAsInt(sentence.substring(start, one))};
                }
                end = fit[0];
                next = end;
            }
            out.add(new Passage(sentence.substring(start, end), fit[1], 1));
            start = next;
        }
    }

    /**
     * The largest candidate end {@code cutAt(k)}, k in [0, n), whose text from {@code start} fits,
     * with its token count, or null when none does. Doubling then bisecting keeps a long sentence
     * to O(log n) measurements of prefixes at most twice as long as the answer; a prefix is only
     * returned after it was measured to fit.
     */
    private int[] longestFit(String text, int start, IntUnaryOperator cutAt, int n) {
        int[] best = measure(text, start, cutAt.applyAsInt(0));
        if (best == null) {
            return null;
        }
        int lo = 0; // index known to fit
        int hi = 1; // first index not yet known to fit
        while (hi < n) {
            int[] m = measure(text, start, cutAt.applyAsInt(hi));
            if (m == null) {
                break;
            }
            best = m;
            lo = hi;
            hi = Math.min(n, hi * 2);
        }
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            int[] m = measure(text, start, cutAt.applyAsInt(mid));
            if (m != null) {
                best = m;
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return best;
    }

    /** {end, tokens} when text[start, end) fits, else null. */
    private int[] measure(String text, int start, int end) {
        int n = tokens.applyAsInt(text.substring(start, end));
        return n <= maxTokens ? new int[] {end, n} : null;
    }

    /** Positions of spaces that follow a non-space character (where a word ends). */
    private static int[] spaces(String text) {
        int count = 0;
        for (int i = 1; i < text.length(); i++) {
            if (text.charAt(i) == ' ' && text.charAt(i - 1) != ' ') {
                count++;
            }
        }
        int[] out = new int[count];
        int k = 0;
        for (int i = 1; i < text.length(); i++) {
            if (text.charAt(i) == ' ' && text.charAt(i - 1) != ' ') {
                out[k++] = i;
            }
        }
        return out;
    }

    /** {@code end}, moved past a low surrogate so a cut never splits a code point. */
    private static int codePointEnd(String text, int end) {
        return end < text.length() && Character.isLowSurrogate(text.charAt(end))
                && Character.isHighSurrogate(text.charAt(end - 1)) ? end + 1 : end;
    }
}
