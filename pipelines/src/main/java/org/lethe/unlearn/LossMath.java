package org.lethe.unlearn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Activation;
import org.lethe.model.Scalars;

/**
 * The arithmetic the loss terms share (next-token log-probabilities, answer masks, counts, masked
 * squared errors), in one place so every term shifts and masks the same way; every constant on the
 * autograd path goes through Scalars.
 */
final class LossMath {

    static final long IGNORE = -100;

    private LossMath() {}

    /** Logits of the positions that predict a next token: (B, T - 1, V). */
    static NDArray predicting(NDArray logits) {
        long t = logits.getShape().get(1);
        return logits.get(":, :{}, :", t - 1);
    }

    /** 1.0 where position t predicts a target (labels[:, t + 1] != -100), else 0.0: (B, T - 1). */
    static NDArray answerMask(NDArray labels) {
        return labels.get(":, 1:").neq(IGNORE).toType(DataType.FLOAT32, false);
    }

    /** 1.0 where position t predicts a real (non-padding) token (mask[:, t + 1] == 1): (B, T - 1). */
    static NDArray nonPaddingMask(NDArray mask) {
        return mask.get(":, 1:").toType(DataType.FLOAT32, false);
    }

    /** Next-token targets with -100 replaced by 0 so gather stays in range: (B, T - 1) int64. */
    static NDArray safeTargets(NDArray labels) {
        NDArray targets = labels.get(":, 1:");
        return targets.mul(targets.neq(IGNORE).toType(DataType.INT64, false)).toType(DataType.INT64, false);
    }

    /** log p(labels[:, t + 1] | x<=t) for every position: (B, T - 1); meaningless where masked. */
    static NDArray targetLogProbs(NDArray logits, NDArray labels) {
        return predicting(logits).logSoftmax(-1).gather(safeTargets(labels).expandDims(-1), -1).squeeze(-1);
    }

    /** Summed answer log-probability per sequence: (B,). */
    static NDArray sequenceLogProbs(NDArray logits, NDArray labels) {
        return targetLogProbs(logits, labels).mul(answerMask(labels)).sum(new int[] {1});
    }

    /** Number of 1.0 entries of a 0/1 mask, read on the host. */
    static long count(NDArray mask) {
        return Math.round(mask.sum().toType(DataType.FLOAT64, false).getDouble());
    }

    /** -log sigmoid(x) = softplus(-x), computed stably by torch. */
    static NDArray negLogSigmoid(NDArray x) {
        return Activation.softPlus(x.neg());
    }

    /** 1.0 at the answer tokens themselves (labels != -100, no shift), shaped (B, T, 1) for hidden states. */
    static NDArray hiddenMask(NDArray labels) {
        return labels.neq(IGNORE).toType(DataType.FLOAT32, false).expandDims(-1);
    }

    /** a * k with k a torch-allocated scalar. */
    static NDArray times(NDArray a, double k) {
        return a.mul(Scalars.like(a, k));
    }

    /** The (B,) batch size of a labels array. */
    static long rows(NDArray labels) {
        return labels.getShape().get(0);
    }

    /** Sum of masked squared differences and its element count (masked tokens x hidden size). */
    static TermValue maskedSquaredError(NDArray h, NDArray target, NDArray labels) {
        NDArray mask = hiddenMask(labels);
        NDArray diff = h.sub(target);
        NDArray sum = diff.square().mul(mask).sum();
        long count = count(mask) * h.getShape().get(2);
        return new TermValue(sum, count);
    }
}
