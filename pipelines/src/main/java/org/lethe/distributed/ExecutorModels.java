package org.lethe.distributed;

import org.lethe.model.LanguageModel;

import java.util.function.Supplier;

/**
 * The models a micro-batch computes with on an executor: the policy at the step's parameter
 * version and, loaded only when asked for, the frozen {@code ref_model}; both leased from
 * {@link ExecutorModelCache} until the partition's work ends ({@link #close}).
 */
public final class ExecutorModels implements AutoCloseable {

    private final ExecutorModelCache.Lease policy;
    private final Supplier<ExecutorModelCache.Lease> ref;
    private ExecutorModelCache.Lease refLease;

    /** @param ref acquires the ref_model's lease on first use; null: the run has none */
    ExecutorModels(ExecutorModelCache.Lease policy, Supplier<ExecutorModelCache.Lease> ref) {
        this.policy = policy;
        this.ref = ref;
    }

    /** The model being trained, holding the step's parameters. */
    public LanguageModel policy() {
        return policy.model();
    }

    /** The frozen reference model (cached per executor JVM). */
    public LanguageModel ref() {
        if (ref == null) {
            throw new IllegalStateException("this run has no ref_model");
        }
        if (refLease == null) {
            refLease = ref.get();
        }
        return refLease.model();
    }

    /** Ends the ref_model's lease, if taken (the policy's lease is its caller's). */
    @Override
    public void close() {
        if (refLease != null) {
            refLease.close();
        }
    }
}
