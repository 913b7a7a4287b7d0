package org.lethe.data;

import java.util.List;

/**
 * One question/answer pair about a fictitious author, with what TOFU's perturbed files add: a
 * paraphrased question and answer, and perturbed answers (the paraphrase with wrong facts).
 *
 * @param author the author's index: 0..N-1 in full.jsonl order, N.. for holdout authors
 * @param kind the question's kind (e.g. {@code birthplace}), one per question of an author
 * @param facts the author-specific values the answer states (each also in the paraphrased answer)
 */
public record QaItem(int author, String kind, String question, String answer, String paraphrasedQuestion,
        String paraphrasedAnswer, List<String> perturbedAnswers, List<String> facts) {

    public QaItem {
        perturbedAnswers = List.copyOf(perturbedAnswers);
        facts = List.copyOf(facts);
    }
}
