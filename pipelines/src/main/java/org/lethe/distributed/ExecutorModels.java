package org.lethe.distributed;

import org.lethe.model.CausalLm;

import java.util.function.Supplier;

/**
 * The models a micro-batch computes with on an executor: the policy at the step's parameter
 * version and, loaded only when asked for, the frozen {@code ref_model}.
 */
public final class ExecutorModels {

    private final CausalLm policy;
    private final Supplier<CausalLm> ref;

    ExecutorModels(CausalLm policy, Supplier<CausalLm> ref) {
        this.policy = policy;
        this.ref = ref;
    }

    /** The model being trained, holding the step's parameters. */
    public CausalLm policy() {
        return policy;
    }

    /** The frozen reference model (cached per executor JVM). */
    public CausalLm ref() {
        CausalLm r = ref.get();
        if (r == null) {
            throw new IllegalStateException("this run has no ref_model");
        }
        return r;
    }
}
