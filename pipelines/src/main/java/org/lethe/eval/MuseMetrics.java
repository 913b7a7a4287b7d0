package org.lethe.eval;

import org.lethe.model.LanguageModel;
import org.lethe.model.GreedyDecoder;
import org.lethe.model.LmTokenizer;
import org.lethe.text.Rouge;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MUSE's memorization metrics (Shi et al., 2024), ROUGE-L F1 without stemming: VerbMem (a forget
 * passage's first tokens prompt a greedy continuation, scored against the passage's true
 * continuation) and KnowMem (a few-shot "Question: ... Answer: ..." prompt, the greedy answer cut
 * at the first stop string, scored against the answer).
 */
public final class MuseMetrics {

    /** Where a KnowMem answer ends: the model starting the next few-shot block. */
    public static final List<String> STOP_STRINGS = List.of("\n\n", "\nQuestion", "Question:");

    /**
     * @param promptTokens VerbMem: passage tokens in the prompt (MUSE: 32)
     * @param continuationTokens VerbMem: generated tokens, and the reference's length (MUSE: 128)
     * @param answerTokens KnowMem: generated tokens per answer (MUSE: 32)
     */
    public record Settings(int promptTokens, int continuationTokens, int answerTokens) implements Serializable {
        public Settings {
            if (promptTokens <= 0 || continuationTokens <= 0 || answerTokens <= 0) {
                throw new IllegalArgumentException("MUSE token counts must be > 0, got prompt " + promptTokens
                        + ", continuation " + continuationTokens + ", answer " + answerTokens);
            }
        }
    }

    /** A passage's token ids cut for VerbMem: the prompt part (no BOS) and the reference continuation. */
    public record PassageSplit(long[] prompt, long[] continuation) {}

    /** A few-shot example. */
    public record QaPair(String question, String answer) implements Serializable {}

    private MuseMetrics() {}

    /** {@code text} up to the first occurrence of any {@link #STOP_STRINGS} (all of it when none occurs). */
    public static String cutAtStop(String text) {
        int end = text.length();
        for (String stop : STOP_STRINGS) {
            int at = text.indexOf(stop);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        return text.substring(0, end);
    }

    /**
     * The first {@code promptTokens} ids as prompt, the next (up to) {@code continuationTokens} as
     * reference; null when the passage has no token after the prompt (nothing to continue).
     */
    public static PassageSplit split(long[] passage, int promptTokens, int continuationTokens) {
        if (passage.length < promptTokens + 1) {
            return null;
        }
        return new PassageSplit(Arrays.copyOfRange(passage, 0, promptTokens),
                Arrays.copyOfRange(passage, promptTokens, Math.min(passage.length, promptTokens + continuationTokens)));
    }

    /** MUSE's few-shot prefix: {@code "Question: q\nAnswer: a\n\n"} per example, in order. */
    public static String fewShotPrefix(List<QaPair> examples) {
        StringBuilder b = new StringBuilder();
        for (QaPair e : examples) {
            b.append("Question: ").append(e.question()).append("\nAnswer: ").append(e.answer()).append("\n\n");
        }
        return b.toString();
    }

    /** The KnowMem prompt of one question after the few-shot prefix (MUSE's trailing space included). */
    public static String knowMemPrompt(String prefix, String question) {
        return prefix + "Question: " + question + "\nAnswer: ";
    }

    /**
     * {@code verbmem_rouge_l_f1} of each passage ({@code answer} of the items), the continuation in
     * {@code generation}; NULL (and no generation) for a passage of at most {@code promptTokens} tokens.
     */
    public static List<SampleMetrics.Value> verbMem(LanguageModel lm, List<SampleMetrics.Item> items, Settings s) {
        LmTokenizer tok = lm.tokenizer();
        List<long[]> prompts = new ArrayList<>();
        List<String> references = new ArrayList<>();
        boolean[] scored = new boolean[items.size()];
        for (int i = 0; i < items.size(); i++) {
            PassageSplit cut = split(tok.encode(items.get(i).answer(), false), s.promptTokens(), s.continuationTokens());
            if (cut != null) {
                scored[i] = true;
                long[] prompt = new long[cut.prompt().length + 1];
                prompt[0] = tok.bosId();
                System.arraycopy(cut.prompt(), 0, prompt, 1, cut.prompt().length);
                prompts.add(prompt);
                references.add(tok.decode(cut.continuation()));
            }
        }
        List<long[]> generated = GreedyDecoder.generate(lm, prompts, s.continuationTokens(), true);
        List<SampleMetrics.Value> out = new ArrayList<>();
        int g = 0;
        for (int i = 0; i < items.size(); i++) {
            SampleMetrics.Item it = items.get(i);
            if (!scored[i]) {
                out.add(new SampleMetrics.Value(it.split(), it.sampleId(), EvalTables.VERBMEM_ROUGE_L_F1, null, null));
                continue;
            }
            String text = tok.decode(generated.get(g));
            double f1 = Rouge.rougeL(references.get(g), text, false).f1();
            g++;
            out.add(new SampleMetrics.Value(it.split(), it.sampleId(), EvalTables.VERBMEM_ROUGE_L_F1, f1, text.strip()));
        }
        return out;
    }

    /**
     * {@code knowmem_rouge_l_f1} of each question after {@code prefix} (see {@link #fewShotPrefix}),
     * the answer cut at the first stop string in {@code generation}.
     */
    public static List<SampleMetrics.Value> knowMem(LanguageModel lm, List<SampleMetrics.Item> items, String prefix,
            Settings s) {
        LmTokenizer tok = lm.tokenizer();
        List<long[]> prompts = new ArrayList<>();
        for (SampleMetrics.Item it : items) {
            prompts.add(tok.encode(knowMemPrompt(prefix, it.question()), true));
        }
        List<long[]> generated = GreedyDecoder.generate(lm, prompts, s.answerTokens(), true);
        List<SampleMetrics.Value> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            SampleMetrics.Item it = items.get(i);
            String answer = cutAtStop(tok.decode(generated.get(i)));
            out.add(new SampleMetrics.Value(it.split(), it.sampleId(), EvalTables.KNOWMEM_ROUGE_L_F1,
                    Rouge.rougeL(it.answer(), answer, false).f1(), answer.strip()));
        }
        return out;
    }
}
