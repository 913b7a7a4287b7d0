package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import org.lethe.model.Scalars;

import java.util.List;

/** forget_coeff * L_forget + sum_i coeff_i * L_retain_i, each term normalized by its own (cluster-wide) count. */
public record Objective(LossTerm forget, double forgetCoeff, List<Weighted> retain) {

    /** A retain term with its coefficient. */
    public record Weighted(LossTerm term, double coeff) {}

    public Objective {
        retain = List.copyOf(retain);
    }

    /**
     * The total loss from term values whose sums and counts already cover the whole step (summed
     * over micro-batches and partitions); {@code retainValues} are in the order of {@link #retain()}.
     */
    public NDArray total(TermValue forgetValue, List<TermValue> retainValues) {
        if (retainValues.size() != retain.size()) {
            throw new IllegalArgumentException(retainValues.size() + " retain values for " + retain.size() + " retain terms");
        }
        NDArray f = forgetValue.mean();
        NDArray total = f.mul(Scalars.like(f, forgetCoeff));
        for (int i = 0; i < retain.size(); i++) {
            NDArray r = retainValues.get(i).mean();
            total = total.add(r.mul(Scalars.like(r, retain.get(i).coeff())));
        }
        return total;
    }
}
