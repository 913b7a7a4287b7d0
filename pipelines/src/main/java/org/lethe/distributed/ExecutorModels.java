package org.lethe.distributed;

import org.lethe.model.LanguageModel;

import java.util.function.Supplier;

/**
 * The models a micro-batch computes with on an executor: the policy at the step's parameter
 * version and, loaded only when asked for, the frozen {@code ref_model}.
 */
public final class ExecutorModels {

    private final LanguageModel policy;
    private final Supplier<LanguageModel> ref;

    ExecutorModels(LanguageModel policy, Supplier<LanguageModel> ref) {
        this.policy = policy;
        this.ref = ref;
    }

    /** The model being trained, holding the step's parameters. */
    public LanguageModel policy() {
        return policy;
    }

    /** The frozen reference model (cached per executor JVM). */
    public LanguageModel ref() {
        LanguageModel r = ref.get();
        if (r == null) {
            throw new IllegalStateException("this run has no ref_model");
        }
        return r;
    }
}
