package org.lethe.data;

import org.lethe.config.LetheConfig;
import org.lethe.model.LmTokenizer;

import java.io.Serializable;
import java.util.Arrays;

/**
 * How a question/answer pair becomes one training sequence, as TOFU does it: question start tag +
 * question + question end tag + answer start tag + answer, tokenized together once with BOS; the
 * prompt's token count (same tokenizer, with BOS) is masked out of the labels; EOS is appended as
 * a counted label.
 */
public record PromptTemplate(String questionStart, String questionEnd, String answerStart)
        implements Serializable {

    /** Label value excluded from the loss. */
    public static final long IGNORE = -100;

    /** A tokenized sample: ids (BOS ... answer EOS), labels, and the prompt's token count. */
    public record Encoded(long[] ids, long[] labels, int promptTokens) implements Serializable {
        /** Number of counted label tokens (answer tokens + EOS). */
        public int answerTokens() {
            return ids.length - promptTokens;
        }
    }

    /** {@code lethe.data.template.*}. */
    public static PromptTemplate of(LetheConfig config) {
        return new PromptTemplate(config.getString("data.template.question_start"),
                config.getString("data.template.question_end"),
                config.getString("data.template.answer_start"));
    }

    /** The prompt text for a question (what generation starts from). */
    public String prompt(String question) {
        return questionStart + question + questionEnd;
    }

    /**
     * The text greedy generation starts from: prompt + answer start tag, with trailing whitespace
     * removed. BPE and SentencePiece tokenizers attach a space to the word after it, so "Answer: X"
     * trains on [Answer][:][ X]; a prompt ending in "Answer: " would end in a lone space token the
     * model never saw there. Strip the generated text's leading space when comparing.
     */
    public String generationPrompt(String question) {
        return (prompt(question) + answerStart).stripTrailing();
    }

    /** Encodes one pair; see the class comment. */
    public Encoded encode(LmTokenizer tokenizer, String question, String answer) {
        String prompt = prompt(question);
        long[] full = tokenizer.encode(prompt + answerStart + answer, true);
        int promptTokens = Math.min(tokenizer.encode(prompt, true).length, full.length);
        long[] ids = Arrays.copyOf(full, full.length + 1);
        ids[full.length] = tokenizer.eosId();
        long[] labels = ids.clone();
        Arrays.fill(labels, 0, promptTokens, IGNORE);
        return new Encoded(ids, labels, promptTokens);
    }
}
