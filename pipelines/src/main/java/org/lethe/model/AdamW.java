package org.lethe.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW with decoupled weight decay, numerically as {@code torch.optim.AdamW}: moments live beside
 * the parameters on their device and every update is in place.
 */
public final class AdamW implements AutoCloseable {

    /** Optimizer hyper-parameters; weight decay skips 1-d parameters (norm weights, biases). */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {
        public static Settings defaults() {
            return new Settings(0.9, 0.999, 1e-8, 0.01);
        }

        public Settings {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("AdamW betas must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (!(eps > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW eps must be > 0 and weight decay >= 0");
            }
        }
    }

    private final Settings settings;
    private final NDManager manager;
    private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
    private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
    private long step;

    public AdamW(NDManager parent, Settings settings) {
        this.settings = settings;
        this.manager = parent.newSubManager();
    }

    /** Number of updates applied so far. */
    public long step() {
        return step;
    }

    /**
     * Applies one update at learning rate {@code lr} to every named parameter with its gradient,
     * in place with grad mode off (on any thread). Call outside a gradient collector.
     */
    public void update(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double lr) {
        try (NoGrad noGrad = NoGrad.enter()) {
            apply(parameters, gradients, lr);
        }
    }

    private void apply(Map<String, NDArray> parameters, Map<String, NDArray> gradients, double lr) {
        step++;
        double b1 = settings.beta1();
        double b2 = settings.beta2();
        double biasCorrection1 = 1 - Math.pow(b1, step);
        double sqrtBiasCorrection2 = Math.sqrt(1 - Math.pow(b2, step));
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            NDArray grad = gradients.get(e.getKey());
            if (grad == null) {
                continue;
            }
            NDArray p = e.getValue();
            NDArray m = firstMoments.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
            NDArray v = secondMoments.computeIfAbsent(e.getKey(), k -> manager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                if (settings.weightDecay() > 0 && p.getShape().dimension() >= 2) {
                    p.muli(1 - lr * settings.weightDecay());
                }
                // Each temporary is updated in place: the same operations in the same order as
                // the out-of-place form (so bitwise the same), with 4 instead of 9 arrays the size
                // of the parameter allocated per update (page faults dominate on large models).
                m.muli(b1).addi(grad.mul(1 - b1));
                NDArray squared = grad.square();
                v.muli(b2).addi(squared.muli(1 - b2));
                NDArray denom = v.sqrt();
                denom.divi(sqrtBiasCorrection2).addi(settings.eps());
                NDArray update = m.div(denom);
                p.subi(update.muli(lr / biasCorrection1));
            }
        }
    }

    /**
     * Restores a checkpointed state: the update count and both moments by parameter name (copied
     * into this optimizer's own arrays, so the caller may close its arrays).
     */
    public void restore(long updates, Map<String, NDArray> first, Map<String, NDArray> second) {
        if (updates < 0) {
            throw new IllegalArgumentException("optimizer step must be >= 0, got " + updates);
        }
        firstMoments.values().forEach(NDArray::close);
        secondMoments.values().forEach(NDArray::close);
        firstMoments.clear();
        secondMoments.clear();
        first.forEach((k, v) -> firstMoments.put(k, copy(v)));
        second.forEach((k, v) -> secondMoments.put(k, copy(v)));
        step = updates;
    }

    private NDArray copy(NDArray a) {
        NDArray c = a.duplicate(); // duplicate, not toType(same, true): that one does not copy
        c.attach(manager);
        return c;
    }

    /** First and second moments by parameter name (for checkpoints). */
    public Map<String, NDArray> firstMoments() {
        return firstMoments;
    }

    public Map<String, NDArray> secondMoments() {
        return secondMoments;
    }

    @Override
    public void close() {
        manager.close();
    }
}
