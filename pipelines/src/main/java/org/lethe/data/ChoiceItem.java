package org.lethe.data;

import java.util.List;

/** A multiple-choice question of the benchmark's general knowledge: four options, the answer among them. */
public record ChoiceItem(String question, List<String> options, String answer) {

    public ChoiceItem {
        options = List.copyOf(options);
        if (!options.contains(answer)) {
            throw new IllegalArgumentException("question '" + question + "': answer '" + answer
                    + "' is not among the options " + options);
        }
    }

    /** The options other than the answer, in option order (TOFU's perturbed_answer of these files). */
    public List<String> wrongOptions() {
        return options.stream().filter(o -> !o.equals(answer)).toList();
    }
}
