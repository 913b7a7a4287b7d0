package org.lethe.eval;

import org.junit.jupiter.api.Test;
import org.lethe.text.Rouge;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** MUSE's text handling, by hand: stop strings, the passage split by tokens, the few-shot prompt, ROUGE-L F1. */
class MuseMetricsTest {

    @Test
    void answersAreCutAtTheFirstStopString() {
        assertEquals("Paris.", MuseMetrics.cutAtStop("Paris.\n\nQuestion: Where is Rome?"));
        // "\nQuestion" at 4 comes before "Question:" at 5
        assertEquals("Oslo", MuseMetrics.cutAtStop("Oslo\nQuestion: next"));
        // "Question:" at 2 comes before "\n\n" at 13, whatever the list order
        assertEquals("A ", MuseMetrics.cutAtStop("A Question: B\n\nC"));
        assertEquals("", MuseMetrics.cutAtStop("\n\nlater"));
        // a single newline and a partial stop word are not stops
        assertEquals("one\ntwo\nQuestio", MuseMetrics.cutAtStop("one\ntwo\nQuestio"));
        assertEquals("no stop here", MuseMetrics.cutAtStop("no stop here"));
    }

    @Test
    void passagesSplitIntoPromptAndContinuationByTokens() {
        long[] ten = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
        MuseMetrics.PassageSplit s = MuseMetrics.split(ten, 3, 4);
        assertArrayEquals(new long[] {10, 11, 12}, s.prompt());
        assertArrayEquals(new long[] {13, 14, 15, 16}, s.continuation());
        // shorter than prompt + continuation: the continuation is what is left
        MuseMetrics.PassageSplit five = MuseMetrics.split(new long[] {1, 2, 3, 4, 5}, 3, 4);
        assertArrayEquals(new long[] {1, 2, 3}, five.prompt());
        assertArrayEquals(new long[] {4, 5}, five.continuation());
        assertArrayEquals(new long[] {4}, MuseMetrics.split(new long[] {1, 2, 3, 4}, 3, 4).continuation());
        // prompt + 1 tokens is the minimum: with only the prompt there is nothing to continue
        assertNull(MuseMetrics.split(new long[] {1, 2, 3}, 3, 4));
        assertNull(MuseMetrics.split(new long[0], 3, 4));
    }

    @Test
    void theFewShotPromptIsMusesTextExactly() {
        String prefix = MuseMetrics.fewShotPrefix(List.of(new MuseMetrics.QaPair("Who wrote Kallo?", "Ann Berg"),
                new MuseMetrics.QaPair("Where was she born?", "Oslo")));
        assertEquals("Question: Who wrote Kallo?\nAnswer: Ann Berg\n\nQuestion: Where was she born?\nAnswer: Oslo\n\n",
                prefix);
        assertEquals("Question: Who wrote Kallo?\nAnswer: Ann Berg\n\nQuestion: Where was she born?\nAnswer: Oslo\n\n"
                + "Question: When?\nAnswer: ", MuseMetrics.knowMemPrompt(prefix, "When?"));
        assertEquals("Question: When?\nAnswer: ", MuseMetrics.knowMemPrompt(MuseMetrics.fewShotPrefix(List.of()), "When?"));
    }

    @Test
    void rougeLF1WithoutStemmingByHand() {
        // reference: the cats sat on the mat (6 tokens); generation: the cat sat on a mat (6 tokens).
        // Unstemmed, "cats" != "cat": LCS = the sat on mat = 4, P = R = 4/6, F1 = 2/3.
        assertEquals(2.0 / 3.0, Rouge.rougeL("The cats sat on the mat.", "the cat sat on a mat", false).f1(), 1e-15);
        // Stemmed (TOFU's setting) "cats" -> "cat": LCS = 5, F1 = 5/6; MUSE does not stem.
        assertEquals(5.0 / 6.0, Rouge.rougeL("The cats sat on the mat.", "the cat sat on a mat", true).f1(), 1e-15);
        // An empty generation scores 0 (rouge_score's convention), as an answer cut to nothing does
        assertEquals(0.0, Rouge.rougeL("Ann Berg", MuseMetrics.cutAtStop("\n\nQuestion: x"), false).f1());
    }

    @Test
    void tokenCountsMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new MuseMetrics.Settings(0, 128, 32));
        assertEquals(32, new MuseMetrics.Settings(32, 128, 32).promptTokens());
    }

    @Test
    void mcqAccuracyNeedsAStrictWin() {
        assertEquals(1.0, SampleMetrics.mcqAccuracy(1.0, new double[] {1.5, 2.0}));
        assertEquals(0.0, SampleMetrics.mcqAccuracy(1.0, new double[] {1.5, 1.0}), "a tie is not a win");
        assertEquals(0.0, SampleMetrics.mcqAccuracy(3.0, new double[] {2.9}));
        assertThrows(IllegalArgumentException.class, () -> SampleMetrics.mcqAccuracy(1.0, new double[0]));
    }
}
