package org.lethe.text;

import java.io.Serializable;
import java.util.Locale;
import java.util.Map;

/**
 * The Porter stemmer exactly as NLTK's {@code PorterStemmer} computes it in its default
 * {@code NLTK_EXTENSIONS} mode, the stemmer behind {@code rouge_score}'s {@code use_stemmer=True}.
 */
public final class PorterStemmer implements Serializable {

    // NLTK departs from Porter's paper, and so does this port: an irregular-forms pool, words of
    // length 1 or 2 returned unchanged, ies/ied on four-letter words (dies -> die, spied -> spi),
    // step 1c only after a consonant that is not the whole stem (happy -> happi, enjoy -> enjoy),
    // alli -> al re-run through step 2, bli -> ble, fulli -> ful, logi -> log measured with the l,
    // and a cvc test that accepts a two-letter vowel-consonant stem. Lengths count UTF-16 units
    // where Python counts code points: they differ only outside the Basic Multilingual Plane, and
    // ROUGE only ever stems [a-z0-9]+ tokens. No state, so thread-safe and trivially serializable.

    private static final long serialVersionUID = 1L;

    /** Shared instance; the stemmer holds no state. */
    public static final PorterStemmer INSTANCE = new PorterStemmer();

    /** NLTK's table of irregular forms: the word maps straight to its paradigm form. */
    private static final Map<String, String> IRREGULAR = Map.ofEntries(
            Map.entry("sky", "sky"), Map.entry("skies", "sky"),
            Map.entry("dying", "die"), Map.entry("lying", "lie"), Map.entry("tying", "tie"),
            Map.entry("news", "news"),
            Map.entry("innings", "inning"), Map.entry("inning", "inning"),
            Map.entry("outings", "outing"), Map.entry("outing", "outing"),
            Map.entry("cannings", "canning"), Map.entry("canning", "canning"),
            Map.entry("howe", "howe"),
            Map.entry("proceed", "proceed"), Map.entry("exceed", "exceed"), Map.entry("succeed", "succeed"));

    /** When a suffix rule may fire, given the stem left after removing the suffix. */
    private enum Condition {
        NONE, MEASURE_GT_0, MEASURE_GT_1,
        /** Step 4's {@code (m>1 and (*S or *T)) ION}. */
        ION,
        /** NLTK keeps the {@code l} of {@code logi} with the stem when measuring it. */
        LOGI
    }

    private record Rule(String suffix, String replacement, Condition condition) {}

    private static final Rule[] STEP1A = {
        new Rule("sses", "ss", Condition.NONE),
        new Rule("ies", "i", Condition.NONE),
        new Rule("ss", "ss", Condition.NONE),
        new Rule("s", "", Condition.NONE),
    };

    // NLTK appends fulli and logi after the published list; the order matters because the first
    // rule whose suffix matches decides, even when its condition then fails.
    private static final Rule[] STEP2 = {
        new Rule("ational", "ate", Condition.MEASURE_GT_0),
        new Rule("tional", "tion", Condition.MEASURE_GT_0),
        new Rule("enci", "ence", Condition.MEASURE_GT_0),
        new Rule("anci", "ance", Condition.MEASURE_GT_0),
        new Rule("izer", "ize", Condition.MEASURE_GT_0),
        new Rule("bli", "ble", Condition.MEASURE_GT_0),
        new Rule("alli", "al", Condition.MEASURE_GT_0),
        new Rule("entli", "ent", Condition.MEASURE_GT_0),
        new Rule("eli", "e", Condition.MEASURE_GT_0),
        new Rule("ousli", "ous", Condition.MEASURE_GT_0),
        new Rule("ization", "ize", Condition.MEASURE_GT_0),
        new Rule("ation", "ate", Condition.MEASURE_GT_0),
        new Rule("ator", "ate", Condition.MEASURE_GT_0),
        new Rule("alism", "al", Condition.MEASURE_GT_0),
        new Rule("iveness", "ive", Condition.MEASURE_GT_0),
        new Rule("fulness", "ful", Condition.MEASURE_GT_0),
        new Rule("ousness", "ous", Condition.MEASURE_GT_0),
        new Rule("aliti", "al", Condition.MEASURE_GT_0),
        new Rule("iviti", "ive", Condition.MEASURE_GT_0),
        new Rule("biliti", "ble", Condition.MEASURE_GT_0),
        new Rule("fulli", "ful", Condition.MEASURE_GT_0),
        new Rule("logi", "log", Condition.LOGI),
    };

    private static final Rule[] STEP3 = {
        new Rule("icate", "ic", Condition.MEASURE_GT_0),
        new Rule("ative", "", Condition.MEASURE_GT_0),
        new Rule("alize", "al", Condition.MEASURE_GT_0),
        new Rule("iciti", "ic", Condition.MEASURE_GT_0),
        new Rule("ical", "ic", Condition.MEASURE_GT_0),
        new Rule("ful", "", Condition.MEASURE_GT_0),
        new Rule("ness", "", Condition.MEASURE_GT_0),
    };

    private static final Rule[] STEP4 = {
        new Rule("al", "", Condition.MEASURE_GT_1),
        new Rule("ance", "", Condition.MEASURE_GT_1),
        new Rule("ence", "", Condition.MEASURE_GT_1),
        new Rule("er", "", Condition.MEASURE_GT_1),
        new Rule("ic", "", Condition.MEASURE_GT_1),
        new Rule("able", "", Condition.MEASURE_GT_1),
        new Rule("ible", "", Condition.MEASURE_GT_1),
        new Rule("ant", "", Condition.MEASURE_GT_1),
        new Rule("ement", "", Condition.MEASURE_GT_1),
        new Rule("ment", "", Condition.MEASURE_GT_1),
        new Rule("ent", "", Condition.MEASURE_GT_1),
        new Rule("ion", "", Condition.ION),
        new Rule("ou", "", Condition.MEASURE_GT_1),
        new Rule("ism", "", Condition.MEASURE_GT_1),
        new Rule("ate", "", Condition.MEASURE_GT_1),
        new Rule("iti", "", Condition.MEASURE_GT_1),
        new Rule("ous", "", Condition.MEASURE_GT_1),
        new Rule("ive", "", Condition.MEASURE_GT_1),
        new Rule("ize", "", Condition.MEASURE_GT_1),
    };

    /** The stem of {@code word}, lowercased first as NLTK does by default. */
    public String stem(String word) {
        String w = word.toLowerCase(Locale.ROOT);
        String irregular = IRREGULAR.get(w);
        if (irregular != null) {
            return irregular;
        }
        // NLTK measures the word as given, before lowercasing
        if (word.length() <= 2) {
            return w;
        }
        w = step1a(w);
        w = step1b(w);
        w = step1c(w);
        w = step2(w);
        w = step3(w);
        w = step4(w);
        w = step5a(w);
        return step5b(w);
    }

    private static String step1a(String w) {
        // NLTK: 'dies' -> 'die' (four letters) but 'flies' -> 'fli'
        if (w.length() == 4 && w.endsWith("ies")) {
            return w.substring(0, 1) + "ie";
        }
        return applyRules(w, STEP1A);
    }

    private static String step1b(String w) {
        // NLTK: 'died' -> 'die' (four letters) but 'spied' -> 'spi'; no further step-1b rule runs
        if (w.endsWith("ied")) {
            return w.substring(0, w.length() - 3) + (w.length() == 4 ? "ie" : "i");
        }
        if (w.endsWith("eed")) {
            String stem = cut(w, 3);
            return measure(stem) > 0 ? stem + "ee" : w;
        }
        String stem;
        if (w.endsWith("ed") && containsVowel(cut(w, 2))) {
            stem = cut(w, 2);
        } else if (w.endsWith("ing") && containsVowel(cut(w, 3))) {
            stem = cut(w, 3);
        } else {
            return w;
        }
        if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) {
            return stem + "e";
        }
        if (endsDoubleConsonant(stem)) {
            // A double consonant other than l, s, z is undoubled; either way nothing else applies
            char last = stem.charAt(stem.length() - 1);
            return last == 'l' || last == 's' || last == 'z' ? stem : cut(stem, 1);
        }
        if (measure(stem) == 1 && endsCvc(stem)) {
            return stem + "e";
        }
        return stem;
    }

    private static String step1c(String w) {
        // NLTK: y -> i only after a consonant that is not the whole stem ('cry' -> 'cri', 'by' -> 'by')
        if (w.endsWith("y")) {
            String stem = cut(w, 1);
            return stem.length() > 1 && isConsonant(stem, stem.length() - 1) ? stem + "i" : w;
        }
        return w;
    }

    private static String step2(String w) {
        // NLTK applies alli -> al before the list and feeds the result through step 2 again
        if (w.endsWith("alli") && measure(cut(w, 4)) > 0) {
            return step2(cut(w, 4) + "al");
        }
        return applyRules(w, STEP2);
    }

    private static String step3(String w) {
        return applyRules(w, STEP3);
    }

    private static String step4(String w) {
        return applyRules(w, STEP4);
    }

    private static String step5a(String w) {
        // Not a rule list: when (m>1) fails, (m=1 and not *o) is still tried on the same suffix
        if (w.endsWith("e")) {
            String stem = cut(w, 1);
            int m = measure(stem);
            if (m > 1 || (m == 1 && !endsCvc(stem))) {
                return stem;
            }
        }
        return w;
    }

    private static String step5b(String w) {
        // The measure is taken with one l still on: 'controll' -> 'control'
        if (w.endsWith("ll") && measure(cut(w, 1)) > 1) {
            return cut(w, 1);
        }
        return w;
    }

    /** The first rule whose suffix matches decides: its replacement if its condition holds, else no change. */
    private static String applyRules(String w, Rule[] rules) {
        for (Rule rule : rules) {
            if (w.endsWith(rule.suffix)) {
                String stem = cut(w, rule.suffix.length());
                return holds(rule.condition, stem, w) ? stem + rule.replacement : w;
            }
        }
        return w;
    }

    private static boolean holds(Condition condition, String stem, String word) {
        switch (condition) {
            case NONE:
                return true;
            case MEASURE_GT_0:
                return measure(stem) > 0;
            case MEASURE_GT_1:
                return measure(stem) > 1;
            case ION:
                if (stem.isEmpty()) {
                    return false;
                }
                char last = stem.charAt(stem.length() - 1);
                return measure(stem) > 1 && (last == 's' || last == 't');
            case LOGI:
                return measure(cut(word, 3)) > 0;
            default:
                throw new AssertionError(condition);
        }
    }

    private static String cut(String w, int n) {
        return w.substring(0, w.length() - n);
    }

    private static boolean isVowel(char c) {
        return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
    }

    /** A letter other than a, e, i, o, u, and other than a y preceded by a consonant. */
    static boolean isConsonant(CharSequence w, int i) {
        char c = w.charAt(i);
        if (isVowel(c)) {
            return false;
        }
        if (c != 'y') {
            return true;
        }
        // Each y flips the verdict of the letter before it; walk a run of y's back to its start
        boolean flip = false;
        while (i > 0 && w.charAt(i) == 'y') {
            flip = !flip;
            i--;
        }
        return !isVowel(w.charAt(i)) != flip;
    }

    /** Porter's m: the number of vowel-run/consonant-run pairs in {@code [C](VC){m}[V]}. */
    static int measure(CharSequence w) {
        int m = 0;
        boolean previousConsonant = true;
        for (int i = 0; i < w.length(); i++) {
            boolean consonant = consonantAfter(w.charAt(i), previousConsonant, i == 0);
            if (consonant && i > 0 && !previousConsonant) {
                m++;
            }
            previousConsonant = consonant;
        }
        return m;
    }

    private static boolean containsVowel(CharSequence w) {
        boolean previousConsonant = true;
        for (int i = 0; i < w.length(); i++) {
            boolean consonant = consonantAfter(w.charAt(i), previousConsonant, i == 0);
            if (!consonant) {
                return true;
            }
            previousConsonant = consonant;
        }
        return false;
    }

    // One left-to-right pass classifies every letter: a y is a consonant iff the letter before it is not
    private static boolean consonantAfter(char c, boolean previousConsonant, boolean first) {
        if (isVowel(c)) {
            return false;
        }
        if (c == 'y') {
            return first || !previousConsonant;
        }
        return true;
    }

    private static boolean endsDoubleConsonant(String w) {
        int n = w.length();
        return n >= 2 && w.charAt(n - 1) == w.charAt(n - 2) && isConsonant(w, n - 1);
    }

    /** Porter's *o (consonant-vowel-consonant, the last not w, x or y), plus NLTK's two-letter vowel-consonant. */
    private static boolean endsCvc(String w) {
        int n = w.length();
        if (n >= 3 && isConsonant(w, n - 3) && !isConsonant(w, n - 2) && isConsonant(w, n - 1)) {
            char last = w.charAt(n - 1);
            if (last != 'w' && last != 'x' && last != 'y') {
                return true;
            }
        }
        return n == 2 && !isConsonant(w, 0) && isConsonant(w, 1);
    }
}
