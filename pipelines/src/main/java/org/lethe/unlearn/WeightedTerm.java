package org.lethe.unlearn;

import java.io.Serializable;

/** A loss term by registry name with the coefficient it is weighted by in an objective. */
public record WeightedTerm(String term, double coeff) implements Serializable {

    public WeightedTerm {
        if (term == null || term.isBlank()) {
            throw new IllegalArgumentException("a weighted term needs a term name, got '" + term + "'");
        }
        // A negative weight would turn a forget term into a retain term (or back): not a setting.
        if (!Double.isFinite(coeff) || coeff < 0) {
            throw new IllegalArgumentException("term '" + term + "': coefficient must be finite and >= 0, got "
                    + coeff);
        }
    }
}
