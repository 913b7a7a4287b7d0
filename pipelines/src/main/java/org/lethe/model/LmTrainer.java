package org.lethe.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Language-modeling training steps on one model: mean next-token cross-entropy over unmasked
 * targets, DJL autograd, global-norm gradient clipping and AdamW, over the model's
 * {@linkplain LlamaBlock#trainableParameters() trainable parameters} (every weight of a plain
 * model, only the adapters when LoRA is attached).
 */
public final class LmTrainer implements AutoCloseable {

    /** Label value excluded from the loss, as in Hugging Face. */
    public static final long IGNORE_INDEX = -100;

    /** What one step did. */
    public record StepResult(float loss, float gradNorm, long targetTokens) {}

    private final LanguageModel lm;
    private final AdamW optimizer;
    private final double maxGradNorm;

    /**
     * @param maxGradNorm clip the global gradient L2 norm to this value (<= 0 disables clipping)
     */
    public LmTrainer(LanguageModel lm, AdamW.Settings settings, double maxGradNorm) {
        this.lm = lm;
        this.optimizer = new AdamW(lm.manager(), settings);
        this.maxGradNorm = maxGradNorm;
    }

    /** The optimizer, for checkpointing its state. */
    public AdamW optimizer() {
        return optimizer;
    }

    /**
     * Forward and backward on a right-padded batch; gradients are ADDED to the parameters'
     * gradient buffers (call {@link #zeroGradients()} between steps).
     *
     * @param sequences token ids per row
     * @param labels per row, the same length as its sequence: the token to predict at each
     *     position (the next-token shift happens here), {@link #IGNORE_INDEX} where not trained
     * @return the mean loss over unmasked targets and the target count
     */
    public StepResult accumulate(List<long[]> sequences, List<long[]> labels) {
        return accumulate(sequences, labels, true);
    }

    /**
     * As {@link #accumulate(List, List)}, but the gradient is of the SUM of token cross-entropies
     * (not their mean) and the returned loss is that sum: data-parallel partitions add sums and
     * counts and normalize once by the global count, so the partitioning cannot change the math.
     */
    public StepResult accumulateSum(List<long[]> sequences, List<long[]> labels) {
        return accumulate(sequences, labels, false);
    }

    private StepResult accumulate(List<long[]> sequences, List<long[]> labels, boolean mean) {
        int rows = sequences.size();
        int width = 0;
        for (int r = 0; r < rows; r++) {
            if (labels.get(r).length != sequences.get(r).length) {
                throw new IllegalArgumentException("row " + r + ": " + labels.get(r).length
                        + " labels for " + sequences.get(r).length + " tokens");
            }
            width = Math.max(width, sequences.get(r).length);
        }
        Batch ids = Batch.rightPadded(sequences, width, lm.config().eosTokenId());
        Batch lab = Batch.rightPadded(labels, width, IGNORE_INDEX);
        final int w = width;
        return Autograd.exclusive(() -> {
            try (NDManager m = lm.manager().newSubManager();
                    GradientCollector collector = Engine.getEngine("PyTorch").newGradientCollector()) {
                NDArray idArr = m.create(ids.ids(), new Shape(rows, w));
                NDArray mask = m.create(ids.mask(), new Shape(rows, w));
                NDArray positions = m.arange(0, w, 1, DataType.INT64).expandDims(0).broadcast(rows, w);
                NDArray labArr = m.create(lab.ids(), new Shape(rows, w));
                NDArray logits = lm.block().logits(lm.parameterStore(), idArr, positions, mask, null, true);
                NDArray targets = labArr.get(":, 1:");
                NDArray valid = targets.neq(IGNORE_INDEX);
                NDArray safeTargets = targets.mul(valid.toType(DataType.INT64, false));
                NDArray logp = logits.get(":, :{}, :", w - 1).logSoftmax(-1)
                        .gather(safeTargets.expandDims(-1), -1).squeeze(-1);
                NDArray validF = valid.toType(DataType.FLOAT32, false);
                long count = (long) validF.sum().getFloat();
                if (count == 0) {
                    throw new IllegalArgumentException("batch has no trainable target token");
                }
                NDArray total = logp.mul(validF).sum().neg();
                NDArray loss = mean ? total.div(Scalars.like(total, count)) : total;
                collector.backward(loss);
                return new StepResult(loss.getFloat(), Float.NaN, count);
            }
        });
    }

    /**
     * Gradients of every trainable parameter by name (HF names, or PEFT names with LoRA), views
     * owned by the caller: close them.
     */
    public Map<String, NDArray> gradients() {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : lm.block().trainableParameters().entrySet()) {
            NDArray a = e.getValue().getArray();
            if (a.hasGradient()) {
                grads.put(e.getKey(), a.getGradient());
            }
        }
        return grads;
    }

    /** Resets every trainable parameter's gradient buffer to zero. */
    public void zeroGradients() {
        for (Parameter p : lm.block().trainableParameters().values()) {
            NDArray a = p.getArray();
            if (a.hasGradient()) {
                JniUtils.zeroGrad((PtNDArray) a);
            }
        }
    }

    /**
     * One optimizer step: forward, backward, clip, AdamW update at {@code lr}, zero gradients.
     * The reported gradient norm is the pre-clipping global L2 norm.
     */
    public StepResult step(List<long[]> sequences, List<long[]> labels, double lr) {
        zeroGradients();
        StepResult forward = accumulate(sequences, labels);
        Map<String, NDArray> grads = gradients();
        try {
            return new StepResult(forward.loss(), apply(grads, lr), forward.targetTokens());
        } finally {
            grads.values().forEach(NDArray::close);
            zeroGradients();
        }
    }

    /**
     * Clips {@code grads} (by trainable parameter name, modified in place) and applies one AdamW update at
     * {@code lr}; returns the pre-clipping global norm. The data-parallel driver calls this with
     * the gradients summed across the cluster.
     */
    public float apply(Map<String, NDArray> grads, double lr) {
        return apply(grads, lr, globalNorm(grads));
    }

    /**
     * {@link #apply(Map, double)} with the pre-clipping global norm of {@code grads} already
     * computed by {@link #globalNorm} (the data-parallel driver checks it before the update).
     */
    public float apply(Map<String, NDArray> grads, double lr, double norm) {
        scaleToLimit(grads, norm);
        Map<String, NDArray> params = new LinkedHashMap<>();
        lm.block().trainableParameters().forEach((k, p) -> params.put(k, p.getArray()));
        optimizer.update(params, grads, lr);
        return (float) norm;
    }

    /** Global L2 norm of the gradients: float32 sums of squares per array, added in double. */
    public static double globalNorm(Map<String, NDArray> grads) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            double sumSquares = 0;
            for (NDArray g : grads.values()) {
                sumSquares += g.toType(DataType.FLOAT32, false).square().sum().getFloat();
            }
            return Math.sqrt(sumSquares);
        }
    }

    /** Global L2 norm of the gradients, scaled in place to {@code maxGradNorm} like torch's clip_grad_norm_. */
    float clip(Map<String, NDArray> grads) {
        double norm = globalNorm(grads);
        scaleToLimit(grads, norm);
        return (float) norm;
    }

    /** Scales {@code grads} (global norm {@code norm}) in place to {@code maxGradNorm} when they exceed it. */
    private void scaleToLimit(Map<String, NDArray> grads, double norm) {
        if (maxGradNorm > 0) {
            double coef = maxGradNorm / (norm + 1e-6);
            if (coef < 1) {
                for (NDArray g : grads.values()) {
                    g.muli(coef);
                }
            }
        }
    }

    @Override
    public void close() {
        optimizer.close();
    }
}
