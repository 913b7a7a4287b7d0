package org.lethe.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;
import org.lethe.text.PassagePacker.Passage;

/** Greedy packing with exact counts, and cuts of sentences longer than the limit. */
class PassagePackerTest {

    /** A byte-level tokenizer: one token per UTF-8 byte. */
    private static final ToIntFunction<String> BYTES = s -> s.getBytes(StandardCharsets.UTF_8).length;

    @Test
    void packsConsecutiveSentencesWhileTheJoinedTextFits() {
        PassagePacker packer = new PassagePacker(BYTES, 25);
        // 8 + 1 + 16 = 25 bytes fit exactly; adding " Six." (5) would make 30.
        assertEquals(List.of(
                new Passage("One two. Three four five.", 25, 2),
                new Passage("Six. Seven.", 11, 2)),
                packer.pack(List.of("One two.", "Three four five.", "Six.", "Seven.")));
    }

    @Test
    void countsTheJoinedTextNotTheSumOfSentences() {
        // A tokenizer that adds one prefix token per text (as SentencePiece's "▁" does):
        // "a b." = 3, "c." = 2, but "a b. c." = 4, which fits a limit of 4 that a sum (5) would not.
        ToIntFunction<String> words = s -> s.split(" ").length + 1;
        assertEquals(List.of(new Passage("a b. c.", 4, 2)),
                new PassagePacker(words, 4).pack(List.of("a b.", "c.")));
    }

    @Test
    void cutsAnOverlongSentenceBetweenWords() {
        // 46 bytes; the longest prefix ending before a space within 25 bytes is 22 bytes long.
        String sentence = "Alpha beta gamma delta epsilon zeta eta theta.";
        List<Passage> passages = new PassagePacker(BYTES, 25).pack(List.of("Hi.", sentence, "Bye."));
        assertEquals(List.of(
                new Passage("Hi.", 3, 1),
                new Passage("Alpha beta gamma delta", 22, 1),
                new Passage("epsilon zeta eta theta.", 23, 1),
                new Passage("Bye.", 4, 1)), passages);
    }

    @Test
    void cutsAWordLongerThanTheLimitAtCodePoints() {
        // Seven 4-byte emoji (two chars each): six fit in 25 bytes, and no cut splits a pair.
        assertEquals(List.of(new Passage("🙂🙂🙂🙂🙂🙂", 24, 1), new Passage("🙂", 4, 1)),
                new PassagePacker(BYTES, 25).pack(List.of("🙂🙂🙂🙂🙂🙂🙂")));
        assertEquals(List.of(new Passage("Supercalifragilisticexpia", 25, 1), new Passage("lidocious!", 10, 1)),
                new PassagePacker(BYTES, 25).pack(List.of("Supercalifragilisticexpialidocious!")));
    }

    @Test
    void everyPieceOfALongSentenceFitsAndTheyRejoinToIt() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            sb.append(i % 7 == 0 ? "word" + i + "ü" : "w" + i).append(' ');
        }
        String sentence = sb.toString().strip();
        List<Integer> measured = new ArrayList<>();
        ToIntFunction<String> counting = s -> {
            measured.add(s.length());
            return BYTES.applyAsInt(s);
        };
        List<Passage> passages = new PassagePacker(counting, 64).pack(List.of(sentence));
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < passages.size(); i++) {
            Passage p = passages.get(i);
            assertEquals(BYTES.applyAsInt(p.text()), p.nTokens(), p.text());
            assertEquals(true, p.nTokens() <= 64, p.text());
            // Greedy: the next word (at most 11 bytes with its space) did not fit.
            assertEquals(true, i == passages.size() - 1 || p.nTokens() > 64 - 11, p.text());
            texts.add(p.text());
        }
        assertEquals(sentence, String.join(" ", texts));
        // Doubling keeps measurements short: no prefix beyond twice a passage's length but the first.
        assertEquals(sentence.length(), (int) measured.get(0));
        assertEquals(true, measured.stream().skip(1).allMatch(n -> n <= 4 * 64), measured.toString());
    }

    @Test
    void matchesSequentialGreedyPacking() {
        Random random = new Random(7);
        List<ToIntFunction<String>> counters = List.of(
                BYTES,
                s -> s.split(" ").length + 1, // a prefix token, words merge nothing
                s -> (BYTES.applyAsInt(s) + 2) / 3, // sub-additive: joins can cost 0 or 1
                s -> BYTES.applyAsInt(s) - s.split("\\. ", -1).length + 1); // ". " merges into one
        for (int doc = 0; doc < 300; doc++) {
            List<String> text = new ArrayList<>();
            for (int k = random.nextInt(14); k > 0; k--) {
                StringBuilder sentence = new StringBuilder();
                for (int w = 1 + random.nextInt(random.nextInt(10) == 0 ? 60 : 12); w > 0; w--) {
                    sentence.append(word(random)).append(' ');
                }
                text.add(sentence.toString().strip() + ".");
            }
            ToIntFunction<String> counter = counters.get(doc % counters.size());
            int limit = 8 + random.nextInt(80);
            assertEquals(sequentialGreedy(counter, limit, text),
                    new PassagePacker(counter, limit).pack(text), "doc " + doc);
        }
    }

    @Test
    void tokenizesALongDocumentAFewTimesNotOncePerSentence() {
        Random random = new Random(11);
        List<String> text = new ArrayList<>();
        int length = 0;
        for (int k = 0; k < 2000; k++) {
            StringBuilder sentence = new StringBuilder();
            for (int w = 3 + random.nextInt(15); w > 0; w--) {
                sentence.append(word(random)).append(' ');
            }
            text.add(sentence.toString().strip() + ".");
            length += text.get(k).length() + 1;
        }
        long[] measuredChars = {0};
        List<Passage> passages = new PassagePacker(s -> {
            measuredChars[0] += s.length();
            return BYTES.applyAsInt(s);
        }, 2048).pack(text);
        assertEquals(sequentialGreedy(BYTES, 2048, text), passages);
        // Each sentence once plus about two passage-long texts per passage; adding one sentence
        // at a time would tokenize ~ (sentences per passage / 2) = ~10 times the document.
        assertEquals(true, measuredChars[0] < 4L * length, measuredChars[0] + " chars for " + length);
    }

    private static String word(Random random) {
        String letters = "abcdefghijklmnopqrstuvwxyzé";
        StringBuilder w = new StringBuilder();
        for (int n = 1 + random.nextInt(random.nextInt(30) == 0 ? 40 : 9); n > 0; n--) {
            w.append(letters.charAt(random.nextInt(letters.length())));
        }
        return w.toString();
    }

    /** The reference: add the next sentence while the joined text fits; cut long ones linearly. */
    private static List<Passage> sequentialGreedy(ToIntFunction<String> count, int limit, List<String> sentences) {
        List<Passage> out = new ArrayList<>();
        String current = null;
        int n = 0;
        for (String sentence : sentences) {
            if (current != null && count.applyAsInt(current + " " + sentence) <= limit) {
                current = current + " " + sentence;
                n++;
                continue;
            }
            if (current != null) {
                out.add(new Passage(current, count.applyAsInt(current), n));
                current = null;
            }
            if (count.applyAsInt(sentence) <= limit) {
                current = sentence;
                n = 1;
                continue;
            }
            String rest = sentence;
            while (count.applyAsInt(rest) > limit) {
                int cut = 0;
                for (int i = 1; i < rest.length(); i++) {
                    if (rest.charAt(i) == ' ' && count.applyAsInt(rest.substring(0, i)) <= limit) {
                        cut = i;
                    }
                }
                int next = cut + 1;
                if (cut == 0) {
                    for (int i = 1; i < rest.length() && rest.charAt(i - 1) != ' '; i++) {
                        if (count.applyAsInt(rest.substring(0, i)) <= limit) {
                            cut = i;
                        }
                    }
                    next = cut;
                }
                out.add(new Passage(rest.substring(0, cut), count.applyAsInt(rest.substring(0, cut)), 1));
                rest = rest.substring(next);
            }
            out.add(new Passage(rest, count.applyAsInt(rest), 1));
        }
        if (current != null) {
            out.add(new Passage(current, count.applyAsInt(current), n));
        }
        return out;
    }

    @Test
    void aLimitBelowOneCharacterKeepsTheCharacterWithItsTrueCount() {
        assertEquals(List.of(new Passage("é", 2, 1), new Passage("é", 2, 1)),
                new PassagePacker(BYTES, 1).pack(List.of("éé")));
    }

    @Test
    void rejectsANonPositiveLimit() {
        assertThrows(IllegalArgumentException.class, () -> new PassagePacker(BYTES, 0));
    }
}
