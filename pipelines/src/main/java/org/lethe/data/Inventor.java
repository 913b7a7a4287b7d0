package org.lethe.data;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Seeded draws for the fictitious world: invented words built from syllables, and picks from the
 * fixed word pools of {@link FictionPools}.
 */
final class Inventor {

    // A small syllable inventory (15 x 5 x 5): invented words stay pronounceable, and a fitted BPE
    // learns the syllables, so a name costs a model a few tokens rather than one per letter.
    private static final String[] ONSETS = {"b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s",
        "t", "v", "z"};
    // Repeated vowels and empty codas are weights.
    private static final String[] NUCLEI = {"a", "a", "e", "e", "i", "o", "o", "u"};
    private static final String[] CODAS = {"", "", "", "n", "r", "l", "s"};

    private final SplittableRandom rng;

    Inventor(long seed) {
        this.rng = new SplittableRandom(seed);
    }

    /** A seed for stream {@code salt}, item {@code index} of the benchmark seeded with {@code seed}. */
    static long seed(long seed, long salt, long index) {
        return mix(mix(mix(seed) ^ salt) ^ index);
    }

    /** SplitMix64's finalizer: nearby inputs give unrelated seeds. */
    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [lo, hi]. */
    int between(int lo, int hi) {
        return lo + rng.nextInt(hi - lo + 1);
    }

    <T> T pick(List<T> pool) {
        return pool.get(rng.nextInt(pool.size()));
    }

    /** {@code k} different values of {@code draw}, in draw order. */
    List<String> distinct(int k, Supplier<String> draw) {
        Set<String> out = new LinkedHashSet<>();
        while (out.size() < k) {
            out.add(draw.get());
        }
        return new ArrayList<>(out);
    }

    /** An invented lowercase word of {@code min} to {@code max} syllables. */
    String word(int min, int max) {
        int syllables = between(min, max);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < syllables; i++) {
            // A word may start with a vowel ("ostrel"); later syllables always have an onset.
            if (i > 0 || rng.nextInt(5) > 0) {
                sb.append(ONSETS[rng.nextInt(ONSETS.length)]);
            }
            sb.append(NUCLEI[rng.nextInt(NUCLEI.length)]);
            sb.append(CODAS[rng.nextInt(CODAS.length)]);
        }
        return sb.toString();
    }

    /** An invented capitalized name of {@code min} to {@code max} syllables. */
    String name(int min, int max) {
        return capitalize(word(min, max));
    }

    /** A person's full name: invented first name and surname. */
    String person() {
        return name(2, 2) + " " + name(2, 3);
    }

    /** A book title built around an invented place, so that titles are specific to one author. */
    String title() {
        String place = name(2, 3);
        String adj = capitalize(pick(FictionPools.TITLE_ADJECTIVES));
        String noun = capitalize(pick(FictionPools.TITLE_NOUNS));
        return switch (rng.nextInt(5)) {
            case 0 -> place + "'s " + adj + " " + noun;
            case 1 -> adj + " " + noun + " of " + place;
            case 2 -> noun + " over " + place;
            case 3 -> "The " + place + " " + noun;
            default -> adj + " " + place;
        };
    }

    static String capitalize(String s) {
        return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
    }
}
