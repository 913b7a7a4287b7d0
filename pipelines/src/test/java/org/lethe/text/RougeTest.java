package org.lethe.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.lethe.testing.Fixtures;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Rouge reproduces rouge_score: tokens, the no-stem rule for short tokens, LCS, clipped unigrams, TOFU's logs. */
class RougeTest {

    private static void assertScores(double precision, double recall, double f1, Rouge.Scores actual) {
        assertEquals(precision, actual.precision(), 1e-12, "precision");
        assertEquals(recall, actual.recall(), 1e-12, "recall");
        assertEquals(f1, actual.f1(), 1e-12, "f1");
    }

    @Test
    void tokenizesLikeRougeScore() {
        // Everything outside [a-z0-9] after lowercasing separates tokens: apostrophes, hyphens,
        // slashes, accented letters; the dotted capital I lowercases to i + a combining dot
        assertEquals(List.of("i", "stanbul", "caf", "na", "ve", "05", "11", "1991", "hsiao", "yun", "hwa", "s"),
                Rouge.tokenize("İstanbul café naïve 05/11/1991 Hsiao Yun-Hwa's", false));
        assertEquals(List.of("bkelvin"), Rouge.tokenize("ÀB\u212Aelvin", true));
        assertEquals(List.of(), Rouge.tokenize(" ,.!? \n\t", true));
        assertEquals(List.of(), Rouge.tokenize("", false));
    }

    @Test
    void stemsOnlyTokensLongerThanThreeCharacters() {
        // The stemmer maps this -> thi, was -> wa, bus -> bu; rouge_score leaves the 3-letter ones alone
        assertEquals(List.of("thi", "was", "his", "dog", "s", "bus", "write", "author", "novel"),
                Rouge.tokenize("This was his dog's bus, writing authored novels", true));
        assertEquals(List.of("this", "was", "his", "dog", "s", "bus", "writing", "authored", "novels"),
                Rouge.tokenize("This was his dog's bus, writing authored novels", false));
    }

    @Test
    void handComputedRougeL() {
        String target = "The authors' novels were translated into French.";
        String prediction = "Her novel was translated to French, and Spanish!";
        // Stemmed, target:     the author novel were translat into french             (7 tokens)
        //           prediction: her novel was translat to french and spanish           (8 tokens)
        // LCS = novel, translat, french = 3 (the and author have no partner; were/into/to/was differ)
        // P = 3/8, R = 3/7, F1 = 2 * 9/56 / (3/8 + 3/7) = (18/56) / (45/56) = 0.4
        assertScores(3.0 / 8, 3.0 / 7, 0.4, Rouge.rougeL(target, prediction, true));
        // Unstemmed (MUSE): authors/novels no longer match author/novel, LCS = translated, french = 2
        // P = 2/8, R = 2/7, F1 = 2 * (1/4)(2/7) / (1/4 + 2/7) = (1/7) / (15/28) = 4/15
        assertScores(2.0 / 8, 2.0 / 7, 4.0 / 15, Rouge.rougeL(target, prediction, false));
    }

    @Test
    void rougeLRewardsOrderWhereRouge1DoesNot() {
        // Same four words reversed in pairs: every unigram matches, but the longest common
        // subsequence is 'the gunman' (police precedes killed in the target, follows it in the prediction)
        assertScores(0.5, 0.5, 0.5, Rouge.rougeL("police killed the gunman", "the gunman killed police", true));
        assertScores(1.0, 1.0, 1.0, Rouge.rouge1("police killed the gunman", "the gunman killed police", true));
    }

    @Test
    void rouge1ClipsCounts() {
        // target the x3 cat x1, prediction the x1 cat x2: overlap min(3,1) + min(1,2) = 2
        // P = 2/3, R = 2/4, F1 = 2 * (2/3)(1/2) / (2/3 + 1/2) = 4/7
        assertScores(2.0 / 3, 0.5, 4.0 / 7, Rouge.rouge1("the the the cat", "the cat cat", true));
        // LCS is 'the cat' here too
        assertScores(2.0 / 3, 0.5, 4.0 / 7, Rouge.rougeL("the the the cat", "the cat cat", true));
    }

    @Test
    void emptyOrPunctuationOnlyTextsScoreZero() {
        String[][] pairs = {{"", "a cat"}, {"a cat", ""}, {"!!!", "a cat"}, {"a cat", "..."}, {"", ""}};
        for (String[] pair : pairs) {
            for (boolean stem : new boolean[] {true, false}) {
                assertEquals(Rouge.Scores.ZERO, Rouge.rougeL(pair[0], pair[1], stem));
                assertEquals(Rouge.Scores.ZERO, Rouge.rouge1(pair[0], pair[1], stem));
            }
        }
        assertScores(0, 0, 0, Rouge.rougeL("one two", "three four", true));
    }

    @Test
    void lcsOfLongSequences() {
        // a = 0..999, b = the evens 0..998 then the odds 1..999: the best common subsequence takes
        // the evens 0..2k then the odds 2k+1..999, (k + 1) + (500 - k) = 501 for every k
        int[] a = new int[1000];
        int[] b = new int[1000];
        for (int i = 0; i < 1000; i++) {
            a[i] = i;
            b[i] = i < 500 ? 2 * i : 2 * (i - 500) + 1;
        }
        assertEquals(501, Rouge.lcsLength(a, b));
        assertEquals(501, Rouge.lcsLength(b, a));
        assertEquals(3, Rouge.lcsLength(new int[] {7, 1, 2, 3}, new int[] {1, 9, 2, 3, 7}));
    }

    /**
     * TOFU logged every generation with its ground truth and rouge_score's recalls; rescoring the
     * logged texts must give the logged values for every sample of both models and all four sets.
     */
    @Test
    void reproducesTofusLoggedRecalls() throws Exception {
        Path dir = Fixtures.root().resolve("tofu").resolve("eval_logs_llama2_7b");
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.toString().endsWith(".json")).sorted().collect(Collectors.toList());
        }
        assertEquals(2, files.size(), "eval logs in " + dir);
        ObjectMapper json = new ObjectMapper();
        int rougeLCount = 0;
        int rouge1Count = 0;
        int partial = 0;
        int changedByStemming = 0;
        double maxError = 0;
        for (Path file : files) {
            JsonNode root = json.readTree(file.toFile());
            assertEquals(4, root.size(), file + ": eval sets");
            for (Iterator<Map.Entry<String, JsonNode>> sets = root.fields(); sets.hasNext(); ) {
                Map.Entry<String, JsonNode> set = sets.next();
                JsonNode log = set.getValue();
                JsonNode texts = log.get("generated_text");
                JsonNode rougeL = log.get("rougeL_recall");
                JsonNode rouge1 = log.get("rouge1_recall");
                assertEquals(texts.size(), rougeL.size(), set.getKey());
                assertEquals(texts.size(), rouge1.size(), set.getKey());
                for (Iterator<Map.Entry<String, JsonNode>> it = rougeL.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> sample = it.next();
                    String where = file.getFileName() + " " + set.getKey() + " #" + sample.getKey();
                    // generated_text[i] = [prompt, generation, ground truth]; TOFU calls
                    // scorer.score(ground truth, generation): the truth is the target
                    JsonNode triple = texts.get(sample.getKey());
                    assertEquals(3, triple.size(), where);
                    String generated = triple.get(1).asText();
                    String truth = triple.get(2).asText();
                    double loggedL = sample.getValue().asDouble();
                    double logged1 = rouge1.get(sample.getKey()).asDouble();
                    double recallL = Rouge.rougeL(truth, generated, true).recall();
                    double recall1 = Rouge.rouge1(truth, generated, true).recall();
                    assertEquals(loggedL, recallL, 1e-9, where + " rougeL_recall");
                    assertEquals(logged1, recall1, 1e-9, where + " rouge1_recall");
                    maxError = Math.max(maxError, Math.max(Math.abs(loggedL - recallL), Math.abs(logged1 - recall1)));
                    rougeLCount++;
                    rouge1Count++;
                    if (loggedL > 0 && loggedL < 1) {
                        partial++;
                    }
                    if (Math.abs(Rouge.rougeL(truth, generated, false).recall() - loggedL) > 1e-9) {
                        changedByStemming++;
                    }
                }
            }
        }
        assertEquals(1634, rougeLCount);
        assertEquals(1634, rouge1Count);
        assertEquals(0.0, maxError, "rouge_score's arithmetic is reproduced exactly");
        // The data exercises the metric: 360 recalls strictly between 0 and 1, and 58 that only
        // stemming reproduces (so TOFU's numbers do depend on the NLTK stemmer)
        assertEquals(360, partial);
        assertEquals(58, changedByStemming);
    }
}
